"""Bridges to the ecosystem: ONNX export and PyTorch both ways.

``to_onnx`` writes a model as an ONNX graph that ONNX Runtime runs without deltaprop;
``to_torch`` and ``from_torch`` move a network to and from a PyTorch ``nn.Sequential``.
Neither ONNX nor PyTorch is imported until one of these functions is called, so both stay
optional (the ``onnx`` and ``torch`` extras).
"""

from deltaprop.bridges.onnx import register_skl2onnx, to_onnx
from deltaprop.bridges.torch import from_torch, to_torch

__all__ = ["to_onnx", "register_skl2onnx", "to_torch", "from_torch"]
