"""Recognising roles: which folders make one run, and which series is which.

The analysis reads four roles, under the keys Keras writes: the training
and validation loss (`train/epoch_loss`, `validation/epoch_loss`) and an
accuracy-like metric (`train/epoch_<metric>`, `validation/epoch_<metric>`).
Other writers name them otherwise (docs/log-layouts.md has the table);
this module maps their folders and tags to those keys, and a `tag_map`
(`--tag ROLE=TRAIN,VAL`) maps any names a user gives. Pure functions over
names: the event-file reader and the L2 tab group and recognise alike.
"""

import functools
import posixpath
import re

from l2board.errors import L2BoardError
from l2board.log_format import tags
from l2board.reading.run_model import Note

ROOT = ""
TRAIN, VALIDATION = tags.TRAIN_DIR, tags.VALIDATION_DIR
LOSS = "loss"
# Folder (and tag-part) names of each split, lower-cased.
TRAIN_NAMES = frozenset({"train", "training"})
VALIDATION_NAMES = frozenset({"validation", "val", "valid", "eval", "evaluation", "test"})
# Keras's own folders make a run even alone (a run without validation data).
KERAS_FOLDERS = frozenset({TRAIN, VALIDATION})
# Prefixes of flat tags (Lightning's `train_loss`, Keras's `val_loss`). `test_`
# is left out: Lightning's test stage is not validation.
_FLAT_PREFIXES = (("epoch_val_", VALIDATION), ("val_", VALIDATION), ("valid_", VALIDATION),
                  ("validation_", VALIDATION), ("train_", TRAIN), ("training_", TRAIN))
_SUFFIXED = re.compile(r"^(?P<main>.+)_(?P<split>[A-Za-z]+)$")
# Names of one metric that writers spell two ways.
_ALIASES = {"acc": "accuracy"}
# What evaluation loops log beside their metrics: timings, throughput, the
# step and epoch counters, the optimizer's state. Never a metric of the model.
_NOT_METRIC_NAMES = frozenset({"runtime", "samples_per_second", "steps_per_second", "epoch", "step",
                               "global_step", "learning_rate", "lr", "grad_norm", "total_flos", "batch_size"})
# Keras writes `evaluation_<metric>_vs_iterations` per batch of `evaluate`, beside the epoch series.
_NOT_METRIC_ENDINGS = ("_runtime", "_per_second", "_flos", "learning_rate", "_vs_iterations")
_L2MONITOR_PREFIXES = (tags.PENALTY_PREFIX, tags.ACTIVITY_PENALTY_PREFIX, tags.NORM_PREFIX, tags.NORM_TOTAL,
                       tags.PENALTY_TOTAL, tags.EPOCH_PREFIX, tags.BATCH_PREFIX)


def split_of_name(name):
    """Returns `"train"`, `"validation"` or `None` for a folder or tag part.

    Example:

    >>> split_of_name("Valid"), split_of_name("training"), split_of_name("Loss")
    ('validation', 'train', None)
    """
    lower = name.lower()
    return TRAIN if lower in TRAIN_NAMES else VALIDATION if lower in VALIDATION_NAMES else None


def member_split(member):
    """Returns `(split, main)` of a run's member folder: `main` is the tag it holds when the
    folder is named after one (`add_scalars`), else `None`.

    Example:

    >>> member_split("test"), member_split("Loss_val"), member_split("Loss/train"), member_split("")
    (('validation', None), ('validation', 'Loss'), ('train', 'Loss'), (None, None))
    """
    if not member:
        return None, None
    head, _, last = member.rpartition("/")
    split = split_of_name(last)
    if head:
        return (split, head) if split else (None, None)
    if split:
        return split, None
    match = _SUFFIXED.match(member)
    if match and split_of_name(match["split"]):
        return split_of_name(match["split"]), match["main"]
    return None, None


