"""Small runs of the common TensorBoard writers, from known curves: the issue's table as cases.

Each case writes one run folder with the writer that really writes that
layout where it installs here (tf.summary, tensorboardX; `torch.utils.
tensorboard` is too large, and its files are tensorboardX's format: the
torch-shaped cases write torch's folder names with tensorboardX), and
knows the numbers `l2board compare` must find.
"""

import os

import numpy as np

TRAIN_LOSS = [1.0, 0.8, 0.6, 0.5, 0.4, 0.3]
VAL_LOSS = [1.1, 0.9, 0.8, 0.85, 0.9, 0.95]
TRAIN_ACC = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9]
VAL_ACC = [0.45, 0.55, 0.62, 0.61, 0.60, 0.59]
PATIENCE = 2


def _f32(values):
    # Both writers store float32: the expected numbers are those values.
    return [float(np.float32(v)) for v in values]


def expected(metric="accuracy"):
    """The numbers of every case, computed from the curves, not by l2board."""
    val_acc, val_loss = _f32(VAL_ACC), _f32(VAL_LOSS)
    best = int(np.argmax(val_acc))
    # Keras's EarlyStopping(patience=2) on val_loss: the second epoch without a new minimum.
    lowest, wait, stop = None, 0, None
    for epoch, value in enumerate(val_loss):
        if lowest is None or value < lowest:
            lowest, wait = value, 0
        else:
            wait += 1
            if wait >= PATIENCE:
                stop = epoch
                break
    # Prechelt's generalization loss at the last epoch, on the logged loss.
    gl = 100.0 * (val_loss[-1] / min(val_loss) - 1.0)
    return {"metric": metric, "generalization_loss_percent": gl, "epochs": len(val_loss), "last_epoch": len(val_loss) - 1,
            "final_val_metric": val_acc[-1], "best_val_metric": val_acc[best], "best_epoch": best,
            "early_stopping_epoch": stop, "final_train_metric": _f32(TRAIN_ACC)[-1]}


def _tf_folder(folder, series, seconds=None, first_step=0):
    """Writes `{tag: values}` with tf.summary.scalar into one folder.

    With `seconds`, the new file is named as TensorFlow names a file of
    that second: files of one run then sort in the order written for every
    reader (TensorBoard's loaders order by name), as real runs written
    seconds apart do.
    """
    import tensorflow as tf

    before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        for tag, values in series.items():
            for step, value in enumerate(values, start=first_step):
                tf.summary.scalar(tag, value, step=step)
    writer.close()
    if seconds is not None:
        (new,) = set(os.listdir(folder)) - before
        os.rename(os.path.join(folder, new), os.path.join(folder, f"events.out.tfevents.{seconds}.vm.1.0.v2"))


def _tbx_folder(folder, series, writer=None):
    """Writes `{tag: values}` with tensorboardX's add_scalar (TF1 `simple_value`s) into one folder."""
    from tensorboardX import SummaryWriter

    own = writer is None
    writer = writer or SummaryWriter(str(folder))
    for step in range(max(map(len, series.values()), default=0)):
        for tag, values in series.items():
            if step < len(values):
                writer.add_scalar(tag, values[step], step)
    if own:
        writer.close()


def keras_folders(run):
    _tf_folder(run / "train", {"epoch_loss": TRAIN_LOSS, "epoch_accuracy": TRAIN_ACC})
    _tf_folder(run / "validation", {"epoch_loss": VAL_LOSS, "epoch_accuracy": VAL_ACC})


def tf_summary_flat(run):
    _tf_folder(run, {"loss": TRAIN_LOSS, "val_loss": VAL_LOSS, "accuracy": TRAIN_ACC, "val_accuracy": VAL_ACC})


def tf1_simple_value_flat(run):
    _tbx_folder(run, {"loss": TRAIN_LOSS, "val_loss": VAL_LOSS, "acc": TRAIN_ACC, "val_acc": VAL_ACC})


