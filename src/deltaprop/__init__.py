"""deltaprop: multilayer perceptrons trained by backpropagation, in the seed's notation.

See ``Network`` for the model and its notation, ``derivation`` for the element-wise
formulas, and ``gradcheck`` for finite differences; ``MLPRegressor`` and ``MLPClassifier``
are drop-ins for scikit-learn's, ``explain`` derives one weight's gradient of a trained
model, and ``save``/``load`` keep models in files.
"""

from deltaprop._version import __version__
from deltaprop.core.derivation import derive
from deltaprop.core.gradcheck import gradcheck
from deltaprop.core.network import Forward, Gradients, Network
from deltaprop.core.optim import gradient_descent
from deltaprop.explain import explain
from deltaprop.files.archive import load, save

__all__ = [
    "Network", "Forward", "Gradients", "derive", "gradcheck", "gradient_descent", "__version__",
    "MLPRegressor", "MLPClassifier",
    "explain", "save", "load",
    "to_onnx", "register_skl2onnx", "to_torch", "from_torch",
]

# the estimators import scikit-learn (slow to import), so they load on first use
_LAZY = {"MLPRegressor": "estimators.mlp", "MLPClassifier": "estimators.mlp"}
# the bridges import onnx, skl2onnx or torch only when called
_LAZY.update({name: "bridges" for name in ("to_onnx", "register_skl2onnx", "to_torch", "from_torch")})


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

