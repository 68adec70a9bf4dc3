"""The fast paths: buffered backpropagation, fused elementwise passes and the compiled epoch,
each beside the plain formula in :mod:`deltaprop.core` it computes."""
