"""Dask collections in and out: deltaprop's estimators on a Dask cluster (the ``dask`` extra).

The estimators send Dask input here; call :func:`fit`, :func:`partial_fit`, :func:`predict`,
:func:`predict_proba` and :func:`score` directly for the options their signatures have no
room for (``client``, ``sync_every``).  See ``docs/distributed.md``.
"""

from deltaprop.distributed.cluster import ClusterError
from deltaprop.distributed.fitting import fit, partial_fit
from deltaprop.distributed.partitions import is_dask
from deltaprop.distributed.prediction import predict, predict_proba, score

__all__ = ["fit", "partial_fit", "predict", "predict_proba", "score", "is_dask", "ClusterError"]
