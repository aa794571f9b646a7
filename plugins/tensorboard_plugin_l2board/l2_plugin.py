"""The "L2" tab of TensorBoard: routes over l2board's analysis core.

Routes are documented in `http_api.md`. They read only through
`context.data_provider` (so `--load_fast` true and false both work), compute
every number with `l2board.analysis.comparison.compare_runs` (the function behind
`l2board compare`), word it with `l2board.rendering` (the report's view,
which the tab's page only lays out), and never import TensorFlow.
"""

import collections
import functools
import gzip
import json
import mimetypes
import os
import re
import threading

from tensorboard import errors, plugin_util
from tensorboard.backend import http_util
from tensorboard.context import RequestContext
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from l2board.log_format import tags
from l2board.log_format.regularization_setup import RegularizationSetup
from l2board.reading import roles
from l2board.analysis.comparison import compare_runs, reads_tag
from l2board.analysis.patience import DEFAULT_PATIENCE, MAX_PATIENCE
from l2board.errors import L2BoardError
from l2board.rendering.report import json_text, report_json
from l2board.rendering.view import LABELS
from l2board.rendering.wording import error_sentence
from l2board.safe_text import printable
from tensorboard_plugin_l2board import metadata
from tensorboard_plugin_l2board.provider_runs import ProviderRuns, files_unchanged, group_runs

_STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(js|css)$")
# Bounds on what one request may ask for (http_api.md lists them): a hostile
# or mistaken query gets one sentence, never an exception, a huge reply or
# minutes of work. Run names are paths, and a path is at most 4,096 bytes
# on Linux; the patience's bound is the analysis's (`patience.MAX_PATIENCE`).
MAX_RUNS = 1_000
MAX_TEXT_LENGTH = 4_096
# Each route's query parameters; only `run` of /report may be repeated.
_PARAMETERS = {
    "runs": (),
    "report": ("run", "baseline", "metric", "better", "patience"),
    "layers": ("run",),
}
_REPEATABLE = {"runs": (), "report": ("run",), "layers": ()}
_PLAIN_INTEGER = re.compile(r"[0-9]+")
# Whether a request's Accept-Encoding takes gzip: the rule tensorboard.backend.http_util.Respond applies.
_GZIP_ACCEPTED = re.compile(r"(?:^|,|\s)(?:(?:x-)?gzip|\*)(?!;q=0)(?:\s|,|$)")
# Answers of /runs and /report kept, by their query and the state of their runs' data: a tab reloaded, or
# several open on one logdir, get an unchanged answer without reading and analysing the runs again. At most
# this many bytes of them (a report on 1,000 runs of 100 epochs is about 24 MB), the latest asked kept first.
KEPT_ANSWER_BYTES = 64 * 2**20
_LAYER_SERIES = {
    "penalty": tags.PENALTY_PREFIX,
    "activity_penalty": tags.ACTIVITY_PENALTY_PREFIX,
    "weight_l2": tags.NORM_PREFIX + "l2/",
    "init_distance": tags.NORM_PREFIX + "init_distance/",
}


