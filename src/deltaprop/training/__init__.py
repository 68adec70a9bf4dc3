"""Training: the loops that run an optimiser over the data, the stopping rule, the
validation split and the progress bar."""
