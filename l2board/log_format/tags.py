"""Names of everything L2Monitor writes: the code side of docs/log-format.md.

Writers and readers import these names instead of spelling strings, so the
contract has one home. Variable and layer paths are relative to the model
(`conv1/kernel`), never prefixed with the model's name.
"""

LOG_FORMAT_VERSION = 1

TRAIN_DIR = "train"
VALIDATION_DIR = "validation"

# Standard Keras metrics, as keras.callbacks.TensorBoard names them.
EPOCH_PREFIX = "epoch_"
BATCH_PREFIX = "batch_"

# Per-epoch summaries, in train/ and validation/ alike.
DATA_LOSS = "epoch_data_loss"
PENALTY = "epoch_penalty"
PENALTY_SHARE = "epoch_penalty_share"

# Model state at the end of each epoch, in train/.
PENALTY_TOTAL = "penalty_total"
PENALTY_PREFIX = "penalty/"
ACTIVITY_PENALTY_PREFIX = "activity_penalty/"
NORM_KINDS = ("l2", "l1", "max_abs", "init_distance")
NORM_TOTAL = "weight_norm_total/"  # + kind
NORM_PREFIX = "weight_norm/"  # + kind + "/" + variable path
HISTOGRAM_PREFIX = "weight_histogram/"

# Written once per training run (and again when training resumes).
SETUP_TEXT = "l2board/setup"
SETUP_JSON = "l2board/setup_json"
# The run's own hyperparameters (L2Monitor's `hparams`, a tuner trial's), as JSON.
HPARAMS_JSON = "l2board/hparams_json"
# What a hyperparameter's value may be there (as in TensorBoard's HParams).
HPARAM_TYPES = (bool, int, float, str)
WARNINGS_TEXT = "l2board/warnings"
# Written when fit returns: a run without it after its last epoch was cut
# short (killed, crashed, interrupted).
TRAINING_END = "l2board/training_end"
# Written by a λ search once a run it proposed has finished: `{"search": "lambda", "look": k}`, the look
# (0 for the first grid) that proposed it; its claims are tested at that search's level (docs/log-format.md).
SEARCH_JSON = "l2board/search_json"
# The texts the analysis reads (the L2 tab asks TensorBoard for these).
ANALYSED_TEXTS = (SETUP_JSON, HPARAMS_JSON, TRAINING_END, SEARCH_JSON)


def variable_penalty(path):
    """Tag of one variable's penalty, e.g. `penalty/conv1/kernel`."""
    return PENALTY_PREFIX + path


def activity_penalty(layer_path):
    """Tag of one layer's activity penalty, e.g. `activity_penalty/fc1`."""
    return ACTIVITY_PENALTY_PREFIX + layer_path


def norm_total(kind):
    """Tag of a norm of all weights together, e.g. `weight_norm_total/l2`."""
    return NORM_TOTAL + kind


def variable_norm(kind, path):
    """Tag of one variable's norm, e.g. `weight_norm/l2/conv1/kernel`."""
    return f"{NORM_PREFIX}{kind}/{path}"


def weight_histogram(path):
    """Tag of one variable's histogram, e.g. `weight_histogram/conv1/kernel`."""
    return HISTOGRAM_PREFIX + path


def at_batch_level(tag):
    """Returns the batch-level twin of an epoch-level tag.

    `epoch_X` becomes `batch_X`, as in keras.callbacks.TensorBoard; any
    other tag gets `batch_` in front, so batch steps never share a series
    with epoch steps.

    Example:

    >>> at_batch_level("epoch_data_loss"), at_batch_level("penalty/conv1/kernel")
    ('batch_data_loss', 'batch_penalty/conv1/kernel')
    """
    if tag.startswith(EPOCH_PREFIX):
        return BATCH_PREFIX + tag[len(EPOCH_PREFIX):]
    return BATCH_PREFIX + tag