def _has_partner(last, siblings):
    """Whether a split-named folder has a sibling of the other split that differs from it only by the split
    part (`Loss_train` + `Loss_val`, `train` + `test`): `wide_train` + `narrow_test` are two runs, not one."""
    split, main = member_split(last)
    if split is None:
        return False
    key = None if main is None else normal_name(main)
    for sibling in siblings:
        other, other_main = member_split(sibling)
        if other not in (None, split) and (None if other_main is None else normal_name(other_main)) == key:
            return True
    return False


def group_folders(folders):
    """Groups folders holding event files into runs.

    A folder is its own run, unless it is a member of its parent's: Keras's
    `train/` and `validation/` (even alone); a train/validation pair of
    split-named siblings (`train/`+`test/`, `training/`+`validation/`,
    `train/`+`valid/`, torch's `add_scalars` folders `Loss_train/`+
    `Loss_val/`); `eval/` beside event files of the parent (TF Estimator);
    or, one level deeper, tensorboardX's `add_scalars` folders
    `Loss/train/`+`Loss/val/` below a folder that holds event files.

    Args:
        folders: paths with "/" separators ("" or "." for the top).

    Returns:
        `{run path: {member: folder}}`, member `""` for the run's own
        event files, in the order of the runs' first folders.

    Example:

    >>> group_folders(["exp/a/train", "exp/a/validation", "b", "b/Loss/train", "b/Loss/val", "c/test"])
    {'exp/a': {'train': 'exp/a/train', 'validation': 'exp/a/validation'}, 'b': {'': 'b', 'Loss/train': \
'b/Loss/train', 'Loss/val': 'b/Loss/val'}, 'c/test': {'': 'c/test'}}
    """
    held = {posixpath.normpath(f) if f else "." for f in folders}
    children = {}
    for folder in held:
        parent, last = posixpath.split(folder)
        children.setdefault(parent or ".", set()).add(last)
    runs = {}
    for folder in folders:
        normal = posixpath.normpath(folder) if folder else "."
        run, member = _run_of(normal, held, children)
        runs.setdefault(run, {})[member] = folder
    return runs


def _run_of(folder, held, children):
    """Returns `(run, member)` of one folder holding event files (see `group_folders`)."""
    parent, last = posixpath.split(folder)
    parent = parent or "."
    if folder == "." or last == ".":
        return folder, ROOT
    siblings = children.get(parent, set())
    grand, middle = posixpath.split(parent)
    grand = grand or "."
    # tensorboardX's add_scalars("Loss", {"train":..., "val":...}) below its
    # writer's own folder. Keras's pair one level down is an HParams
    # experiment's run instead, so Keras's names alone never group this way.
    if (parent != "." and grand in held and parent not in held and split_of_name(last)
            and _has_partner(last, siblings) and not siblings <= KERAS_FOLDERS):
        return grand, f"{middle}/{last}"
    if last in KERAS_FOLDERS or _has_partner(last, siblings):
        return parent, last
    if last.lower() in ("eval", "evaluation") and parent in held:
        return parent, last
    return folder, ROOT


def top_split(members):
    """Returns what a run's own event files hold, given its member folders.

    `"flat"` when it has no member folder (each tag says its split:
    `val_loss`, `Loss/train`), `"train"` beside `eval/` alone (TF
    Estimator's training events), else `None` (Keras's top holds HParams).
    """
    splits = {member_split(m)[0] for m in members if m}
    if not splits:
        return "flat"
    return TRAIN if splits == {VALIDATION} else None


@functools.lru_cache(maxsize=2**16)  # a pure function of names that repeat from run to run: 1,000 runs, 60 tags each
def role_of(member, tag, top):
    """Returns `(split, name)` of a series that may hold a loss or metric, else `None`.

    Example:

    >>> role_of("", "Loss/train", "flat"), role_of("", "val/loss", "flat"), role_of("", "train_acc", "flat")
    (('train', 'loss'), ('validation', 'loss'), ('train', 'acc'))
    >>> role_of("Loss_val", "Loss", None), role_of("test", "epoch_accuracy", None), role_of("train", "penalty/x", None)
    (('validation', 'loss'), ('validation', 'accuracy'), None)
    >>> role_of("", "train_loss_epoch", "flat"), role_of("", "train_loss_step", "flat")
    (('train', 'loss'), None)
    """
    if member:
        split, main = member_split(member)
        if split is None:
            return None
        if main is not None:
            return (split, _name(main)) if normal_name(tag) == normal_name(main) else None
        return _plain(split, tag)
    if top == TRAIN:
        return _plain(TRAIN, tag)
    return _flat(tag) if top == "flat" else None