def tbx_metric_slash_split(run):
    _tbx_folder(run, {"Loss/train": TRAIN_LOSS, "Loss/val": VAL_LOSS,
                      "Accuracy/train": TRAIN_ACC, "Accuracy/val": VAL_ACC})


def tbx_split_slash_metric(run):
    _tbx_folder(run, {"train/loss": TRAIN_LOSS, "val/loss": VAL_LOSS,
                      "train/accuracy": TRAIN_ACC, "val/accuracy": VAL_ACC})


def tbx_add_scalars(run):
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(str(run))
    for step in range(len(TRAIN_LOSS)):
        writer.add_scalars("Loss", {"train": TRAIN_LOSS[step], "val": VAL_LOSS[step]}, step)
        writer.add_scalars("Accuracy", {"train": TRAIN_ACC[step], "val": VAL_ACC[step]}, step)
    writer.close()


def torch_add_scalars(run):
    # torch.utils.tensorboard's add_scalars writes `<main>_<key>/` folders
    # holding the tag `<main>`, beside the main writer's own file.
    _tbx_folder(run, {})
    for folder, tag, values in (("Loss_train", "Loss", TRAIN_LOSS), ("Loss_val", "Loss", VAL_LOSS),
                                ("Accuracy_train", "Accuracy", TRAIN_ACC), ("Accuracy_val", "Accuracy", VAL_ACC)):
        _tbx_folder(run / folder, {tag: values})


def lightning(run):
    _tbx_folder(run, {"train_loss": TRAIN_LOSS, "val_loss": VAL_LOSS, "train_acc": TRAIN_ACC, "val_acc": VAL_ACC,
                      "epoch": list(range(len(TRAIN_LOSS)))})


def lightning_global_steps(run, batches=10):
    # Lightning's TensorBoardLogger logs epoch-level values at the global step
    # ((epoch + 1) * batches - 1) and an `epoch` scalar at the same steps, twice
    # at each: once with the training step's metrics, once with the epoch's.
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(str(run))
    for epoch in range(len(TRAIN_LOSS)):
        step = (epoch + 1) * batches - 1
        writer.add_scalar("epoch", epoch, step)
        for tag, values in (("val_loss", VAL_LOSS), ("val_acc", VAL_ACC), ("train_loss", TRAIN_LOSS),
                            ("train_acc", TRAIN_ACC)):
            writer.add_scalar(tag, values[epoch], step)
        writer.add_scalar("epoch", epoch, step)
    writer.close()


def lightning_accuracy_beside_val_acc(run):
    _tbx_folder(run, {"train_loss": TRAIN_LOSS, "val_loss": VAL_LOSS, "accuracy": TRAIN_ACC, "val_acc": VAL_ACC})


def _split_folders(train_name, val_name):
    def write(run):
        _tf_folder(run / train_name, {"loss": TRAIN_LOSS, "accuracy": TRAIN_ACC})
        _tf_folder(run / val_name, {"loss": VAL_LOSS, "accuracy": VAL_ACC})
    return write


def estimator_eval(run):
    _tbx_folder(run, {"loss": TRAIN_LOSS, "accuracy": TRAIN_ACC})
    _tbx_folder(run / "eval", {"loss": VAL_LOSS, "accuracy": VAL_ACC})


def restarted_at_step_zero(run):
    # A first attempt of 4 epochs with other numbers, then training from
    # scratch in the same folder (no initial_epoch): the curves above.
    for sub, seconds in (("train", 1700000000), ("validation", 1700000000)):
        _tf_folder(run / sub, {"epoch_loss": [9.0] * 4, "epoch_accuracy": [0.1] * 4}, seconds)
    _tf_folder(run / "train", {"epoch_loss": TRAIN_LOSS, "epoch_accuracy": TRAIN_ACC}, 1700000100)
    _tf_folder(run / "validation", {"epoch_loss": VAL_LOSS, "epoch_accuracy": VAL_ACC}, 1700000100)


