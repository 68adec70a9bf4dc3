"""Training: the loops that run an optimiser over the data, and the parts the estimators, the
cluster and the command share (stopping rule, validation split, progress display, divergence)."""
