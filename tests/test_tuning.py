"""L2Monitor inside a real KerasTuner search: a run per trial and execution, hyperparameters logged, compare groups them."""

import json

import keras
import numpy as np
import pytest

pytest.importorskip("keras_tuner")

from l2board import L2Monitor, L2MonitorWarning  # noqa: E402
from l2board.analysis.comparison import compare_runs  # noqa: E402
from l2board.errors import L2BoardError  # noqa: E402
from l2board.log_format import tags  # noqa: E402
from l2board.reading.logs import read_runs  # noqa: E402
from l2board.rendering.report import render_table  # noqa: E402

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("tuning")

FACTORS = [0.0, 0.001, 0.1]


def build(hp):
    factor = hp.Choice("l2", FACTORS)
    hp.Fixed("units", 16)
    regularizer = keras.regularizers.L2(factor) if factor else None
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, activation="relu", kernel_regularizer=regularizer, name="hidden"),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    import l2board.tuning

    root = tmp_path_factory.mktemp("tuning")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 8)).astype("float32"), rng.integers(0, 3, 96)
    x_val, y_val = rng.normal(size=(32, 8)).astype("float32"), rng.integers(0, 3, 32)
    tuner = l2board.tuning.GridSearch(build, objective="val_loss", executions_per_trial=2,
                                      directory=str(root / "kt"), project_name="l2", overwrite=True)
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=2, batch_size=16, verbose=0,
                 callbacks=[L2Monitor(str(root / "logs"), verbose=0, hparams={"data": "random"})])
    return root / "logs", tuner


def test_every_trial_and_execution_gets_its_own_run(searched):
    logs, tuner = searched
    trials = sorted(t.trial_id for t in tuner.oracle.trials.values())
    assert len(trials) == len(FACTORS)
    assert sorted(p.relative_to(logs).as_posix() for p in logs.glob("*/execution*")) == [
        f"{trial}/execution{n}" for trial in trials for n in (0, 1)]
    runs = read_runs([logs])
    assert len(runs) == 2 * len(FACTORS)
    for run in runs:
        trial = tuner.oracle.trials[run.name.split("/")[0]]
        logged = json.loads(run.latest_text(tags.TRAIN_DIR, tags.HPARAMS_JSON))
        assert logged == {"data": "random", **trial.hyperparameters.values}
        assert len(run.scalar(tags.VALIDATION_DIR, tags.DATA_LOSS)) == 2


def test_compare_groups_executions_and_trials_and_finds_the_curve(searched):
    logs, tuner = searched
    comparison = compare_runs(read_runs([logs]))
    assert len(comparison.configurations) == len(FACTORS)
    assert all(len(c.runs) == 2 for c in comparison.configurations)
    factors = {c.name: c.hparams["l2"] for c in comparison.configurations}
    # Executions of a trial are repeats from unrelated weights: never paired.
    change = comparison.changes[comparison.configurations[1].name]["final_val_data_loss"]
    assert change.method == "welch" and change.n_baseline == change.n_value == 2
    sweep = comparison.sweep
    assert [p.factor for p in sweep.points] == sorted(FACTORS)
    assert {p.configuration: p.factor for p in sweep.points} == factors
    assert sweep.layers == ("hidden/kernel",)
    table = render_table(comparison)
    assert "l2=0.001, units=16" in table and "L2 factor sweep" in table


def test_tensorboard_groups_the_trials_by_their_hyperparameters(searched):
    from test_tensorboard_server import get_json, tensorboard_server

    logs, _ = searched
    with tensorboard_server(logs, "true") as port:
        experiment = get_json(port, "/data/plugin/hparams/experiment", post={"experimentName": ""},
                              until=lambda d: {"l2", "units"} <= {h["name"] for h in d.get("hparamInfos", [])})
        names = {h["name"] for h in experiment["hparamInfos"]}
        assert {"l2", "units", "data", "regularization"} <= names


def test_a_monitor_without_a_folder_is_refused_in_a_search():
    from l2board.tuning import for_trial

    with pytest.raises(L2BoardError, match="L2Monitor needs a log_dir in a tuner search"):
        for_trial(L2Monitor(verbose=0), "0001", {"l2": 0.1})


def test_a_second_search_into_the_same_folder_is_stopped_before_it_mixes_runs(searched, tmp_path):
    import l2board.tuning

    logs, _ = searched
    before = sorted(p.relative_to(logs).as_posix() for p in logs.rglob("*") if p.is_file())
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(32, 8)).astype("float32"), rng.integers(0, 3, 32)
    tuner = l2board.tuning.GridSearch(build, objective="val_loss", directory=str(tmp_path / "kt"),
                                      project_name="again", overwrite=True)
    with pytest.raises(Exception, match="already holds the runs of a trial 0000 of an earlier search"):
        tuner.search(x, y, validation_split=0.25, epochs=1, verbose=0, callbacks=[L2Monitor(str(logs), verbose=0)])
    assert sorted(p.relative_to(logs).as_posix() for p in logs.rglob("*") if p.is_file()) == before


