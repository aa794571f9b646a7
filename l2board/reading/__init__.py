"""The reading side: event files, runs and their series. Never imports TensorFlow or Keras."""
