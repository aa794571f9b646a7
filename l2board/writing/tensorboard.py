"""`l2board.TensorBoard`: `keras.callbacks.TensorBoard` with L2Monitor's data, one callback, one run folder."""

import keras

from l2board.writing.callback import L2Monitor


class TensorBoard(keras.callbacks.TensorBoard):
    """`keras.callbacks.TensorBoard`, writing L2Monitor's data beside everything it writes.

    A drop-in: the same arguments (and `hparams`, as `L2Monitor` takes it),
    and the same files (epoch and batch scalars, the graph, histograms,
    images, profiles, embeddings) in the same folder, plus what `L2Monitor`
    writes (penalties, data losses, weight norms, the regularization setup;
    docs/log-format.md), so that `l2board compare` and the L2 tab read the
    run in full. Weight histograms are Keras's (`histogram_freq`).

    Because its class is named `TensorBoard`, a stock KerasTuner search
    gives it a folder per trial and execution (`<log_dir>/<trial_id>/
    execution<N>`, on the TensorFlow backend, as for Keras's own callback):
    `keras_tuner.GridSearch(...).search(..., callbacks=[l2board.TensorBoard(
    "logs")])` makes one run per fit. A fit of a new model into a folder
    that already holds a run goes to a sibling folder, as `L2Monitor`'s
    does (its `log_dir`), and the Keras part writes there too: one folder,
    one run.

    Args:
        log_dir, histogram_freq, write_graph, write_images,
        write_steps_per_second, update_freq, profile_batch,
        embeddings_freq, embeddings_metadata: as
            `keras.callbacks.TensorBoard` (default `log_dir="logs"`).
        hparams: the run's own hyperparameters, as `L2Monitor` takes them.

    Example:

    ```python
    model.fit(x, y, validation_data=(x_val, y_val), epochs=10,
              callbacks=[l2board.TensorBoard("logs/run1")])
    # then: tensorboard --logdir logs, or l2board compare logs
    ```
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None, hparams=None):
        super().__init__(log_dir=log_dir, histogram_freq=histogram_freq, write_graph=write_graph,
                         write_images=write_images, write_steps_per_second=write_steps_per_second,
                         update_freq=update_freq, profile_batch=profile_batch, embeddings_freq=embeddings_freq,
                         embeddings_metadata=embeddings_metadata)
        # Keras writes the metrics and histograms; the monitor adds the rest, in the folder it chooses.
        self._keras_started = False  # Keras's own part starts at the first epoch, in the monitor's folder
        self.monitor = L2Monitor(log_dir, histogram_freq=0, update_freq=update_freq, write_standard_metrics=False,
                                 verbose=0, hparams=hparams)

    def set_model(self, model):
        self.monitor.set_model(model)
        # Keras writes the graph and the projector's file as soon as it has the model; until training begins
        # and the run's folder is known, nothing is written (evaluate and predict alone use `log_dir`).
        self._set_keras_model(model, self.log_dir, write=False)

    def _set_keras_model(self, model, folder, write):
        asked = self.log_dir, self.write_graph, self.embeddings_freq
        self.log_dir = folder
        if not write:
            self.write_graph, self.embeddings_freq = False, 0
        try:
            super().set_model(model)
        finally:
            self.log_dir, self.write_graph, self.embeddings_freq = asked

    def on_train_begin(self, logs=None):
        # KerasTuner sets `log_dir` on this callback (a trial's folder): the monitor follows.
        self.monitor.log_dir = self.log_dir
        self.monitor.on_train_begin(logs)
        self._keras_started = False

    def on_epoch_begin(self, epoch, logs=None):
        # The monitor chooses the run's folder at the first epoch (whether this fit goes on from an earlier
        # one is known then); Keras's part starts there, in the same folder.
        self.monitor.on_epoch_begin(epoch, logs)
        if not self._keras_started:
            self._set_keras_model(self.model, self.monitor.run_dir or self.log_dir, write=True)
            super().on_train_begin(None)
            self._keras_started = True
        super().on_epoch_begin(epoch, logs)

    def on_train_end(self, logs=None):
        if self._keras_started:  # a fit of no epoch started nothing to end
            super().on_train_end(logs)
        self.monitor.on_train_end(logs)


def _keras_then_monitor(hook):
    """A hook that runs Keras's TensorBoard's, then the monitor's."""

    def run_both(self, *args, **kwargs):
        getattr(super(TensorBoard, self), hook)(*args, **kwargs)
        getattr(self.monitor, hook)(*args, **kwargs)

    run_both.__name__ = hook
    return run_both


for _hook in ("on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end", "on_predict_end",
              "on_epoch_end"):
    setattr(TensorBoard, _hook, _keras_then_monitor(_hook))