class L2BoardPlugin(base_plugin.TBPlugin):
    """Shows, per run, what regularization does and whether it fights overfitting."""

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context):
        self._data_provider = context.data_provider
        # For runs TensorBoard keeps a sample of: read again from their event files (provider_runs).
        self._logdir = context.logdir
        self._sampling_hints = context.sampling_hints
        self._answers = _Answers(KEPT_ANSWER_BYTES)
        # The TensorBoard runs found logging a loss by the last full look (`is_active`).
        self._runs_with_a_loss = frozenset()
        # Only the files shipped in static/ are ever served.
        self._static_files = frozenset(n for n in os.listdir(_STATIC_DIR) if _STATIC_NAME.match(n))

    def get_plugin_apps(self):
        return {
            "/runs": self._serve_runs,
            "/report": self._serve_report,
            "/layers": self._serve_layers,
            "/static/*": self._serve_static,
        }

    def data_plugin_names(self):
        # Activity is decided by is_active: scalars alone are not l2board data.
        return ()

    def is_active(self):
        """Active when some run logs a loss, whoever wrote it: the tab shows what each run's logs give.

        TensorBoard asks on every load of its page (`/data/plugins_listing`).
        Every scalar tag is listed to find a loss (a loss may be spelled many
        ways; no point is read), which takes about 0.3 s on 1,000 runs; once
        found, the runs that log one are kept, and while TensorBoard still has
        one of them only its run names are asked for.
        """
        if self._data_provider is None:
            return False
        ctx = RequestContext()
        if self._runs_with_a_loss:
            present = {run.run_name for run in self._data_provider.list_runs(ctx, experiment_id="")}
            if not self._runs_with_a_loss.isdisjoint(present):
                return True
        listing = self._data_provider.list_scalars(ctx, experiment_id="", plugin_name=metadata.SCALARS_PLUGIN)
        self._runs_with_a_loss = runs_logging_a_loss(listing)
        return bool(self._runs_with_a_loss)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js", tab_name=metadata.TAB_NAME)

    def _runs(self, request):
        return ProviderRuns(self._data_provider, plugin_util.context(request.environ),
                            plugin_util.experiment_id(request.environ), self._logdir, self._sampling_hints)

    @wrappers.Request.application
    def _serve_runs(self, request):
        _check_query(request, "runs")
        runs = self._runs(request)
        summaries = runs.summaries()
        names = [s["name"] for s in summaries]
        return self._answers.respond(request, ("runs", runs.state(names)),
                                     lambda: json_text(self._run_list(runs, names, summaries)), runs)

    @staticmethod
    def _run_list(runs, names, summaries):
        # Read for the setup texts (no scalar is wanted beyond what role
        # recognition needs): their coverage decides the default baseline.
        read = {run.name: run for run in runs.read(names, wanted=lambda tag: False, in_full=False)}
        listed = [{**summary, "coverage": setup_coverage(read[summary["name"]].latest_text(tags.TRAIN_DIR,
                                                                                          tags.SETUP_JSON)),
                   "skipped": _refusal(read[summary["name"]])} for summary in summaries]
        order = baseline_order([run for run in listed if run["skipped"] is None])
        return {"runs": listed, "default_baseline": order[0] if order else None, "baseline_order": order,
                "labels": LABELS}

    @wrappers.Request.application
    def _serve_report(self, request):
        _check_query(request, "report")
        # Each run once, in the order first asked: 5,000 copies of one name
        # are one run, not 5,000 columns.
        names = list(dict.fromkeys(request.args.getlist("run")))
        if len(names) > MAX_RUNS:
            raise errors.InvalidArgumentError(
                f"A report compares at most {MAX_RUNS:,} runs; {len(names):,} were asked for.")
        patience = _patience(request.args.get("patience", str(DEFAULT_PATIENCE)))
        better = _better(request.args.get("better"))
        runs = self._runs(request)
        if not names:
            names = [r["name"] for r in runs.summaries()]
            # Every run of a huge logdir would be minutes of work and a reply of gigabytes: bounded as run= is.
            if len(names) > MAX_RUNS:
                raise errors.InvalidArgumentError(
                    f"The logdir holds {len(names):,} runs; a report compares at most {MAX_RUNS:,}: name them "
                    "with run=.")
        if not names:
            raise errors.NotFoundError("No run has scalar summaries yet.")
        baseline, metric = request.args.get("baseline") or None, request.args.get("metric") or None
        key = ("report", tuple(names), baseline, metric, patience, better, runs.state(names))

        def report():
            try:
                comparison = compare_runs(runs.read(names, wanted=reads_tag), baseline=baseline, metric=metric,
                                          patience=patience, higher_is_better=better)
            except L2BoardError as error:
                # The sentence may quote run names: one line, whatever they hold.
                raise errors.InvalidArgumentError(printable(error_sentence(error))) from None
            # The numbers and their view: the tab draws the view's words and cells.
            return report_json(comparison)

        return self._answers.respond(request, key, report, runs)

    @wrappers.Request.application
    def _serve_layers(self, request):
        _check_query(request, "layers")
        name = request.args.get("run")
        if not name:
            raise errors.InvalidArgumentError("Give the run as ?run=NAME.")
        (run,) = self._runs(request).read(
            [name], wanted=lambda tag: tag.startswith(tuple(_LAYER_SERIES.values())))
        answer = {"run": name}
        for key, prefix in _LAYER_SERIES.items():
            answer[key] = {tag[len(prefix):]: {"steps": s.steps.tolist(), "values": s.values.tolist()}
                           for (folder, tag), s in sorted(run.scalars.items())
                           if folder == tags.TRAIN_DIR and tag.startswith(prefix)}
        return http_util.Respond(request, answer, "application/json")

    @wrappers.Request.application
    def _serve_static(self, request):
        name = request.path.rpartition("/static/")[2]
        # A whitelist of plain file names: no "..", no "/", no absolute path,
        # whatever the encoding of the request.
        if name not in self._static_files:
            raise errors.NotFoundError(f"No static file {name!r}.")
        with open(os.path.join(_STATIC_DIR, name), "rb") as handle:
            content = handle.read()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if name.endswith(".js"):
            content_type = "text/javascript"
        return http_util.Respond(request, content, content_type)


