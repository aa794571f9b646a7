"""Every Python block of README.md and docs/user-guide.md runs as written, on small data made here."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "user-guide.md"

# What a reader of the README already has when a block starts: a model of
# their own and CIFAR-shaped data (small here), as the blocks assume.
PRELUDE = """
import numpy as np
import keras

rng = np.random.default_rng(0)
x = rng.random((32, 32, 32, 3), dtype=np.float32)
y = rng.integers(0, 100, 32)
x_val, y_val = x[:16], y[:16]
model = keras.Sequential([
    keras.Input((32, 32, 3)),
    keras.layers.Flatten(),
    keras.layers.Dense(100, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.01)),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])

# Two runs of their own under runs/, for the blocks that read logs.
import tensorflow as tf

for name, gap in (("no-l2", 0.3), ("l2-0.01-all", 0.1)):
    for folder, shift in (("train", 0.0), ("validation", gap)):
        writer = tf.summary.create_file_writer(f"runs/{name}/{folder}")
        with writer.as_default():
            for epoch in range(4):
                tf.summary.scalar("epoch_loss", 1.0 / (epoch + 1) + shift * epoch, step=epoch)
                tf.summary.scalar("epoch_accuracy", 0.5 + 0.1 * epoch - shift * epoch / 4, step=epoch)
        writer.close()
"""


def python_blocks(document):
    return re.findall(r"```python\n(.*?)```", document.read_text(encoding="utf-8"), flags=re.DOTALL)


BLOCKS = [(document, index) for document in (README, GUIDE) for index in range(len(python_blocks(document)))]


def test_the_readme_and_the_guide_have_python_blocks():
    assert len(python_blocks(README)) >= 1 and len(python_blocks(GUIDE)) >= 3


def test_the_readme_is_a_front_door_of_at_most_200_lines():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_every_local_link_of_the_readme_and_the_guide_leads_somewhere():
    for document in (README, GUIDE):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", document.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (document.parent / target).exists(), f"{document.name} links to {target}, which is not there"


@pytest.mark.parametrize("document, index", BLOCKS, ids=[f"{d.name}-{i}" for d, i in BLOCKS])
def test_python_block_runs_as_written(tmp_path, monkeypatch, document, index):
    # Run here, as a script is run: its own folder, its own globals, the prelude first. This process has
    # TensorFlow loaded already, which a fresh one would spend most of its time loading.
    block = python_blocks(document)[index]
    monkeypatch.chdir(tmp_path)
    script = {"__name__": "__main__"}
    exec(compile(PRELUDE, "prelude", "exec"), script)
    exec(compile(block, f"{document.name}, Python block {index}", "exec"), script)
    # A block that trains with L2Monitor leaves its run where it says.
    for log_dir in re.findall(r'L2Monitor\("([^"]+)"\)', block):
        events = list((tmp_path / log_dir).rglob("events.out.tfevents.*"))
        assert events, f"{document.name} block {index} wrote no events to {log_dir}"
