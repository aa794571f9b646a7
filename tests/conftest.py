"""Shared fixtures: small real trainings whose event files several tests read."""

import atexit
import glob
import math
import os
import shutil
import tempfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# No test reads or writes the user's own cache (l2board.reading.parse_cache): the
# session, and every process it starts, caches parsed event files in a folder of its own.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="l2board-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)

import numpy as np
import pytest


def installed_script(name):
    """Returns the path of a console script installed beside this Python (l2board, tensorboard)."""
    import shutil
    import sys

    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else shutil.which(name)


def refusal(runs, **options):
    """The one sentence a user reads when `compare_runs` refuses (the analysis's coded errors, worded)."""
    from l2board.analysis.comparison import compare_runs
    from l2board.errors import L2BoardError
    from l2board.rendering.wording import error_sentence

    with pytest.raises(L2BoardError) as raised:
        compare_runs(runs, **options)
    return error_sentence(raised.value)


def said(record):
    """The sentence a user reads of a read-side record (damage, a skipped file, a restart): rendering's words."""
    from l2board.analysis.notes import record_note
    from l2board.rendering.wording import file_note_sentence

    return file_note_sentence(record_note(record))


# -- child processes ---------------------------------------------------------------------------------------------
# A test's child starts as it would from a terminal, however pytest itself was started: a shell script that
# runs `pytest &` starts it with SIGINT and SIGQUIT ignored, and an ignored signal stays ignored across exec
# (Ctrl-C tests then wait in vain); a background job that reads the terminal is stopped; and the shell's
# variables would steer what the child does.

# Variables (names or prefixes, any case) that steer l2board, Keras, TensorFlow, JAX, KerasTuner, gRPC, AWS,
# proxies or the output's colours and width: no child inherits them; a test sets what it needs.
_STEERING = ("L2BOARD_", "KERAS_", "KERASTUNER_", "TF_", "XLA_FLAGS", "JAX_", "GRPC_", "AWS_", "HTTP_PROXY",
             "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "PYTHONWARNINGS", "PYTHONINSPECT", "PYTHONSTARTUP",
             "PYTHONBREAKPOINT", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "CLICOLOR")
# Run by a bare Python (-I -S) between fork and the command: every signal to its default action and none
# blocked, as a terminal's foreground job has them, the file-size limit asked for (argv[1], "-" for none: what
# `ulimit -f` does; Python ignores SIGXFSZ, so a Python command is told, EFBIG, not killed), then the command
# itself in this process (same pid).
_AS_FROM_A_TERMINAL = """
import os, resource, signal, sys
for number in signal.valid_signals():
    try:
        signal.signal(number, signal.SIG_DFL)
    except (OSError, ValueError, RuntimeError):
        pass  # SIGKILL and SIGSTOP cannot be changed
signal.pthread_sigmask(signal.SIG_SETMASK, ())
if sys.argv[1] != "-":
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
os.execvp(sys.argv[2], sys.argv[2:])
"""


# -- parallel workers --------------------------------------------------------------------------------------------
# Under pytest-xdist every worker, and every child it starts, shares the machine's cores with the other workers:
# TensorFlow's intra-op pool, sized for the whole machine in each process, would have them fight for the cores.
_THREAD_SHARE = {}


