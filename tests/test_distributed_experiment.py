"""`l2board experiment` on KerasTuner's distributed mode, on loopback: a chief and two workers.

One worker is killed during its first run and started again with the same
tuner id: KerasTuner gives it that run again, and every other run is
trained exactly once. The comparison equals a one-machine experiment's.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import free_port, run_child, start_child

pytest.importorskip("keras_tuner")

ARGS = ["--dataset", "digits", "--train-size", "60", "--epochs", "2", "--l2", "0", "--l2", "0.01",
        "--l2-layers", "all"]
RUNS = ["no-l2", "l2-0.01-all"]


def experiment(logdir, tuner_id=None, port=None):
    env = {}
    if tuner_id:
        env = dict(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port))
    command = [sys.executable, "-m", "l2board.cli", "experiment", *ARGS, "--logdir", str(logdir)]
    return start_child(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


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


def test_a_chief_and_two_workers_train_every_run_once_and_report_as_one_machine(tmp_path):
    port, logdir = free_port(), tmp_path / "spread"
    chief = experiment(logdir, "chief", port)
    killed = experiment(logdir, "tuner1", port)
    first_run_started(logdir, killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    # Started again with its tuner id, tuner1 is given its unfinished run again.
    workers = {"tuner0": experiment(logdir, "tuner0", port), "tuner1": experiment(logdir, "tuner1", port)}
    one_machine = experiment(tmp_path / "one")
    outputs = {tuner_id: finished(process) for tuner_id, process in workers.items()}
    report = finished(chief)
    finished(one_machine)

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
