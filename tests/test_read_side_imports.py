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
