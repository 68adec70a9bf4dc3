"""Dask collections in and out: deltaprop's estimators on a Dask cluster (the ``dask`` extra).

``MLPRegressor``/``MLPClassifier`` send Dask arrays and dataframes here from ``fit``,
``partial_fit``, ``predict``, ``predict_proba`` and ``score``; call these functions directly
for the options the estimators' signatures have no room for (``client``, ``sync_every``).

- :func:`fit`: ``solver="lbfgs"`` is exact (the single-machine loss and gradient, summed
  over partitions); ``"sgd"``/``"adam"`` is synchronous local SGD with parameter averaging.
- :func:`partial_fit`: one epoch, partition after partition, on the partitions' workers.
- :func:`predict`, :func:`predict_proba`: lazy, blockwise.
- :func:`score`: per-partition sums added on the client.

See ``docs/distributed.md``.
"""

from deltaprop.distributed.cluster import ClusterError
from deltaprop.distributed.fitting import fit, partial_fit
from deltaprop.distributed.partitions import is_dask
from deltaprop.distributed.prediction import predict, predict_proba, score

__all__ = ["fit", "partial_fit", "predict", "predict_proba", "score", "is_dask", "ClusterError"]
