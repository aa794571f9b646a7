"""The plugin's name and what it reads.

The dashboard writes nothing of its own: it reads the standard scalar and
text summaries that `L2Monitor` writes (docs/log-format.md). TensorBoard
keeps 1,000 points per scalar tag by default; a run with more is read from
its event files (`provider_runs`), so no `--samples_per_plugin` flag is
needed.
"""

PLUGIN_NAME = "l2board"
TAB_NAME = "L2"
SCALARS_PLUGIN = "scalars"
TEXT_PLUGIN = "text"
# Asked of the data provider: more than TensorBoard keeps per scalar tag by
# default (1,000), so every kept point comes back.
MAX_POINTS = 100_000
