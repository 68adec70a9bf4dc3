"""Training: the loops that run an optimiser over the data, and the parts they share.

- :mod:`~deltaprop.training.loop`: :func:`~deltaprop.training.loop.fit`, the stochastic
  epochs and the choice of their backend (compiled, buffered numpy, plain);
- :mod:`~deltaprop.training.lbfgs`: L-BFGS on the whole training set;
- :mod:`~deltaprop.training.state`: what a run is given and what it keeps and returns;
- :mod:`~deltaprop.training.stopping`: the stopping rule;
- :func:`~deltaprop.training.loop.holdout`: the validation split (``train_test_split``);
- :mod:`~deltaprop.training.progress`: scikit-learn's verbose lines, or a progress bar;
- :mod:`~deltaprop.training.divergence`: a loss or weights that blow up.

The estimators and the command share the stopping rule, the split and the progress display.
"""
