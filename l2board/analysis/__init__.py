"""The analysis: numbers about overfitting, computed once for every output."""
