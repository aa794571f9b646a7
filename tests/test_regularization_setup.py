"""Reading what regularizes a model: coverage, labels, frozen and decayed weights."""

import json
import re

import pytest

from l2board.writing.model_inspection import describe_regularizer, inspect_regularization
from l2board.log_format.regularization_setup import (
    ActivityRegularizedLayer,
    RegularizationSetup,
    WeightVariable,
    format_percent,
)

# Its module-scoped fixtures are made once: its tests run on one worker (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("regularization_setup")


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def test_describe_regularizers(keras):
    assert describe_regularizer(keras.regularizers.L1(0.5)) == ("L1", 0.5, None)
    assert describe_regularizer(keras.regularizers.L2(0.25)) == ("L2", None, 0.25)
    assert describe_regularizer(keras.regularizers.L1L2(l1=0.1, l2=0.2)) == ("L1L2", pytest.approx(0.1), pytest.approx(0.2))
    # l1_l2 with one factor zero is just that one.
    assert describe_regularizer(keras.regularizers.L1L2(l2=0.3)) == ("L2", None, pytest.approx(0.3))

    class Orthogonality(keras.regularizers.Regularizer):
        def __call__(self, x):
            return keras.ops.sum(x) * 0.0

    assert describe_regularizer(Orthogonality()) == ("Orthogonality", None, None)


def test_frozen_layers_are_excluded_and_shared_layers_counted_once(keras):
    from keras import layers

    shared = layers.Dense(4, kernel_regularizer=keras.regularizers.L2(0.1), name="shared")
    frozen = layers.Dense(2, kernel_regularizer=keras.regularizers.L1(0.2), name="frozen")
    inputs = keras.Input((4,))
    outputs = frozen(shared(shared(inputs)))
    frozen.trainable = False
    model = keras.Model(inputs, outputs)
    setup = inspect_regularization(model)
    assert [v.path for v in setup.penalized_variables] == ["shared/kernel"]
    assert [v.path for v in setup.excluded_variables] == ["frozen/kernel"]
    assert setup.trainable_parameters == 20
    assert setup.penalty_coverage == pytest.approx(16 / 20)
    assert "excluded (frozen)" in setup.markdown()


def test_weight_decay_counts_as_regularization(keras):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    model.compile(optimizer=keras.optimizers.AdamW(weight_decay=0.004), loss="mse")
    setup = inspect_regularization(model)
    assert setup.weight_decay == pytest.approx(0.004)
    assert setup.weight_decay_coverage == 1.0 and setup.penalty_coverage == 0.0
    assert setup.label == "weight decay 0.004 (AdamW)"
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    plain.compile(optimizer="adam", loss="mse")
    assert inspect_regularization(plain).is_regularized is False


def test_activity_regularizers_are_found(keras):
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(5, activity_regularizer=keras.regularizers.L2(0.01), name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="out")(hidden))
    setup = inspect_regularization(model)
    assert setup.activity_layers == (ActivityRegularizedLayer("hidden", "L2", None, pytest.approx(0.01)),)
    assert setup.label == "activity L2 0.01 on hidden"


def test_json_round_trip_and_hparams():
    setup = RegularizationSetup(
        variables=(
            WeightVariable("conv1/kernel", 2400, True, "L2", l2=0.01),
            WeightVariable("conv1/bias", 32, True, weight_decay=0.004),
            WeightVariable("fc1/kernel", 97568, False, "L1", l1=0.1),
        ),
        activity_layers=(ActivityRegularizedLayer("fc1", "L1", 0.2),),
        optimizer="AdamW",
        weight_decay=0.004,
    )
    data = json.loads(setup.to_json())
    assert data["label"] == setup.label
    assert data["coverage"] == pytest.approx(1.0)
    assert RegularizationSetup.from_dict(data) == setup
    assert setup.hparams() == {
        "regularization": setup.label, "coverage": pytest.approx(1.0), "optimizer": "AdamW",
        "weight_decay": 0.004, "l2/conv1/kernel": 0.01,
    }


@pytest.mark.parametrize("share, text", [(0.0, "0%"), (0.00055, "0.055%"), (0.5, "50%"),
                                         (0.9997, "99.97%"), (1.0, "100%")])
def test_format_percent(share, text):
    assert format_percent(share) == text


GOOD = {"variables": [{"path": "d/kernel", "size": 40, "trainable": True, "regularizer": "L2", "l2": 0.01}],
        "activity_layers": [{"path": "d", "regularizer": "L1", "l1": 0.001}], "optimizer": "Adam"}


@pytest.mark.parametrize("change, culprit", [
    (lambda s: s["variables"][0].update(l2=-0.01), "variables[0].l2 is -0.01, not a finite number of 0 or more"),
    (lambda s: s["variables"][0].update(l2=float("inf")), "variables[0].l2 is inf, not a finite number of 0 or more"),
    (lambda s: s["variables"][0].update(l2=float("nan")), "variables[0].l2 is nan, not a finite number of 0 or more"),
    (lambda s: s["variables"][0].update(l2="0.01"), "variables[0].l2 is a string, not a number"),
    (lambda s: s["activity_layers"][0].update(l1=-1), "activity_layers[0].l1 is -1, not a finite number of 0 or more"),
    (lambda s: s.update(weight_decay=float("-inf")), "weight_decay is -inf, not a finite number of 0 or more"),
    (lambda s: s.update(variables={"path": "d/kernel"}), "variables is an object, not a list"),
    (lambda s: s["variables"].append([1, 2]), "variables[1] is a list, not an object"),
    (lambda s: s["variables"][0].update(size=-5), "variables[0].size is -5, not a count of 0 or more"),
    (lambda s: s["variables"][0].update(size=2.5), "variables[0].size is 2.5, not a count of 0 or more"),
    (lambda s: s["variables"][0].update(trainable="yes"), "variables[0].trainable is a string, not a boolean"),
    (lambda s: s["variables"][0].pop("path"), "variables[0].path is null, not a string"),
    (lambda s: s.update(optimizer=3), "optimizer is a number, not a string"),
])
def test_a_logged_setup_is_checked_as_any_input(change, culprit):
    setup = json.loads(json.dumps(GOOD))
    change(setup)
    with pytest.raises(ValueError, match=f"^{re.escape(culprit)}$"):
        RegularizationSetup.from_json(json.dumps(setup))


def test_a_setup_that_is_not_an_object_and_keys_of_a_later_format():
    for text in ("[1, 2]", '"L2"', "null", "3"):
        with pytest.raises(ValueError, match="^the setup is .*, not an object$"):
            RegularizationSetup.from_json(text)
    later = dict(json.loads(json.dumps(GOOD)), format_version=2, schedule={"l2": "cosine"})
    later["variables"][0]["clip"] = 1.0
    assert RegularizationSetup.from_dict(later) == RegularizationSetup.from_dict(GOOD)
    assert RegularizationSetup.from_dict(GOOD).label == "L2 0.01 on d (100% of weights); activity L1 0.001 on d"
