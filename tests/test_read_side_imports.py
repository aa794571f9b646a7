"""The read side never imports TensorFlow or Keras: proved on imports, not promised in a comment."""

import sys

from conftest import run_child

READ_SIDE = ("l2board.reading", "l2board.analysis", "l2board.rendering")

CODE = f"""
import importlib, pkgutil, sys
names = ["l2board.cli", "tensorboard_plugin_l2board.l2_plugin", "tensorboard_plugin_l2board.provider_runs"]
for package in {READ_SIDE!r}:
    module = importlib.import_module(package)
    names += [package] + [f"{{package}}.{{info.name}}" for info in pkgutil.iter_modules(module.__path__)]
for name in names:
    importlib.import_module(name)
print(len(names), sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))[:3])
"""


def test_every_read_side_module_the_cli_and_the_plugin_load_without_tensorflow_or_keras():
    out = run_child([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout.split(None, 1)
    assert int(out[0]) >= 12 and out[1].strip() == "[]"


WARM_COMPARE = """
import contextlib, io, sys
from l2board.cli import cli
with contextlib.redirect_stdout(io.StringIO()):
    try:
        cli(["compare", sys.argv[1]])
    except SystemExit as stop:
        assert stop.code == 0, stop.code
print(sorted({m.split(".")[0] for m in sys.modules} & {"google", "scipy", "tensorflow", "keras", "matplotlib"}))
"""


def test_a_compare_the_parse_cache_serves_loads_no_protobuf_and_without_seeds_no_scipy(tmp_path):
    from l2board.writing.event_writer import EventFileRunWriter

    for name, factor in (("no-l2", 0.0), ("l2", 0.01)):
        for split in ("train", "validation"):
            writer = EventFileRunWriter(str(tmp_path / name / split))
            for epoch in range(3):
                writer.scalars({"epoch_loss": 1.0 / (epoch + 1) + factor, "epoch_accuracy": 0.3 * epoch}, epoch)
            writer.close()
    first, again = (run_child([sys.executable, "-c", WARM_COMPARE, str(tmp_path)], capture_output=True, text=True,
                              check=True).stdout.strip() for _ in range(2))
    assert first == "['google']"  # parsing the event files needs protobuf
    assert again == "[]"  # served by the parse cache: a reading of its own records, and no interval to compute