def pytest_configure(config):
    workers = getattr(config, "workerinput", {}).get("workercount")
    if workers:
        _THREAD_SHARE["TF_NUM_INTRAOP_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
        os.environ.update(_THREAD_SHARE)


def pytest_collection_modifyitems(config, items):
    """The long end-to-end tests first, so that parallel workers do not end waiting on one of them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: otherwise as collected


def child_environment(overrides=None):
    """The environment of a test's child: this session's without the variables that steer, plus `overrides`.

    Args:
        overrides: `{name: value}` to set, a value of `None` removing the name.
    """
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith(_STEERING)}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", XDG_CACHE_HOME=os.environ["XDG_CACHE_HOME"], **_THREAD_SHARE)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def _child_options(command, env, options):
    import subprocess
    import sys

    # A preexec_fn makes subprocess fork and run Python in the child before exec; a worker that has served
    # TensorBoard in its process holds gRPC, whose fork handlers then abort the child now and then (SIGABRT,
    # "epoll_wait error: Bad file descriptor"). What a child needs set is set by the launcher, after exec.
    assert "preexec_fn" not in options, "start children without preexec_fn (see conftest._child_options)"
    limit = options.pop("file_size_limit", None)
    if "input" not in options:
        options.setdefault("stdin", subprocess.DEVNULL)
    command = [sys.executable, "-I", "-S", "-c", _AS_FROM_A_TERMINAL, "-" if limit is None else str(int(limit)),
               *map(os.fspath, command)]
    return command, dict(options, env=child_environment(env))


def start_child(command, env=None, **options):
    """`subprocess.Popen` for a test: started as from a terminal (see above), stdin empty unless given.

    Args:
        command: the program and its arguments.
        env: variables to set (or, with `None`, remove) over `child_environment()`.
        options: as for `subprocess.Popen`, and `file_size_limit` (bytes: what `ulimit -f` sets).
    """
    import subprocess

    command, options = _child_options(command, env, options)
    return subprocess.Popen(command, **options)


def run_child(command, env=None, **options):
    """`subprocess.run` for a test, with the child started as `start_child` starts it."""
    import subprocess

    command, options = _child_options(command, env, options)
    return subprocess.run(command, **options)


def free_port():
    """A port nothing listens on at the moment, on loopback: for servers the tests start."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_events(folder):
    """Reads every summary in a run folder's event files with TensorFlow's own reader.

    Returns:
        A list of `(file name, step, tag, value)`; scalars as floats, other
        tensors as NumPy arrays, text as str.
    """
    import tensorflow as tf
    from tensorboard.util import tensor_util

    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.HasField("tensor"):
                    array = tensor_util.make_ndarray(value.tensor)
                    if array.dtype == object:
                        item = array.item()
                        array = item.decode() if isinstance(item, bytes) else item
                    elif array.shape == ():
                        array = float(array)
                else:
                    array = float(value.simple_value)
                rows.append((os.path.basename(path), event.step, value.tag, array))
    return rows


def read_run(folder):
    """Returns `{tag: {step: value}}` for one run folder (the last value wins)."""
    series = {}
    for _, step, tag, value in read_events(folder):
        series.setdefault(tag, {})[step] = value
    return series


@pytest.fixture(scope="session")
def cnn_run(tmp_path_factory):
    """The documented CNN (CIFAR-100 shapes, L2 0.01 on every layer) trained 2 epochs."""
    import keras

    from l2board import L2Monitor
    from l2board.training.models import documented_cnn

    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x = rng.random((320, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 100, 320)
    x_val, y_val = x[:64] * 0.5, rng.integers(0, 100, 64)
    model = documented_cnn(l2=0.01, l2_layers="all", compile=False)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="reference")],
    )
    log_dir = str(tmp_path_factory.mktemp("cnn") / "run")
    from l2board import L2MonitorWarning

    # L2 0.01 on 4.35M weights is most of this loss, and the callback says so.
    with pytest.warns(L2MonitorWarning, match="The penalty is 7.% of the training loss at epoch 0"):
        history = model.fit(x, y, validation_data=(x_val, y_val), epochs=2, batch_size=32,
                            callbacks=[L2Monitor(log_dir, verbose=0)], verbose=0)
    return {
        "model": model,
        "history": history.history,
        "log_dir": log_dir,
        "train": read_run(os.path.join(log_dir, "train")),
        "validation": read_run(os.path.join(log_dir, "validation")),
        "root": read_run(log_dir),
    }