class _Answers:
    """The latest answers by what they were computed from, up to `size` bytes in all; each sent as TensorBoard sends
    JSON (gzip at level 3 where the client accepts it), the gzip made once per answer.

    An answer that read runs again from their event files holds those
    folders' event files, as `parse_cache.file_key` identifies them, and is
    used only while they are the same; one whose reading of event files
    failed is not kept. An answer larger than the bound is not kept, and
    never drops the others.

    Thread-safe: TensorBoard serves requests from several threads. A
    request for an answer another is making waits for it rather than make it
    again (two tabs opened on a first report of 1,000 runs: one analysis);
    should the maker fail (or its reading of event files, or those files
    change meanwhile), each waiting request makes its own, at once.
    """

    def __init__(self, size):
        self._size, self._kept, self._lock = size, collections.OrderedDict(), threading.RLock()
        self._making = {}  # {key: _Making} of the answers being made now

    def respond(self, request, key, make, runs):
        """The response to `request`: the answer kept for `key`, else `make()`'s JSON text (kept as `runs` allows).

        Args:
            request: the request.
            key: what the answer is computed from (the query and `runs.state`).
            make: computes the answer's JSON text, reading through `runs`.
            runs: the request's `ProviderRuns`, which says what `make` read from event files.
        """
        kept = self._answer(key, make, runs)
        if not _GZIP_ACCEPTED.search(request.headers.get("Accept-Encoding", "")):
            return http_util.Respond(request, kept.text, "application/json")
        with kept.lock:  # one gzip per answer, however many requests share it
            packed = kept.packed
            if packed is None:
                packed = kept.packed = gzip.compress(kept.text, compresslevel=3, mtime=0)
                with self._lock:
                    if self._kept.get(key) is kept:
                        self._keep(key, kept)
        return http_util.Respond(request, packed, "application/json", content_encoding="gzip")

    def _answer(self, key, make, runs):
        """The `_Answer` for `key`: kept, made by another request meanwhile, or made now."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
        if kept is not None and files_unchanged(kept.files):
            return kept
        with self._lock:
            making = self._making.get(key)
            mine = making is None
            if mine:
                making = self._making[key] = _Making()
            else:
                making.waiters += 1
        if not mine:
            making.done.wait()
            shared = making.answer
            if shared is not None and files_unchanged(shared.files):
                return shared
            # Its maker failed, or the event files it read changed since: this request's own answer.
            return self._made(key, make, runs)
        try:
            made = self._made(key, make, runs)
            if not runs.read_failed:  # shared as it is kept
                making.answer = made
            return made
        finally:
            with self._lock:
                del self._making[key]
            making.done.set()

    def _made(self, key, make, runs):
        """`make()`'s answer, kept unless its reading of event files failed."""
        made = _Answer(make().encode("utf-8"), list(runs.files_read))
        if not runs.read_failed:
            self._keep(key, made)
        return made

    def _keep(self, key, kept):
        """Keeps `kept` for `key` (the lock held or not), dropping the others asked for longest ago beyond the size."""
        with self._lock:
            if kept.size() > self._size:
                if kept.packed is None:
                    self._kept.pop(key, None)
                else:
                    kept.packed = None  # the text alone fits, or was kept before its gzip: it stays, unzipped
                return
            self._kept[key] = kept
            self._kept.move_to_end(key)
            while sum(answer.size() for answer in self._kept.values()) > self._size:
                self._kept.popitem(last=False)


class _Answer:
    """One answer: its JSON text's bytes, their gzip once made (`packed`), the event files it was read from
    (`ProviderRuns.files_read`), and the lock under which its one gzip is made."""

    __slots__ = ("text", "packed", "files", "lock")

    def __init__(self, text, files):
        self.text, self.packed, self.files, self.lock = text, None, files, threading.Lock()

    def size(self):
        return len(self.text) + len(self.packed or b"")


class _Making:
    """An answer one request is making: `done` is set when it is made (`answer`), or failed or its reading of event
    files failed (`answer` None: each request waiting makes its own); `waiters` counts the requests that wait."""

    def __init__(self):
        self.done, self.answer, self.waiters = threading.Event(), None, 0


def _refusal(run):
    """A run's read-side skip reason as `{"code": ..., <numbers>}`, else `None` (`l2board compare` skips it alike)."""
    return None if run.refused is None else run.refused.to_dict()


