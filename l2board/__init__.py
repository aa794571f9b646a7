"""l2board: see what L2 regularization does to a Keras model.

`L2Monitor` (a Keras callback) and the submodules are imported on first use,
so that tools that only read logs never pay for importing TensorFlow.
"""

__version__ = "0.1.0"

_LAZY = {
    "L2Monitor": "l2board.writing.callback",
    "L2MonitorWarning": "l2board.writing.health",
    "TensorBoard": "l2board.writing.tensorboard",
    "documented_cnn": "l2board.training.models",
    "tutorial_mlp": "l2board.training.models",
    "read_runs": "l2board.api",
    "compare": "l2board.api",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    # Submodules too (`l2board.training.models.documented_cnn()` after `import l2board`).
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module 'l2board' has no attribute {name!r}")