_NOT_IN_TAGS = re.compile(r"[^a-z0-9_.\-]")


def normal_name(text):
    """A name as both `add_scalars` writers store it, for comparing a folder with its tag.

    The folder keeps the main tag as given, the tag has the characters TensorFlow refuses in names
    replaced by `_` (tensorboardX), or the folder has `/` replaced by `_` (torch).

    Example:

    >>> normal_name("Training vs. Validation Loss") == normal_name("Training_vs._Validation_Loss")
    True
    >>> normal_name("Loss/main") == normal_name("Loss_main")
    True
    """
    return _NOT_IN_TAGS.sub("_", text.strip().lstrip("/").lower())


def _name(text):
    # Names taken from paths (`Loss/train`, `Accuracy_val/`) are spelled as
    # the writer's user chose; the metric is the same whatever the case.
    return text.strip().lower().replace(" ", "_")


def _plain(split, tag):
    if tag.startswith(tags.BATCH_PREFIX):
        return None
    name = tag[len(tags.EPOCH_PREFIX):] if tag.startswith(tags.EPOCH_PREFIX) else tag
    return (split, name) if name and "/" not in name else None


def _flat(tag):
    role = _flat_role(tag)
    if role is None:
        return None
    split, name = role
    # PyTorch Lightning's `self.log(name, on_step=True, on_epoch=True)` writes `<name>_step` per batch and
    # `<name>_epoch` per epoch: the epoch's value is the role, the batches' are per-step series of their own.
    if name.endswith(_STEP_SUFFIX):
        return None
    return split, name[:-len(_EPOCH_SUFFIX)] if name.endswith(_EPOCH_SUFFIX) else name


_STEP_SUFFIX, _EPOCH_SUFFIX = "_step", "_epoch"


def _flat_role(tag):
    for prefix, split in _FLAT_PREFIXES:
        if tag.startswith(prefix):
            name = tag[len(prefix):]
            return (split, name) if name and "/" not in name else None
    if "/" in tag:
        first, _, rest = tag.partition("/")
        if "/" in rest or not rest:
            return None
        if split_of_name(first):
            return split_of_name(first), _name(rest)
        if split_of_name(rest):
            return split_of_name(rest), _name(first)
        return None
    return _plain(TRAIN, tag)


def canonical_keys(keys, top, tag_map=None, run=None):
    """Maps the series that hold roles to the keys the analysis reads.

    Args:
        keys: `(member, tag)` of a run's scalar series.
        top: `top_split` of the run.
        tag_map: `{role: (train tag, validation tag)}` given by the user
            (`--tag loss=Loss/train,Loss/val`); a tag may be `FOLDER/TAG`.
        run: the run's name, for errors.

    Returns:
        `{(member, tag): (split folder, "epoch_<name>")}` for every series
        recognised: the loss wherever it is, a metric when both splits log
        it or when the validation split does (`is_metric_name`: not a
        timing or counter). A mapping wins over recognition. Of several series for one
        role, one already under its key wins, then the one whose name is
        the other split's exactly (`val_accuracy` beside `accuracy`, not
        `val_acc`).

    Raises:
        L2BoardError: when a mapped tag names several series of the run,
            when a metric is mapped onto the loss's tags, or when several
            series remain for one role (never a silent guess).
    """
    keys = list(keys)
    explicit = _mapped(keys, tag_map or {}, top)
    found = {}
    for key in keys:
        role = None if key in explicit else role_of(key[0], key[1], top)
        if role is not None:
            found[key] = role
    # `acc` is `accuracy` (Keras 2, TF1, Lightning's `val_acc` beside `accuracy`): one role, one name,
    # so that runs of different writers compare on it.
    unified = {key: (split, _ALIASES.get(name, name)) for key, (split, name) in found.items()}
    names = {split: {n for s, n in unified.values() if s == split} for split in (TRAIN, VALIDATION)}
    # A metric logged for validation alone (transformers' `eval/accuracy`, `val/f1`) is read too: its
    # final and best values need no training twin, only its gap does.
    paired = (names[TRAIN] & names[VALIDATION]) | {LOSS} | {n for n in names[VALIDATION] if is_metric_name(n)}
    result = {key: _target(role) for key, role in explicit.items()}
    candidates = {}
    for key, role in unified.items():
        if role[1] in paired and _target(role) not in result.values():
            candidates.setdefault(_target(role), []).append(key)
    for target, options in candidates.items():
        result[_chosen(target, options, found, run)] = target
    return result


