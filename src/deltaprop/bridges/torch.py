"""PyTorch both ways: a network as an ``nn.Sequential``, and an ``nn.Sequential`` as a network.

A layer l of a :class:`~deltaprop.Network` is ``nn.Linear(n_{l-1}, n_l)`` followed by its f:
PyTorch keeps ``Linear.weight`` in the seed's orientation, shape (n_l, n_{l-1}), so
``weight`` is ``W[l]`` and ``bias`` is ``b[l]``, copied as they are.

    identity ↔ nn.Identity        logistic ↔ nn.Sigmoid      tanh ↔ nn.Tanh
    relu ↔ nn.ReLU                leaky_relu ↔ nn.LeakyReLU(0.01)
    softplus ↔ nn.Softplus(beta=1)   softmax ↔ nn.Softmax(dim=1)   exp ↔ ``Exp`` (below)

PyTorch's Softplus returns u itself where u > 20 (its ``threshold``); deltaprop's is
log(1 + exp(u)) everywhere, which differs there by less than 3e-9.  PyTorch is imported only
inside these functions (the ``torch`` extra).
"""

from __future__ import annotations

import numpy as np

from deltaprop.core.activations import LEAKY_RELU_SLOPE
from deltaprop.core.losses import CANONICAL_OUTPUT
from deltaprop.core.network import Network

__all__ = ["to_torch", "from_torch"]

#: the loss an output implies when none is given: its canonical partner
_DEFAULT_LOSS = {output: loss for loss, output in CANONICAL_OUTPUT.items()}
_SUPPORTED = (
    "Linear, and after each Linear at most one of Identity, Sigmoid, Tanh, ReLU, "
    "LeakyReLU(0.01), Softplus(beta=1), Softmax(dim=1), or deltaprop's Exp"
)


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError("the PyTorch bridge needs PyTorch; pip install 'deltaprop[torch]'") from e
    return torch


def _modules(torch) -> dict:
    """{activation name: (its module's class, the arguments that make it f)}."""
    nn = torch.nn

    class Exp(torch.nn.Module):
        """f(u) = exp(u): the canonical output of the Poisson loss."""

        def forward(self, u):
            return torch.exp(u)

    return {"identity": (nn.Identity, {}), "logistic": (nn.Sigmoid, {}), "tanh": (nn.Tanh, {}),
            "relu": (nn.ReLU, {}), "leaky_relu": (nn.LeakyReLU, {"negative_slope": LEAKY_RELU_SLOPE}),
            "softplus": (nn.Softplus, {"beta": 1}), "softmax": (nn.Softmax, {"dim": 1}), "exp": (Exp, {})}


def _network_of(model) -> Network:
    net = model if isinstance(model, Network) else getattr(model, "network_", None)
    if isinstance(net, Network):
        return net
    raise ValueError(
        f"cannot turn a {type(model).__name__} into PyTorch layers; give a deltaprop Network, a "
        f"fitted deltaprop estimator, or a model of the deltaprop command"
    )


def to_torch(model):
    """An ``nn.Sequential`` with the network's weights: the same outputs, in PyTorch.

    Parameters
    ----------
    model : Network, fitted MLPRegressor or MLPClassifier, or TabularModel
        For an estimator or the command's model, its ``network_`` (the preprocessing of the
        command's model stays out: the Sequential takes the network's input x).

    Returns
    -------
    torch.nn.Sequential
        ``Linear`` and activation modules, one pair per layer l = 2 … L, parameters of the
        network's dtype (copies: training one does not change the other).
    """
    torch = _torch()
    net = _network_of(model)
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    layers, modules = [], _modules(torch)
    for l in net.layers:
        linear = torch.nn.Linear(net.sizes[l - 2], net.sizes[l - 1], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(net.W[l]))
            linear.bias.copy_(torch.from_numpy(net.b[l]))
        kind, args = modules[net.layer_activation[l]]
        layers += [linear, kind(**args)]
    return torch.nn.Sequential(*layers)


def _activation_name(torch, module, position: int) -> str:
    """The deltaprop name of an activation module; ValueError naming an unsupported one."""
    for name, (kind, args) in _modules(torch).items():
        # each call makes its own Exp class: a parameterless module of that name is exp
        if name == "exp":
            same = type(module).__name__ == "Exp" and not list(module.parameters())
        else:
            same = type(module) is kind
        # softmax over the last axis of (n_samples, n_L) is over dim 1
        if same and all(getattr(module, k) in (v, -1 if k == "dim" else v) for k, v in args.items()):
            return name
    raise ValueError(
        f"layer {position} of the Sequential is {module!r}, which a deltaprop Network does not have; "
        f"supported: {_SUPPORTED}"
    )


def _layers(torch, seq) -> tuple[list, list]:
    """(the Linear modules, the name of f after each) of a Sequential."""
    modules = list(seq)
    linears: list = []
    names: list[str] = []
    for position, module in enumerate(modules):
        if isinstance(module, torch.nn.Linear):
            linears.append(module)
            names.append("identity")
            continue
        name = _activation_name(torch, module, position)
        if position == 0 or not isinstance(modules[position - 1], torch.nn.Linear):
            raise ValueError(
                f"layer {position} of the Sequential is {module!r} where a Linear layer must come "
                f"(one activation after each Linear); supported: {_SUPPORTED}"
            )
        names[-1] = name
    return linears, names


def from_torch(seq, loss: str | None = None) -> Network:
    """A :class:`~deltaprop.Network` with the weights of a PyTorch MLP.

    Parameters
    ----------
    seq : torch.nn.Sequential
        ``Linear`` layers, each followed by at most one supported activation (listed in this
        module's docstring).  ``Linear.weight`` becomes ``W[l]`` and ``bias`` ``b[l]`` (zeros
        for ``bias=False``), copied.
    loss : str, optional
        The loss whose gradients ``gradients`` and ``explain`` take.  Defaults to the output's
        canonical partner: squared_error after an identity output, log_loss after Softmax,
        binary_log_loss after Sigmoid, poisson after Exp; squared_error otherwise.

    Returns
    -------
    Network
        Of the parameters' dtype (float32 or float64).

    Raises
    ------
    ValueError
        For a layer that is not supported (named, with its position), hidden layers with
        different activations than the network allows, or a dtype other than float32/64.
    """
    torch = _torch()
    if not isinstance(seq, torch.nn.Sequential):
        raise ValueError(f"from_torch takes a torch.nn.Sequential; got a {type(seq).__name__}")
    linears, names = _layers(torch, seq)
    if not linears:
        raise ValueError("the Sequential has no Linear layer; a network needs at least one")
    output = names[-1]
    if loss is None:
        loss = _DEFAULT_LOSS.get(output, "squared_error")
    W, b = [], []
    for linear in linears:
        w = linear.weight.detach().cpu().numpy()
        if w.dtype not in (np.float32, np.float64):
            raise ValueError(f"{linear!r} has parameters of {w.dtype}; convert the model to float32 or "
                             "float64")
        W.append(w.copy())
        bias = linear.bias
        b.append(np.zeros(w.shape[0], w.dtype) if bias is None else bias.detach().cpu().numpy().copy())
    hidden = names[:-1] if len(names) > 1 else "tanh"
    return Network.from_weights(W, b, activation=hidden, output=output, loss=loss)
