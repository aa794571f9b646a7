"""`l2board train`, `experiment` and `demo`: real trainings on tiny settings."""

import os
import pickle
import signal
import subprocess
import time

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import installed_script, read_run, run_child, start_child

from l2board.cli import cli

TINY = ["--dataset", "digits", "--epochs", "2", "--train-size", "64"]


def run_command(*args, cwd=None, env=None):
    return run_child([installed_script("l2board"), *map(str, args)], capture_output=True, text=True,
                     timeout=300, cwd=cwd, env=env)


def test_train_writes_a_run_compare_can_read(tmp_path):
    result = CliRunner().invoke(cli, ["train", *TINY, "--l2", "0.01", "--l2-layers", "conv1,fc1",
                                      "--logdir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "Training the documented CNN (l2-0.01-conv1+fc1) on 64 training images of scikit-learn's" in result.output
    assert f"Run written to {tmp_path / 'run'}; open it with: tensorboard --logdir {tmp_path}" in result.output
    train = read_run(tmp_path / "run" / "train")
    assert sorted(train["epoch_data_loss"]) == [0, 1]
    assert "L2 0.01 on conv1, fc1" in train["l2board/setup"][0]
    compare = CliRunner().invoke(cli, ["compare", str(tmp_path / "run")])
    assert compare.exit_code == 0 and "L2 0.01 on conv1, fc1" in compare.output


def test_same_seed_gives_identical_logs(tmp_path):
    for name in ("a", "b"):
        result = CliRunner().invoke(cli, ["train", *TINY, "--seed", "3", "--l2", "0.01", "--l2-layers", "all",
                                          "--label-noise", "0.2", "--logdir", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    compared = 0
    for folder in ("train", "validation"):
        a, b = read_run(tmp_path / "a" / folder), read_run(tmp_path / "b" / folder)
        scalars = [tag for tag in a if tag.startswith(("epoch_", "penalty", "weight_norm"))]
        for tag in scalars:
            assert a[tag] == b[tag], tag
        compared += len(scalars)
    assert compared > 40


@pytest.mark.slow
def test_existing_run_is_refused_replaced_or_given_a_fresh_name(tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert CliRunner().invoke(cli, ["train", *TINY, "--logdir", str(run)]).exit_code == 0
    before = sorted(p.name for p in (run / "train").iterdir())
    refused = run_command("train", *TINY, "--logdir", run)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f"Error: '{run}' already holds a run; choose another --logdir "
                                      "or pass --overwrite to replace it.")
    assert sorted(p.name for p in (run / "train").iterdir()) == before  # nothing lost
    replaced = CliRunner().invoke(cli, ["train", *TINY, "--logdir", str(run), "--overwrite"])
    assert replaced.exit_code == 0 and f"Replaced the run that was in {run}." in replaced.output
    assert sorted(p.name for p in (run / "train").iterdir()) != before
    # Without --logdir the run is named for what it is; a taken name gets a suffix.
    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(cli, ["train", *TINY, "--l2", "0"])
    second = CliRunner().invoke(cli, ["train", *TINY, "--l2", "0"])
    assert "Run written to runs/no-l2;" in first.output
    assert "runs/no-l2 already holds a run; writing to runs/no-l2-2 instead." in second.output
    assert "Run written to runs/no-l2-2;" in second.output


@pytest.mark.parametrize("args, code, message", [
    (["--l2", "-0.1"], 2, "Invalid value for '--l2'"),
    (["--l2-layers", "conv9"], 2, "Error: Invalid value for '--l2-layers': Unknown layer name(s) for L2: conv9; "
                                  "use 'all' or names from conv1, conv2, fc1, output."),
    (["--dataset", "imagenet"], 2, "Error: Invalid value for '--dataset': unknown dataset 'imagenet'; use one of "
                                   "cifar100, cifar10, mnist, fashion_mnist, digits or a .npz file."),
    (["--validation", "0.0"], 2, "Invalid value for '--validation'"),
    (["--train-size", "5000"], 1, "Error: --train-size must be between 1 and 1348 for digits, got 5000."),
])
def test_bad_arguments_are_one_sentence(tmp_path, args, code, message):
    base = ["--dataset", "digits", "--epochs", "1", "--logdir", tmp_path / "run"]
    result = run_command("train", *base, *args)
    assert result.returncode == code
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "train").exists()


def write_small_cifar100(keras_home, n_train=64, n_test=32):
    """A CIFAR-100 archive, extracted where keras.utils.get_file puts it, in the real pickle format."""
    root = keras_home / "datasets" / "cifar-100-python-target" / "cifar-100-python"
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in (("train", n_train), ("test", n_test)):
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"fine_labels": rng.integers(0, 100, n).tolist(),
                 b"coarse_labels": rng.integers(0, 20, n).tolist(),
                 b"filenames": [f"img{i}.png".encode() for i in range(n)]}
        with open(root / name, "wb") as handle:
            pickle.dump(batch, handle)


def test_cifar100_through_keras_loading_code_offline(tmp_path):
    write_small_cifar100(tmp_path / "keras_home")
    result = run_command("train", "--epochs", "1", "--logdir", tmp_path / "run",
                         env={"KERAS_HOME": str(tmp_path / "keras_home")})
    assert result.returncode == 0, result.stderr
    assert "on 64 training images of cifar100 from keras.datasets; validated on the test set (32 images)" \
        in result.stdout
    train = read_run(tmp_path / "run" / "train")
    assert '"size": 2400' in train["l2board/setup_json"][0]  # the tutorial's conv1 on 32x32x3 input
    assert "output/kernel" in train["l2board/setup_json"][0]


def test_a_damaged_cached_cifar_is_one_sentence(tmp_path):
    write_small_cifar100(tmp_path / "keras_home")
    test_file = tmp_path / "keras_home" / "datasets" / "cifar-100-python-target" / "cifar-100-python" / "test"
    test_file.write_bytes(test_file.read_bytes()[:100])  # a download cut short
    result = run_command("train", "--epochs", "1", "--logdir", tmp_path / "run",
                         env={"KERAS_HOME": str(tmp_path / "keras_home")})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: The cifar100 files Keras keeps in '{test_file.parent}' are damaged or incomplete")
    assert not (tmp_path / "run").exists()


def test_offline_download_names_the_file_and_suggests_digits(tmp_path):
    # A proxy on a closed loopback port: the download fails at once, no network is touched.
    closed = {"KERAS_HOME": str(tmp_path / "empty_home"), "https_proxy": "http://127.0.0.1:9",
              "http_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
              "HTTP_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}
    result = run_command("train", "--dataset", "cifar10", "--epochs", "1", "--logdir", tmp_path / "run", env=closed)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: Could not load cifar10 through keras.datasets")
    assert f"copy it to {tmp_path / 'empty_home' / 'datasets' / 'cifar-10-batches-py-target_archive'}" in line
    assert "or use --dataset digits, which needs no download." in line


def test_npz_dataset(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x_train=rng.integers(0, 256, (40, 16, 16), dtype=np.uint8),
             y_train=rng.integers(0, 4, 40), x_test=rng.integers(0, 256, (20, 16, 16), dtype=np.uint8),
             y_test=rng.integers(0, 4, 20))
    result = CliRunner().invoke(cli, ["train", "--dataset", str(tmp_path / "data.npz"), "--epochs", "1",
                                      "--logdir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    bad = run_command("train", "--dataset", tmp_path / "nothing.npz", "--logdir", tmp_path / "run2")
    assert bad.returncode == 2 and f"Invalid value for '--dataset': '{tmp_path / 'nothing.npz'}' does not exist." \
        in bad.stderr


def test_experiment_trains_every_configuration_and_seed_then_reports(tmp_path):
    logdir = tmp_path / "exp"
    result = CliRunner().invoke(cli, ["experiment", *TINY, "--l2", "0", "--l2", "0.01", "--l2-layers", "all",
                                      "--seeds", "2", "--logdir", str(logdir)])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(logdir)) == ["l2-0.01-all-seed0", "l2-0.01-all-seed1", "no-l2-seed0",
                                          "no-l2-seed1", "report.png"]
    out = result.output
    assert "[run 1 of 4] no-l2-seed0 (elapsed 0:00)" in out and "[run 4 of 4] l2-0.01-all-seed1" in out
    assert "left)" in out
    assert "no-l2: no regularization, 2 runs (mean ± std)  (baseline)" in out
    assert " ± " in out and "Verdict:" in out
    assert f"Plot written to {logdir / 'report.png'}" in out
    assert f"tensorboard --logdir {logdir}" in out


def epochs_logged(run_folder):
    """The epochs a run folder's training event files hold so far (read as compare reads them)."""
    from l2board.reading.logs import read_run as read_run_log

    if not os.path.isdir(os.path.join(run_folder, "train")):
        return []
    series = read_run_log(str(run_folder)).scalar("train", "epoch_data_loss")
    return [] if series is None else series.steps.tolist()


def interrupt_when(process, ready, limit=240, signal_number=signal.SIGINT):
    """Sends Ctrl-C to a process in the state `ready()` sees on disk, never after a guessed delay.

    The process is frozen (SIGSTOP) while its files are looked at, so the
    state seen is the state it is in when the interrupt arrives.
    """
    deadline = time.monotonic() + limit
    while True:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the process never reached the state to interrupt"
        process.send_signal(signal.SIGSTOP)
        try:
            if ready():
                process.send_signal(signal_number)
                break
        finally:
            process.send_signal(signal.SIGCONT)
        time.sleep(0.1)  # a poll interval; what is waited for is ready()
    return process.communicate(timeout=120)


def start_command(*args):
    return start_child([installed_script("l2board"), *map(str, args)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_ctrl_c_keeps_finished_runs(tmp_path):
    # The process is frozen while its files are looked at, so a second run with several epochs to go is
    # always caught between its first and its last, however fast or slow the machine.
    epochs = 8
    logdir = tmp_path / "exp"
    process = start_command("experiment", "--dataset", "digits", "--epochs", str(epochs), "--train-size", "64",
                            "--l2", "0", "--l2", "0.01", "--logdir", logdir)
    second = logdir / "l2-0.01-conv1"
    try:
        # Inside the second run: it has logged an epoch, not its last.
        stdout, stderr = interrupt_when(process, lambda: 0 < len(epochs_logged(second)) < epochs)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "Error: Interrupted during" in stderr and "1 run(s) finished" in stderr
    assert "Aborted" not in stderr and "Traceback" not in stderr
    assert f"l2board compare {logdir / 'no-l2'}" in stderr
    finished = run_command("compare", logdir / "no-l2")
    assert finished.returncode == 0 and "no regularization" in finished.stdout
    assert epochs_logged(logdir / "no-l2") == list(range(epochs))


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_ctrl_c_in_train_says_where_the_epochs_are(tmp_path, signal_number):
    run = tmp_path / "run"
    process = start_command("train", "--dataset", "digits", "--epochs", "100000", "--train-size", "64",
                            "--logdir", run)
    try:
        stdout, stderr = interrupt_when(process, lambda: epochs_logged(run), signal_number=signal_number)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    (line,) = stderr.strip().splitlines()[-1:]
    assert line == (f"Error: Interrupted during training; the epochs finished so far are in {run}; "
                    f"report on them with: l2board compare {run}")
    assert "Aborted" not in stderr and "Traceback" not in stderr
    assert epochs_logged(run)
