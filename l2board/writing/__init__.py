"""The writing side: L2Monitor and what it needs from Keras."""
