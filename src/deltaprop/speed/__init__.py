"""The fast paths: buffered backpropagation, fused elementwise passes and the compiled epoch,
each beside the plain formula in :mod:`deltaprop.core` it computes, and the switches that
turn them off (:func:`plain_paths`) or turn off only the compiled ones, numba's
(:func:`numpy_paths`)."""

from deltaprop.speed.switch import numpy_paths, plain_paths, use_compiled, use_plain

__all__ = ["plain_paths", "use_plain", "numpy_paths", "use_compiled"]