def runs_logging_a_loss(listing):
    """The TensorBoard runs of a `{TensorBoard run: tags}` listing that log a loss, as `l2board compare`
    recognises one.

    The read side's role recognition decides (`roles.role_of`), so that the
    tab is listed for exactly the layouts `compare` reads: Keras's
    `epoch_loss`, `val_loss`, `Loss/train`, Lightning's `train_loss`...

    >>> sorted(runs_logging_a_loss({"a/train": ["epoch_loss"], "b": ["Loss/train"], "c": ["acc"]}))
    ['a/train', 'b']
    """
    found = set()
    for folders in group_runs(listing).values():
        top = roles.top_split(folders)
        for member, tb_run in folders.items():
            if any((roles.role_of(member, tag, top) or (None, None))[1] == roles.LOSS for tag in listing[tb_run]):
                found.add(tb_run)
    return frozenset(found)


@functools.lru_cache(maxsize=1024)  # the runs of one configuration log the same setup
def setup_coverage(setup_json):
    """The share of trainable weights under any penalty or weight decay, from a logged setup; `None` if unknown.

    >>> setup_coverage(None) is None, setup_coverage("not json") is None
    (True, True)
    """
    if not setup_json:
        return None
    try:
        return RegularizationSetup.from_dict(json.loads(setup_json)).coverage
    except (ValueError, TypeError, AttributeError):
        # A damaged setup is an unknown one, as in `l2board compare`.
        return None


def baseline_order(runs):
    """Run names in the order the tab prefers them as baseline: least regularized first.

    A user comparing runs means "with and without L2", so the run with the
    lowest coverage is the natural baseline. A run whose setup is unknown
    (not logged by L2Monitor) may hold any regularization, so it comes
    after every known one; ties go by name.

    Args:
        runs: dicts with `name` and `coverage` (a fraction, or `None`).

    >>> baseline_order([{"name": "l2-all", "coverage": 1.0}, {"name": "keras", "coverage": None},
    ...                 {"name": "no-l2", "coverage": 0.0}])
    ['no-l2', 'l2-all', 'keras']
    """
    def preference(run):
        unknown = run["coverage"] is None
        return (unknown, 0.0 if unknown else run["coverage"], run["name"])

    return [run["name"] for run in sorted(runs, key=preference)]


def _quoted(text, limit=60):
    """`text` for an error sentence: escaped, and cut short when long."""
    return "'" + printable(text if len(text) <= limit else text[:limit] + "...") + "'"


def _check_query(request, route):
    """Refuses unknown, repeated or overlong query parameters with one sentence.

    Raises:
        errors.InvalidArgumentError: for a parameter the route does not
            take (a typo such as `runs=` would otherwise be ignored without
            a word), a single-valued one given twice, or a value longer than
            `MAX_TEXT_LENGTH` characters.
    """
    known = _PARAMETERS[route]
    for key, values in request.args.lists():
        if key not in known:
            takes = f"it takes {', '.join(known)}" if known else "it takes none"
            raise errors.InvalidArgumentError(f"/{route} takes no parameter {_quoted(key)}; {takes}.")
        if len(values) > 1 and key not in _REPEATABLE[route]:
            raise errors.InvalidArgumentError(f"Give {key} once, not {len(values):,} times.")
        for value in values:
            if len(value) > MAX_TEXT_LENGTH:
                raise errors.InvalidArgumentError(
                    f"{key} is {len(value):,} characters long; at most {MAX_TEXT_LENGTH:,} are accepted.")


def _better(text):
    """`?better=higher` or `lower`: which way `metric` is better, for a metric not known by name."""
    if text is None:
        return None
    if text in ("higher", "lower"):
        return text == "higher"
    raise errors.InvalidArgumentError(f"better must be 'higher' or 'lower', got {_quoted(text)}.")


def _patience(text):
    """The patience of `?patience=`: plain ASCII digits, from 1 to `MAX_PATIENCE`.

    `str.isdigit` is not enough: it accepts "²", which `int` refuses, and
    other scripts' digits; and `int` of thousands of digits is slow or
    refused, so the length is checked first.
    """
    if len(text) <= len(str(MAX_PATIENCE)) and _PLAIN_INTEGER.fullmatch(text) and 1 <= int(text) <= MAX_PATIENCE:
        return int(text)
    raise errors.InvalidArgumentError(
        f"patience must be a whole number from 1 to {MAX_PATIENCE:,}, got {_quoted(text)}.")
