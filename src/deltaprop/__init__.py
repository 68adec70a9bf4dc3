"""deltaprop: multilayer perceptrons trained by backpropagation, in the seed's notation.

See ``Network`` for the model and its notation, ``derivation`` for the element-wise
formulas, and ``gradcheck`` for finite differences; ``MLPRegressor`` and ``MLPClassifier``
are drop-ins for scikit-learn's, ``explain`` derives one weight's gradient of a trained
model, and ``save``/``load`` keep models in files.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names as type checkers see them; at run time they load on first use
    from deltaprop.core.derivation import derive
    from deltaprop.core.gradcheck import gradcheck
    from deltaprop.core.network import Forward, Gradients, Network
    from deltaprop.core.optim import gradient_descent
    from deltaprop.estimators.mlp import MLPClassifier, MLPRegressor
    from deltaprop.explanation.core import explain
    from deltaprop.files.archive import load, save

__all__ = [
    "Network", "Forward", "Gradients", "derive", "gradcheck", "gradient_descent", "__version__",
    "MLPRegressor", "MLPClassifier",
    "explain", "save", "load",
    "to_onnx", "register_skl2onnx", "to_torch", "from_torch",
]

# every public name loads on first use, so that the command imports only what it needs (the
# estimators import scikit-learn, the core scipy: slow to import); the bridges import onnx,
# skl2onnx or torch only when called (and sit in an outer ring, so they stay out of the
# TYPE_CHECKING imports above, which the rings contract reads)
_LAZY = {
    name: module
    for module, names in {
        "estimators.mlp": ("MLPRegressor", "MLPClassifier"), "core.derivation": ("derive",),
        "core.gradcheck": ("gradcheck",), "core.network": ("Forward", "Gradients", "Network"),
        "core.optim": ("gradient_descent",), "explanation.core": ("explain",),
        "files.archive": ("load", "save"),
        "bridges": ("to_onnx", "register_skl2onnx", "to_torch", "from_torch"),
    }.items()
    for name in names
}


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def _version():
    from deltaprop._version import __version__  # the version's one home

    return __version__


def __getattr__(name):
    if name == "__version__":
        globals()[name] = _version()
        return globals()[name]
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