def test_hyperbands_bookkeeping_is_not_a_hyperparameter():
    import keras_tuner

    from l2board.tuning import trial_hparams

    hp = keras_tuner.HyperParameters()
    hp.Choice("l2", [0.0, 0.01])
    hp.Fixed("tuner/epochs", 3)
    hp.Fixed("tuner/round", 1)
    trial = keras_tuner.engine.trial.Trial(hp)
    assert trial_hparams(trial) == {"l2": 0.0}


STOCK_FACTORS = [0.0, 0.1]


def build_two(hp):
    factor = hp.Choice("l2", STOCK_FACTORS)
    regularizer = keras.regularizers.L2(factor) if factor else None
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax",
                                                                    kernel_regularizer=regularizer)])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def stock_search(root, callback):
    """A stock keras_tuner.GridSearch, 2 trials x 2 executions of 2 epochs, as most users write it."""
    import keras_tuner

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.integers(0, 3, 64)
    tuner = keras_tuner.GridSearch(build_two, objective="val_loss", executions_per_trial=2,
                                   directory=str(root / "kt"), project_name="stock", overwrite=True)
    tuner.search(x, y, validation_split=0.25, epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    return tuner


def assert_four_runs_of_two_epochs(runs):
    assert len(runs) == 4
    for run in runs:
        assert run.scalar(tags.VALIDATION_DIR, tags.DATA_LOSS).steps.tolist() == [0, 1], run.name
        assert run.restarts == [], run.name  # nothing written over: no fit went into another's run


def test_a_stock_search_with_l2boards_tensorboard_gives_each_trial_and_execution_a_run(tmp_path):
    import l2board

    tuner = stock_search(tmp_path, l2board.TensorBoard(str(tmp_path / "logs")))
    trials = sorted(t.trial_id for t in tuner.oracle.trials.values())
    runs = read_runs([tmp_path / "logs"])
    assert sorted(run.name for run in runs) == [f"{trial}/execution{n}" for trial in trials for n in (0, 1)]
    assert_four_runs_of_two_epochs(runs)
    factors = {run.name: json.loads(run.latest_text(tags.TRAIN_DIR, tags.SETUP_JSON)) for run in runs}
    assert len({json.dumps(setup, sort_keys=True) for setup in factors.values()}) == 2  # the two trials' setups


def test_a_stock_search_with_a_plain_monitor_never_mixes_its_fits(tmp_path):
    with pytest.warns(L2MonitorWarning, match="l2board.TensorBoard or l2board.tuning"):
        stock_search(tmp_path, L2Monitor(str(tmp_path / "logs"), verbose=0))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "kt") == ["logs", "logs-2", "logs-3", "logs-4"]
    assert_four_runs_of_two_epochs(read_runs([tmp_path / f for f in ("logs", "logs-2", "logs-3", "logs-4")]))


def build_l2_model(hp):
    import keras

    factor = hp.Float("l2", min_value=1e-5, max_value=1.0, sampling="log")
    regularizer = keras.regularizers.L2(factor) if factor else None
    model = keras.Sequential([keras.Input((8,)),
                              keras.layers.Dense(16, activation="relu", name="hidden", kernel_regularizer=regularizer),
                              keras.layers.Dense(3, activation="softmax", name="out")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow
def test_lambda_search_of_a_users_model_gives_runs_compare_reads_as_its_curve(tmp_path):
    import numpy as np

    import l2board
    import l2board.tuning

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 8)).astype("float32"), np.arange(96) % 3
    tuner = l2board.tuning.LambdaSearch(build_l2_model, budget=12, log_dir=tmp_path / "logs",
                                        directory=str(tmp_path / "tuning"), project_name="l2", overwrite=True)
    tuner.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert len(names) == 12 and "no-l2-seed0" in names and "l2-0.1-seed1" in names
    decision, comparison = tuner.answer()
    # The same runs read by compare: the λ curve of five factors and the search's own answer.
    compared = l2board.compare(str(tmp_path / "logs"), baseline="no-l2")
    assert [p.factor for p in compared.sweep.points] == [p.factor for p in comparison.sweep.points]
    assert {0.0, 1e-4, 1e-3, 1e-2, 1e-1} <= {p.factor for p in compared.sweep.points}
    assert compared.search_look == decision.look and compared.alpha == comparison.alpha


def test_lambda_search_refuses_a_budget_below_its_first_grid(tmp_path):
    import l2board.tuning
    from l2board.errors import L2BoardError

    with pytest.raises(L2BoardError, match=r"^A budget of 4 runs is smaller than the search's first grid"):
        l2board.tuning.LambdaSearch(build_l2_model, budget=4, log_dir=tmp_path / "logs", directory=str(tmp_path))
