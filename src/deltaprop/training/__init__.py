"""Training: the loops that run an optimiser over the data (:mod:`~deltaprop.training.loop`,
:mod:`~deltaprop.training.lbfgs`) and the parts the estimators, the cluster and the command share:
the stopping rule, the validation split (:func:`~deltaprop.training.loop.holdout`), the progress
display and divergence."""
