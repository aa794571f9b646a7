"""The plugin's name and what it reads.

The dashboard writes nothing of its own: it reads the standard scalar and
text summaries that `L2Monitor` writes (docs/log-format.md), so TensorBoard
keeps every epoch (up to 1,000 points per scalar tag by default) and no
`--samples_per_plugin` flag is needed.
"""

PLUGIN_NAME = "l2board"
TAB_NAME = "L2"
SCALARS_PLUGIN = "scalars"
TEXT_PLUGIN = "text"
# Asked of the data provider: more than TensorBoard keeps per scalar tag by
# default (1,000), so every kept point comes back.
MAX_POINTS = 100_000
