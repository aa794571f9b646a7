"""`l2board experiment` on KerasTuner's distributed mode, on loopback: a chief and two workers.

One worker is started before the chief, waits for it, saying so, and goes
on when it comes; it is killed during its first run and started again with
the same tuner id: KerasTuner gives it that run again, and every other run
is trained exactly once. The comparison equals a one-machine experiment's.

Every wait ends: bad ports and a port in use are refused before anything is
made; a worker without a chief, a worker whose chief died and a chief
without workers each stop after `--peer-timeout`, with one sentence.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from conftest import free_port, run_child, start_child

from l2board.cli import cli

pytest.importorskip("keras_tuner")

ARGS = ["--dataset", "digits", "--train-size", "60", "--epochs", "2", "--l2", "0", "--l2", "0.01",
        "--l2-layers", "all"]
RUNS = ["no-l2", "l2-0.01-all"]


def experiment(logdir, tuner_id=None, port=None, *options, env=None):
    env = dict(env or {})
    if tuner_id:
        env.update(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port))
    command = [sys.executable, "-m", "l2board.cli", "experiment", *ARGS, "--logdir", str(logdir), *options]
    return start_child(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def line_with(process, text, limit=240):
    """Reads the process's output until a line holds `text` (an observable state); returns the lines read."""
    lines, end = [], time.monotonic() + limit
    while time.monotonic() < end:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"no line with {text!r} in:\n{''.join(lines)[-3000:]}")


def failed(process, timeout=120):
    """The output of a process that must end by itself, with status 1, within `timeout` seconds."""
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 1, output[-3000:]
    assert "Traceback" not in output
    return output


def finished(process, timeout=300):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    return output