def write_run(folder, train=None, validation=None, setup=None, steps=None):
    """Writes a run with tf.summary as L2Monitor lays it out, for exact expected values.

    Args:
        folder: the run folder.
        train, validation: `{tag: [value per epoch]}` or `{tag: {step: value}}`.
        setup: a `RegularizationSetup` to store as `l2board/setup_json`.
        steps: epoch numbers of list values (default 0, 1, ...).
    """
    import tensorflow as tf

    from l2board.log_format import tags

    for sub, values in ((tags.TRAIN_DIR, train or {}), (tags.VALIDATION_DIR, validation or {})):
        if not values and not (sub == tags.TRAIN_DIR and setup):
            continue
        writer = tf.summary.create_file_writer(os.path.join(str(folder), sub))
        with writer.as_default():
            if sub == tags.TRAIN_DIR and setup is not None:
                tf.summary.text(tags.SETUP_JSON, setup.to_json(), step=0)
            for tag, series in values.items():
                points = series.items() if isinstance(series, dict) else zip(steps or range(len(series)), series)
                for step, value in points:
                    tf.summary.scalar(tag, value, step=step)
        writer.close()
    return str(folder)


def made_once(tmp_path_factory, name, make):
    """The folder `make(folder)` fills, made once for the whole session: by the pytest-xdist worker that asks
    first, while the others wait for it (a lock file), then read it.

    Its tests only read it. `make` writes into a folder of its own, renamed into place once complete.
    """
    import fcntl

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, which holds every worker's own
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.exists():
            partial = root / f"{name}.being-made-{os.getpid()}"
            make(partial)
            partial.rename(folder)
    return folder


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory):
    """Two small real trainings on handwritten digits, without and with L2 (made once for the session)."""
    return made_once(tmp_path_factory, "real_runs", _train_real_runs)


def _train_real_runs(root):
    import keras
    from sklearn.datasets import load_digits

    from l2board import L2Monitor

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    for name, factor in (("no_l2", 0.0), ("l2", 0.01)):
        keras.utils.set_random_seed(0)
        regularizer = keras.regularizers.L2(factor) if factor else None
        model = keras.Sequential([
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu", kernel_regularizer=regularizer, name="hidden"),
            keras.layers.Dense(10, activation="softmax", kernel_regularizer=regularizer, name="output"),
        ])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x[:150], y[:150], validation_data=(x[1000:1400], y[1000:1400]), epochs=12, batch_size=16,
                      verbose=0, callbacks=[L2Monitor(str(root / name), verbose=0)])


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory):
    """Two runs, `exp/no_l2` and `exp/l2`, of two epochs each, written with tf.summary."""
    root = tmp_path_factory.mktemp("runs")
    for name in ("no_l2", "l2"):
        write_run(root / "exp" / name, train={"epoch_loss": [1.0, 0.5]}, validation={"epoch_loss": [1.1, 0.9]})
    return root


RECORD_EPOCHS = 6


def record_run(name, gap, val_acc=0.6, val_loss=0.8, accuracy=True, diverge=False):
    """A run built by the one run builder from records, as event files hand them over (no file written).

    Its final accuracy gap is `gap` (a fraction); its losses are finite unless `diverge`.
    """
    from l2board.reading.run_builder import build_run
    from l2board.reading.run_model import RecordSource

    steps = list(range(RECORD_EPOCHS))
    train = {"epoch_loss": (steps, [1.0 - 0.1 * e for e in steps])}
    val = {"epoch_loss": (steps, [val_loss + 0.01 * e for e in steps])}
    if diverge:
        train["epoch_loss"][1][-1] = math.nan
        val["epoch_loss"][1][-1] = math.nan
    if accuracy:
        train["epoch_accuracy"] = (steps, [val_acc + gap] * RECORD_EPOCHS)
        val["epoch_accuracy"] = (steps, [val_acc] * RECORD_EPOCHS)
    return build_run(name, name, [RecordSource(f"{name}/train", "train", train),
                                  RecordSource(f"{name}/validation", "validation", val)])