def resumed_repeating_a_step(run):
    # Killed during epoch 3 after logging it with other numbers, resumed from
    # the checkpoint of epoch 2: epoch 3 is logged twice, and the later counts.
    # (TensorBoard's Python loader keeps both points of the repeated step.)
    for sub, loss, acc in (("train", TRAIN_LOSS, TRAIN_ACC), ("validation", VAL_LOSS, VAL_ACC)):
        _tf_folder(run / sub, {"epoch_loss": loss[:3] + [7.0], "epoch_accuracy": acc[:3] + [0.0]}, 1700000000)
        _tf_folder(run / sub, {"epoch_loss": loss[3:], "epoch_accuracy": acc[3:]}, 1700000100, first_step=3)


# name: (writer, metric name the report uses)
CASES = {
    "keras_folders": (keras_folders, "accuracy"),
    "tf_summary_flat": (tf_summary_flat, "accuracy"),
    "tf1_simple_value_flat": (tf1_simple_value_flat, "accuracy"),
    "tbx_metric_slash_split": (tbx_metric_slash_split, "accuracy"),
    "tbx_split_slash_metric": (tbx_split_slash_metric, "accuracy"),
    "tbx_add_scalars": (tbx_add_scalars, "accuracy"),
    "torch_add_scalars": (torch_add_scalars, "accuracy"),
    "lightning": (lightning, "accuracy"),
    "lightning_global_steps": (lightning_global_steps, "accuracy"),
    "lightning_accuracy_beside_val_acc": (lightning_accuracy_beside_val_acc, "accuracy"),
    "guide_train_test": (_split_folders("train", "test"), "accuracy"),
    "guide_training_validation": (_split_folders("training", "validation"), "accuracy"),
    "guide_train_valid": (_split_folders("train", "valid"), "accuracy"),
    "estimator_eval": (estimator_eval, "accuracy"),
    "restarted_at_step_zero": (restarted_at_step_zero, "accuracy"),
    "resumed_repeating_a_step": (resumed_repeating_a_step, "accuracy"),
}


def write_all(root):
    """Writes every case under `root`, one run folder each."""
    for name, (write, _) in CASES.items():
        folder = root / name
        os.makedirs(folder, exist_ok=True)
        write(folder)
    return root


def two_training_losses(run):
    # Two series that could each be the training loss: refused, never guessed at.
    _tbx_folder(run, {"train/loss": TRAIN_LOSS, "Loss/train": TRAIN_LOSS[::-1], "val/loss": VAL_LOSS})


LONG_EPOCHS = 100_000
LONG_SEED = 18


def long_run_curves(epochs=LONG_EPOCHS, seed=LONG_SEED):
    """The curves of a long run, from a fixed seed: the validation loss is lowest at epoch 5 and rises after it
    by more than its noise, so `EarlyStopping` stops early whatever TensorBoard samples of the rest."""
    rng = np.random.default_rng(seed)
    epoch = np.arange(epochs)
    train = 1.0 / (1.0 + epoch) + rng.uniform(0.0, 1e-4, epochs)
    val = 0.5 + 1e-3 * np.abs(epoch - 5) + rng.uniform(0.0, 1e-4, epochs)
    return [float(np.float32(v)) for v in train], [float(np.float32(v)) for v in val]


def long_run(run, epochs=LONG_EPOCHS, seed=LONG_SEED):
    """A flat run of `epochs` epochs (`train/loss`, `val/loss`); returns its curves.

    Written by L2Monitor's own event writer (the one it uses off TensorFlow),
    which writes 100,000 epochs in seconds where tensorboardX takes half a
    minute.
    """
    from l2board.writing.event_writer import EventFileRunWriter

    train, val = long_run_curves(epochs, seed)
    writer = EventFileRunWriter(str(run))
    for step, (t, v) in enumerate(zip(train, val)):
        writer.scalars({"train/loss": t, "val/loss": v}, step)
    writer.close()
    return train, val
