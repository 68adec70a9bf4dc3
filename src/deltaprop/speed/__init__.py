"""The fast paths: buffered backpropagation, fused elementwise passes and the compiled epoch,
each beside the plain formula in :mod:`deltaprop.core` it computes, and the switch that
turns them off (:func:`plain_paths`)."""

from deltaprop.speed.switch import plain_paths, use_plain

__all__ = ["plain_paths", "use_plain"]
