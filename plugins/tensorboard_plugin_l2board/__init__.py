"""The L2 dashboard: a TensorBoard plugin over l2board's analysis core."""
