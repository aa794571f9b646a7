"""`l2board experiment --l2 auto`: the λ search on the offline digits, spread over machines, resumed, refused.

Each run is the documented CNN for 2 epochs on 64 digits: the numbers mean
nothing, the search's bookkeeping does. A budget of 12 trains the first
grid (5 factors x 2 seeds) and the first look's batch.
"""

import json
import subprocess

import pytest
from click.testing import CliRunner
from conftest import free_port, installed_script, run_child, start_child
from test_distributed_experiment import line_with
from test_training_cli import interrupt_when

from l2board.cli import cli

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("lambda_search")

ARGS = ["--dataset", "digits", "--train-size", "64", "--epochs", "2", "--l2", "auto", "--l2-layers", "all"]
BUDGET = 12
FIRST_GRID = 10


def command(logdir, *options, budget=BUDGET):
    return [installed_script("l2board"), "experiment", *ARGS, "--budget", str(budget), "--logdir", str(logdir),
            *map(str, options)]


def search_runs(logdir):
    """`{folder name: look}` of the search's runs in `logdir` (those with its record)."""
    from l2board.log_format import tags
    from l2board.reading.logs import read_runs

    from l2board.errors import L2BoardError

    looks = {}
    try:
        runs = read_runs([str(logdir)])
    except L2BoardError:  # not yet a folder, or no event files in it yet
        return looks
    for run in runs:
        text = run.latest_text(tags.TRAIN_DIR, tags.SEARCH_JSON)
        if text:
            looks[run.name] = json.loads(text)["look"]
    return looks


def report_part(output):
    """The search's printed report, from the legend to the adjustment sentence (what compare prints too)."""
    lines = output.splitlines()
    start = lines.index("Runs (baseline first):")
    end = next(i for i, line in enumerate(lines) if line.startswith("Intervals in the verdict"))
    return lines[start:end + 1]


