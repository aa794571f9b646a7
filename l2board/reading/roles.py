"""Recognising roles: which folders make one run, and which series is which.

The analysis reads four roles, under the keys Keras writes: the training
and validation loss (`train/epoch_loss`, `validation/epoch_loss`) and an
accuracy-like metric (`train/epoch_<metric>`, `validation/epoch_<metric>`).
Other writers name them otherwise (docs/log-layouts.md has the table);
this module maps their folders and tags to those keys, and a `tag_map`
(`--tag ROLE=TRAIN,VAL`) maps any names a user gives. Pure functions over
names: the event-file reader and the L2 tab group and recognise alike.
"""

import posixpath
import re

from l2board.errors import L2BoardError
from l2board.log_format import tags

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


def _pair_in(names):
    splits = {member_split(n)[0] for n in names}
    return TRAIN in splits and VALIDATION in splits


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
            and _pair_in(siblings) and not siblings <= KERAS_FOLDERS):
        return grand, f"{middle}/{last}"
    if last in KERAS_FOLDERS or (member_split(last)[0] and _pair_in(siblings)):
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


def role_of(member, tag, top):
    """Returns `(split, name)` of a series that may hold a loss or metric, else `None`.

    Example:

    >>> role_of("", "Loss/train", "flat"), role_of("", "val/loss", "flat"), role_of("", "train_acc", "flat")
    (('train', 'loss'), ('validation', 'loss'), ('train', 'acc'))
    >>> role_of("Loss_val", "Loss", None), role_of("test", "epoch_accuracy", None), role_of("train", "penalty/x", None)
    (('validation', 'loss'), ('validation', 'accuracy'), None)
    """
    if member:
        split, main = member_split(member)
        if split is None:
            return None
        if main is not None:
            return (split, _name(main)) if tag.lower() == main.lower() else None
        return _plain(split, tag)
    if top == TRAIN:
        return _plain(TRAIN, tag)
    return _flat(tag) if top == "flat" else None


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


def canonical_keys(keys, top, tag_map=None):
    """Maps the series that hold roles to the keys the analysis reads.

    Args:
        keys: `(member, tag)` of a run's scalar series.
        top: `top_split` of the run.
        tag_map: `{role: (train tag, validation tag)}` given by the user
            (`--tag loss=Loss/train,Loss/val`); a tag may be `FOLDER/TAG`.

    Returns:
        `{(member, tag): (split folder, "epoch_<name>")}` for every series
        recognised: the loss wherever it is, a metric only when both splits
        log it. A mapping wins over recognition; a series already under its
        key wins over a renamed one.

    Raises:
        L2BoardError: when a mapped tag names several series of the run.
    """
    keys = list(keys)
    explicit = _mapped(keys, tag_map or {})
    found = {}
    for key in keys:
        role = None if key in explicit else role_of(key[0], key[1], top)
        if role is not None:
            found[key] = role
    _unify_aliases(found)
    names = {split: {n for s, n in found.values() if s == split} for split in (TRAIN, VALIDATION)}
    paired = (names[TRAIN] & names[VALIDATION]) | {LOSS}
    ranked = sorted(((k, r) for k, r in found.items() if r[1] in paired),
                    key=lambda item: (_target(item[1]) != item[0], item[0]))
    result, taken = {}, set()
    for key, role in [*explicit.items(), *ranked]:
        target = _target(role)
        if target not in taken:
            taken.add(target)
            result[key] = target
    return result


def _target(role):
    return role[0], tags.EPOCH_PREFIX + role[1]


def _unify_aliases(found):
    """`acc` is `accuracy` (Keras 2, TF1, Lightning's `val_acc` beside `accuracy`): one role, one name,
    so that runs of different writers compare on it."""
    for key, (split, name) in found.items():
        if name in _ALIASES:
            found[key] = (split, _ALIASES[name])


def logged_name(member, tag):
    """The name of a series as a user would give it to `--tag`: `TAG`, or `FOLDER/TAG` in a member folder."""
    return f"{member}/{tag}" if member else tag


def _mapped(keys, tag_map):
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
    return explicit


def mapped_tags_missing(runs, tag_map):
    """Returns the tags of a `tag_map` that no run logs (`FOLDER/TAG` or `TAG`)."""
    logged = set()
    for run in runs:
        for key in run.scalars:
            member, tag = run.source_of(*key)
            logged.update((tag, logged_name(member, tag)))
    return [t for pair in (tag_map or {}).values() for t in pair if t not in logged]


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