def is_metric_name(name):
    """Whether a series named `name` (its role's name) may be a metric of the model, not a timing or counter.

    >>> is_metric_name("accuracy"), is_metric_name("f1"), is_metric_name("runtime"), is_metric_name("samples_per_second")
    (True, True, False, False)
    """
    lower = name.lower()
    return lower not in _NOT_METRIC_NAMES and not lower.endswith(_NOT_METRIC_ENDINGS)


def _chosen(target, options, found, run):
    """The one series of several that hold one role; refuses to guess between equals."""
    if len(options) == 1:
        return options[0]
    if target in options:  # a series already under its key (Keras's own) wins over a renamed one
        return target
    split = target[0]
    other_names = {name for s, name in found.values() if s != split}
    exact = [key for key in options if found[key][1] in other_names]
    if len(exact) == 1:
        return exact[0]
    tied = sorted(logged_name(*key) for key in (exact or options))
    raise AmbiguousRole(run, split, target[1][len(tags.EPOCH_PREFIX):], tied)


class AmbiguousRole(L2BoardError):
    """Several series could hold one role, and l2board does not guess: the run is refused.

    `split`, `role` and `tags` (as logged) are what a skip reason's code
    `ambiguous_role` carries (see `refusal`); the message is the sentence for
    a caller that reads one run.
    """

    def __init__(self, run, split, role, tags):
        whose = f"Run '{run}'" if run else "The run"
        super().__init__(f"{whose} logs {len(tags)} series that could be the {split} {role} ({', '.join(tags)}); "
                         f"name the pair to read with --tag {role}=TRAIN,VAL.")
        self.split, self.role, self.tags = split, role, list(tags)

    def refusal(self):
        """The reason the run is skipped, as a code and its numbers."""
        return Note("ambiguous_role", split=self.split, role=self.role, tags=self.tags)


def _target(role):
    return role[0], tags.EPOCH_PREFIX + role[1]


def logged_name(member, tag):
    """The name of a series as a user would give it to `--tag`: `TAG`, or `FOLDER/TAG` in a member folder."""
    return f"{member}/{tag}" if member else tag


def _mapped(keys, tag_map, top):
    explicit = {}
    for role, pair in tag_map.items():
        for split, wanted in zip((TRAIN, VALIDATION), pair):
            matches = [k for k in keys if k[1] == wanted or logged_name(*k) == wanted]
            if len(matches) > 1:
                named = ", ".join(logged_name(*k) for k in matches)
                raise L2BoardError(f"--tag {role}={','.join(pair)}: '{wanted}' names {len(matches)} series "
                                   f"({named}); give it as FOLDER/TAG.")
            if matches:
                explicit[matches[0]] = (split, LOSS if role.lower() == LOSS else role)
                _refuse_taking_the_loss(role, pair, matches[0], top)
    return explicit


def _refuse_taking_the_loss(role, pair, key, top):
    # A metric mapped onto the loss's own tags would take the loss away from
    # the run without a word (`--tag lossy=Loss/train,Loss/val`).
    recognised = role_of(key[0], key[1], top)
    if role.lower() != LOSS and recognised is not None and recognised[1] == LOSS:
        raise L2BoardError(f"--tag {role}={','.join(pair)} maps '{logged_name(*key)}', which holds the loss, "
                           f"to a metric named '{role}'; to choose the loss's tags, give --tag loss={','.join(pair)}.")