@pytest.fixture(scope="module")
def spread(tmp_path_factory):
    """The search served by a chief to two workers (KerasTuner's distributed mode, on loopback): its folder and
    the chief's output."""
    pytest.importorskip("keras_tuner")
    logdir, port = tmp_path_factory.mktemp("spread") / "runs", free_port()
    env = dict(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port))
    chief = start_child(command(logdir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                        env={**env, "KERASTUNER_TUNER_ID": "chief"})
    workers = []
    try:
        line_with(chief, "Serving the λ search")
        workers = [start_child(command(logdir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**env, "KERASTUNER_TUNER_ID": f"tuner{i}"}) for i in range(2)]
        output, _ = chief.communicate(timeout=900)
        worker_outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    finally:
        for process in [chief, *workers]:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert chief.returncode == 0, output[-3000:]
    for worker, worker_output in zip(workers, worker_outputs):
        assert worker.returncode == 0, worker_output[-3000:]
    return logdir, output


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_search_spread_over_two_workers_stays_within_its_budget_goes_beyond_its_first_grid_and_compare_agrees(
        spread):
    logdir, output = spread
    looks = search_runs(logdir)
    assert len(looks) == BUDGET and sorted(looks.values()).count(0) == FIRST_GRID
    assert any(look >= 1 for look in looks.values())  # runs a look proposed, beyond the first grid
    lines = output.splitlines()
    assert any(line.startswith(("Budget spent (12 of 12 runs", "Resolved after")) for line in lines), output
    assert any(line.startswith("To go on: l2board experiment") for line in lines) or "Resolved after" in output
    # compare on the search's folder gives the same curve, recommendation, verdict and adjustment.
    compared = run_child([installed_script("l2board"), "compare", str(logdir), "--baseline", "no-l2"],
                         capture_output=True, text=True, timeout=300)
    assert compared.returncode == 0, compared.stderr
    assert report_part(compared.stdout) == report_part(output)
    assert "at the level of look 2 of the λ search that made these runs" in output


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_search_started_again_on_one_machine_trains_nothing_twice_and_recommends_what_two_workers_did(
        spread, tmp_path):
    import shutil

    logdir = tmp_path / "runs"
    # The spread search, cut back to the first grid and one run of the first look, as if killed there.
    shutil.copytree(spread[0], logdir)
    later = sorted(name for name, look in search_runs(logdir).items() if look >= 1)
    for name in later[1:]:
        shutil.rmtree(logdir / name)
    # On one machine, in this process (which has TensorFlow loaded already): what is asked of it is the search's
    # bookkeeping, not a process of its own (the chief and the workers above are processes).
    again = CliRunner().invoke(cli, command(logdir)[1:], env=dict.fromkeys(
        ["KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"]))
    assert again.exit_code == 0, again.output[-3000:]
    trained = [line for line in again.stdout.splitlines() if line.startswith("[run ")]
    assert len(trained) == len(later) - 1  # only what was missing
    assert f"[run {BUDGET} of {BUDGET}]" in again.stdout and f"[run {BUDGET + 1} of" not in again.stdout
    # One machine proposes the runs two workers were given, at the same looks, and says what the chief said.
    assert search_runs(logdir) == search_runs(spread[0])
    assert report_part(again.stdout) == report_part(spread[1])


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ctrl_c_keeps_the_finished_runs_and_says_how_to_go_on(tmp_path):
    logdir = tmp_path / "runs"
    process = start_child(command(logdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = interrupt_when(process, lambda: len(search_runs(logdir)) >= 2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == (f"Error: Interrupted; the search's finished runs are in {logdir}; start "
                                               "the same command again to go on where it stopped.")
    assert len(search_runs(logdir)) >= 2


@pytest.mark.parametrize("options, hint, message", [
    (["--budget", "0"], "'--budget'", "0 is not in the range 1<=x<=100000"),
    (["--budget", "9"], "'--budget'", "A budget of 9 runs is smaller than the search's first grid: 5 factors "
                                     "(0, 0.0001, 0.001, 0.01, 0.1) x 2 seeds = 10 runs; give a budget of 10 or "
                                     "more."),
    (["--budget", "30", "--l2", "0.1"], "'--l2'", "auto searches the factors itself: give it alone, without "
                                                 "other --l2 factors."),
    (["--budget", "30", "--seeds", "1"], "'--seeds'", "--l2 auto needs at least 2 seeds per factor of its first "
                                                     "grid, to have intervals."),
    (["--budget", "30", "--l2-layers", "conv1"], "'--l2-layers'", "--l2 auto searches the factor for one choice "
                                                                  "of layers: give one --l2-layers."),
])
def test_bad_search_options_are_one_sentence_and_create_nothing(tmp_path, options, hint, message):
    logdir = tmp_path / "runs"
    args = [installed_script("l2board"), "experiment", *ARGS, "--logdir", str(logdir), *options]
    result = run_child(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in " ".join(result.stderr.split()) and hint in result.stderr, result.stderr
    assert not logdir.exists()


@pytest.mark.parametrize("options, message", [
    (["--l2", "0.1", "--budget", "30"], "is the λ search's budget: give it with --l2 auto."),
    (["--l2", "auto"], "auto needs --budget N, the most runs the search may train."),
])
def test_a_budget_without_the_search_or_the_search_without_a_budget_is_refused(tmp_path, options, message):
    args = [installed_script("l2board"), "experiment", "--dataset", "digits", "--logdir", str(tmp_path / "runs"),
            *options]
    result = run_child(args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and message in " ".join(result.stderr.split()), result.stderr
    assert not (tmp_path / "runs").exists()


def test_the_search_record_is_what_compare_adjusts_for(tmp_path):
    # Runs that a search's look 3 proposed: compare holds their claims to look 4's level.
    from conftest import write_run

    from l2board.analysis.comparison import compare_runs
    from l2board.analysis.factor_search import look_alpha
    from l2board.log_format import tags
    from l2board.reading.logs import read_runs
    from l2board.writing.event_writer import EventFileRunWriter

    for name, look in (("a-seed0", 0), ("a-seed1", 3), ("b-seed0", 1), ("b-seed1", 0)):
        write_run(tmp_path / name, train={"epoch_loss": [1.0, 0.8]}, validation={"epoch_loss": [1.1, 1.0]})
        writer = EventFileRunWriter(str(tmp_path / name / tags.TRAIN_DIR))
        writer.text({tags.SEARCH_JSON: json.dumps({"search": "lambda", "look": look})}, 0)
        writer.close()
    comparison = compare_runs(read_runs([tmp_path]))
    assert comparison.search_look == 4 and comparison.alpha == pytest.approx(look_alpha(4))