def first_run_started(logdir, process, deadline=240):
    """Waits until the process has a run folder with an event file in train/ (an observable state)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end and process.poll() is None:
        started = [run for run in RUNS if os.path.isdir(logdir / run / "train") and os.listdir(logdir / run / "train")]
        if started:
            return started
        time.sleep(0.05)
    raise AssertionError("the worker started no run")


def trained_by(output, tuner_id):
    return [line.split("] ", 1)[1].strip() for line in output.splitlines() if line.startswith(f"[{tuner_id}] ")]


def comparison(logdir):
    result = run_child([sys.executable, "-m", "l2board.cli", "compare", str(logdir), "--format", "json"],
                       capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {run["name"].rsplit("/", 1)[-1]: run for run in json.loads(result.stdout)["runs"]}


@pytest.mark.slow
def test_a_chief_and_two_workers_train_every_run_once_and_report_as_one_machine(tmp_path):
    port, logdir = free_port(), tmp_path / "spread"
    # A worker started before its chief says what it waits for, and how long, then goes on when it comes.
    killed = experiment(logdir, "tuner1", port, "--peer-timeout", "300")
    waiting = line_with(killed, "tuner1: waiting up to 5 min for the chief at ")[-1]
    assert waiting == f"tuner1: waiting up to 5 min for the chief at 127.0.0.1:{port} " \
                      "(KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT) to serve the runs.\n"
    assert not logdir.exists()  # nothing is made before the chief answers
    chief = experiment(logdir, "chief", port)
    line_with(killed, "tuner1: the chief answered.")
    first_run_started(logdir, killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    # Started again with its tuner id, tuner1 is given its unfinished run again.
    workers = {"tuner0": experiment(logdir, "tuner0", port), "tuner1": experiment(logdir, "tuner1", port)}
    # The same experiment on one machine, meanwhile, in this process (which has TensorFlow loaded already).
    one_machine = CliRunner().invoke(cli, ["experiment", *ARGS, "--logdir", str(tmp_path / "one")],
                                     env=dict.fromkeys(["KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP",
                                                        "KERASTUNER_ORACLE_PORT"]))
    assert one_machine.exit_code == 0, one_machine.output
    outputs = {tuner_id: finished(process) for tuner_id, process in workers.items()}
    report = finished(chief)

    trained = trained_by(outputs["tuner0"], "tuner0") + trained_by(outputs["tuner1"], "tuner1")
    assert sorted(trained) == sorted(RUNS)  # each exactly once after the restart
    assert "Verdict:" in report and "Serving 2 runs to KerasTuner workers" in report
    for run in RUNS:  # one training each: the killed run's partial folder was replaced
        assert len(os.listdir(logdir / run / "train")) == 1
    spread, alone = comparison(logdir), comparison(tmp_path / "one")
    assert sorted(spread) == sorted(alone) == sorted(RUNS)
    for name in RUNS:
        for field in ("final_val_data_loss", "final_train_data_loss", "final_val_metric", "final_weight_l2",
                      "epochs", "complete"):
            assert spread[name][field] == pytest.approx(alone[name][field], rel=1e-6), (name, field)

    # The chief started again on the finished search reports at once, serving nothing.
    again = finished(experiment(logdir, "chief", free_port()), timeout=120)
    assert "Verdict:" in again and sorted(comparison(logdir)) == sorted(RUNS)
    # Resumed with other runs: refused before anything is served or trained.
    other = run_child([sys.executable, "-m", "l2board.cli", "experiment", *ARGS, "--l2", "0.1", "--logdir",
                       str(logdir)], capture_output=True, text=True, timeout=120,
                      env=dict(KERASTUNER_TUNER_ID="chief", KERASTUNER_ORACLE_IP="127.0.0.1",
                               KERASTUNER_ORACLE_PORT=str(free_port())))
    assert other.returncode == 1 and "was started with the runs no-l2, l2-0.01-all" in other.stderr
    assert "Traceback" not in other.stderr


def test_an_incomplete_environment_is_one_sentence(tmp_path):
    env = {"KERASTUNER_TUNER_ID": "tuner0"}
    result = run_child([sys.executable, "-m", "l2board.cli", "experiment", *ARGS, "--logdir", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert "KerasTuner's distributed mode needs KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT; " \
           "KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT are not set." in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x").exists()


@pytest.mark.parametrize("port", ["99999", "-1", "0", "abc", "80 80"])
@pytest.mark.parametrize("tuner_id", ["chief", "tuner0"])
def test_a_port_that_is_no_port_is_refused_before_anything_is_made(tmp_path, port, tuner_id):
    result = run_child([sys.executable, "-m", "l2board.cli", "experiment", *ARGS, "--logdir", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=120,
                       env=dict(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                                KERASTUNER_ORACLE_PORT=port))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (f"Error: KERASTUNER_ORACLE_PORT is '{port}', not a port: give the chief and its workers "
                             "the same port number, from 1 to 65535.\n")
    assert not (tmp_path / "x").exists()


def test_a_second_chief_on_the_same_port_is_refused_before_anything_is_made(tmp_path):
    import socket

    port = free_port()
    first = experiment(tmp_path / "first", "chief", port)
    try:
        line_with(first, "Serving 2 runs to KerasTuner workers")
        second = run_child([sys.executable, "-m", "l2board.cli", "experiment", *ARGS, "--logdir",
                            str(tmp_path / "second")], capture_output=True, text=True, timeout=120,
                           env=dict(KERASTUNER_TUNER_ID="chief", KERASTUNER_ORACLE_IP="127.0.0.1",
                                    KERASTUNER_ORACLE_PORT=str(port)))
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 1 and second.stdout == ""
    assert second.stderr == (f"Error: The chief cannot serve on 127.0.0.1:{port}: port {port} is in use (by another "
                             "chief, or another program); give the chief and its workers another "
                             "KERASTUNER_ORACLE_PORT.\n")
    assert not (tmp_path / "second").exists()
    # Another program's port: the same.
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        taken = other.getsockname()[1]
        third = run_child([sys.executable, "-m", "l2board.cli", "experiment", *ARGS, "--logdir", str(tmp_path / "third")],
                          capture_output=True, text=True, timeout=120,
                          env=dict(KERASTUNER_TUNER_ID="chief", KERASTUNER_ORACLE_IP="127.0.0.1",
                                   KERASTUNER_ORACLE_PORT=str(taken)))
    assert third.returncode == 1 and f"port {taken} is in use" in third.stderr and not (tmp_path / "third").exists()


def without_tensorflow(tmp_path, who):
    """A PYTHONPATH with a TensorFlow that fails to import first on it: a child that loads TensorFlow fails."""
    (tmp_path / "poisoned" / "tensorflow").mkdir(parents=True)
    (tmp_path / "poisoned" / "tensorflow" / "__init__.py").write_text(
        f"raise RuntimeError('{who} loaded TensorFlow')\n")
    return os.pathsep.join(filter(None, [str(tmp_path / "poisoned"), os.environ.get("PYTHONPATH")]))


def test_a_worker_without_a_chief_stops_after_its_wait_without_loading_tensorflow(tmp_path):
    # A TensorFlow that fails to import stands first on the path: the worker waits for its chief before it loads
    # KerasTuner or TensorFlow, so its answer comes without them.
    path = without_tensorflow(tmp_path, "a worker without a chief")
    port = free_port()
    worker = experiment(tmp_path / "x", "tuner0", port, "--peer-timeout", "4", env={"PYTHONPATH": path})
    output = failed(worker)
    assert output.splitlines() == [
        f"tuner0: waiting up to 4 s for the chief at 127.0.0.1:{port} (KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT) "
        "to serve the runs.",
        f"Error: tuner0: no chief answered at 127.0.0.1:{port} within 4 s; start the chief (KERASTUNER_TUNER_ID=chief, "
        "the same KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT), then this worker again."]
    assert not (tmp_path / "x").exists()


def test_a_kerastuner_that_fails_to_import_is_one_sentence(tmp_path):
    # Installed, but broken (a module it needs is gone): stands first on the path.
    (tmp_path / "broken" / "keras_tuner").mkdir(parents=True)
    (tmp_path / "broken" / "keras_tuner" / "__init__.py").write_text(
        "raise ImportError(\"No module named 'grpc_tools'\")\n")
    path = os.pathsep.join(filter(None, [str(tmp_path / "broken"), os.environ.get("PYTHONPATH")]))
    chief = experiment(tmp_path / "x", "chief", free_port(), env={"PYTHONPATH": path})
    assert failed(chief).splitlines()[-1] == (
        "Error: KERASTUNER_TUNER_ID is set: spreading an experiment over machines needs KerasTuner, which is "
        "installed but fails to import (No module named 'grpc_tools'): pip install --force-reinstall keras-tuner.")


def test_a_chief_without_workers_stops_after_its_wait_without_loading_tensorflow(tmp_path):
    # A chief serves runs and never trains: Keras's NumPy backend is all KerasTuner's oracle needs.
    chief = experiment(tmp_path / "x", "chief", free_port(), "--peer-timeout", "4",
                       env={"PYTHONPATH": without_tensorflow(tmp_path, "a chief")})
    output = failed(chief)
    assert output.splitlines()[-1] == (
        "Error: No worker has been heard from for 4 s, and 2 of 2 runs are not trained (no-l2, l2-0.01-all); start "
        "the workers again (a worker started with the same KERASTUNER_TUNER_ID is given its unfinished run) and this "
        "chief again: it resumes the search.")


@pytest.mark.slow
def test_a_worker_whose_chief_dies_says_so_and_stops_after_its_wait(tmp_path):
    port, logdir = free_port(), tmp_path / "spread"
    chief = experiment(logdir, "chief", port)
    worker = None
    try:
        line_with(chief, "Serving 2 runs to KerasTuner workers")  # said once it answers: a 4 s wait is enough
        worker = experiment(logdir, "tuner0", port, "--peer-timeout", "4")
        # The worker is frozen inside its first run while its chief is killed: it learns of it when it reports.
        run = first_run_started(logdir, worker)
        worker.send_signal(signal.SIGSTOP)
        chief.kill()
        chief.wait()
    finally:
        chief.kill()
        if worker is not None:
            worker.send_signal(signal.SIGCONT)
    output = failed(worker)
    assert output.splitlines()[-2:] == [
        f"tuner0: the chief at 127.0.0.1:{port} does not answer; waiting up to 4 s for it to come back (a chief "
        "started again resumes the search).",
        f"Error: tuner0: the chief at 127.0.0.1:{port} stopped answering and did not come back within 4 s; start "
        "the chief again (it resumes the search), then this worker."]
    assert f"[tuner0] {run[0]}" in output
