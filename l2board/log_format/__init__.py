"""The log format: the contract between the writing and the reading side (docs/log-format.md)."""
