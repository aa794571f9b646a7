"""The patience of the EarlyStopping that the analysis replays: its default and its bound.

One home for the CLI's `--patience`, the L2 tab's `?patience=` and
`compare_runs`; no NumPy here, so that the command line starts fast.
"""

DEFAULT_PATIENCE = 5
# An EarlyStopping patience beyond 10,000 epochs means nothing.
MAX_PATIENCE = 10_000