def mapped_tags_missing(runs, tag_map):
    """Returns the tags of a `tag_map` that no run logs (`FOLDER/TAG` or `TAG`)."""
    logged = set()
    for run in runs:
        for key in run.scalars:
            member, tag = run.source_of(*key)
            logged.update((tag, logged_name(member, tag)))
    return [t for pair in (tag_map or {}).values() for t in pair if t not in logged]


def holds_a_role(run):
    """Whether a `RunLog` holds a series of a role: a loss or metric, under the keys the analysis reads."""
    return any(folder in (TRAIN, VALIDATION) and tag.startswith(tags.EPOCH_PREFIX) for folder, tag in run.scalars)


def without_records_of_other_runs(runs, parts_of, holds_role):
    """Drops the runs that sit above or below another run and hold no role: the nested-run rule.

    Such a folder records something about the runs beside it: an HParams
    experiment's top, tensorboardX's and torch's `add_hparams` `<time>/`
    folder (only `hparam/*` scalars), a writer's unused top. A folder above
    runs that logs a loss or metric of its own is a run, as the L2 tab shows it.
    `l2board compare` applies it to the runs it read, the L2 tab to
    TensorBoard's runs, so both list the same runs.

    Args:
        runs: the runs, in order.
        parts_of: a run's folder as a tuple of its parts (`()` for the top
            of all, which every other run is below).
        holds_role: whether a run holds a loss or metric.

    Returns:
        The runs kept, in order.

    Example:

    >>> runs = [("hp", "trial0"), ("hp", "trial0", "1795"), ("other",)]
    >>> without_records_of_other_runs(runs, lambda parts: parts, lambda parts: parts == ("hp", "trial0"))
    [('hp', 'trial0'), ('other',)]
    """
    parts = [parts_of(run) for run in runs]

    def nested(own):
        return any(other != own and (other[:len(own)] == own or own[:len(other)] == other) for other in parts)

    return [run for run, own in zip(runs, parts) if holds_role(run) or not nested(own)]


def unrecognised_tags(run):
    """Returns the scalar tags of a run none of which holds a validation role, as logged; else `None`.

    `None` also when the run has a validation role, when damaged or skipped
    files could have held one (the analysis names them), when it holds no
    scalars at all, and when every tag is one Keras or L2Monitor writes (a
    run trained without validation data: that is the advice it needs).
    """
    if not run.scalars or (VALIDATION, tags.EPOCH_PREFIX + LOSS) in run.scalars or any(
            folder == VALIDATION and tag.startswith(tags.EPOCH_PREFIX) and (TRAIN, tag) in run.scalars
            for folder, tag in run.scalars) or run.troubles_in(VALIDATION):
        return None
    if all(key[1].startswith(_L2MONITOR_PREFIXES) for key in run.scalars):  # recognised roles are `epoch_` too
        return None
    return sorted(logged_name(*run.source_of(*key)) for key in run.scalars)


def split_flat_tag(tag):
    """Returns `(folder, tag)` for a tag of a flat run folder (no train/ or validation/) that holds no role.

    Example:

    >>> split_flat_tag("val_loss"), split_flat_tag("epoch_val_accuracy"), split_flat_tag("loss")
    (('validation', 'loss'), ('validation', 'epoch_accuracy'), ('train', 'loss'))
    """
    for prefix, replacement in (("epoch_val_", "epoch_"), ("val_", "")):
        if tag.startswith(prefix):
            return VALIDATION, replacement + tag[len(prefix):]
    return TRAIN, tag


def folder_of(member, top):
    """The folder a member's series are kept under when they hold no role: its split for a
    split-named folder (`test/` -> `validation`), else the member itself."""
    if not member:
        return TRAIN if top == TRAIN else ROOT
    split, main = member_split(member)
    return split if split and main is None else member
