"""The "L2" tab of TensorBoard: routes over l2board's analysis core.

Routes are documented in `http_api.md`. They read only through
`context.data_provider` (so `--load_fast` true and false both work), compute
every number with `l2board.analysis.compare_runs` (the function behind
`l2board compare`), and never import TensorFlow.
"""

import mimetypes
import os
import re

from tensorboard import errors, plugin_util
from tensorboard.backend import http_util
from tensorboard.context import RequestContext
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from l2board import tags
from l2board.analysis import DEFAULT_PATIENCE, compare_runs, reads_tag
from l2board.errors import L2BoardError
from tensorboard_plugin_l2board import metadata
from tensorboard_plugin_l2board.provider_runs import ProviderRuns

_STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(js|css)$")
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
        """Active when some run has L2Monitor's data loss."""
        if self._data_provider is None:
            return False
        listing = self._data_provider.list_scalars(
            RequestContext(), experiment_id="", plugin_name=metadata.SCALARS_PLUGIN,
            run_tag_filter=provider.RunTagFilter(tags=[tags.DATA_LOSS]))
        return any(listing.values())

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js", tab_name=metadata.TAB_NAME)

    def _runs(self, request):
        return ProviderRuns(self._data_provider, plugin_util.context(request.environ),
                            plugin_util.experiment_id(request.environ))

    @wrappers.Request.application
    def _serve_runs(self, request):
        return http_util.Respond(request, {"runs": self._runs(request).summaries()}, "application/json")

    @wrappers.Request.application
    def _serve_report(self, request):
        runs = self._runs(request)
        names = request.args.getlist("run") or [r["name"] for r in runs.summaries()]
        if not names:
            raise errors.NotFoundError("No run has scalar summaries yet.")
        patience = request.args.get("patience", str(DEFAULT_PATIENCE))
        if not patience.isdigit() or int(patience) < 1:
            raise errors.InvalidArgumentError(f"patience must be a whole number of at least 1, got {patience!r}.")
        try:
            comparison = compare_runs(runs.read(names, wanted=reads_tag), baseline=request.args.get("baseline") or None,
                                      metric=request.args.get("metric") or None, patience=int(patience))
        except L2BoardError as error:
            raise errors.InvalidArgumentError(str(error)) from None
        return http_util.Respond(request, comparison.to_json(), "application/json")

    @wrappers.Request.application
    def _serve_layers(self, request):
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
