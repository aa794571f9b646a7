"""The main job: the tutorial's CNN, data sets, training runs and experiments."""
