"""PyTorch both ways: to_torch gives the same outputs; from_torch lets explain derive autograd's
gradients of a PyTorch MLP."""

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.core.activations import HIDDEN_ACTIVATIONS

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_to_torch_has_the_networks_weights_and_outputs(dtype):
    X = np.random.default_rng(0).normal(size=(10, 4)).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for activation in HIDDEN_ACTIVATIONS:
        for loss in ("squared_error", "log_loss", "binary_log_loss", "poisson"):
            net = dp.Network([4, 5, 3], activation, loss=loss, random_state=2, dtype=dtype)
            seq = dp.to_torch(net)
            np.testing.assert_array_equal(seq[0].weight.detach().numpy(), net.W[2])
            np.testing.assert_array_equal(seq[2].bias.detach().numpy(), net.b[3])
            got = seq(torch.from_numpy(X)).detach().numpy()
            assert got.dtype == dtype
            message = f"{activation} {loss}"
            np.testing.assert_allclose(got, net.predict(X), rtol=tol, atol=tol, err_msg=message)


def test_from_torch_round_trips_to_torch():
    net = dp.Network([3, 4, 4, 2], ["leaky_relu", "softplus"], loss="log_loss", random_state=0)
    back = dp.from_torch(dp.to_torch(net))
    assert back.layer_activation == net.layer_activation and back.loss_name == "log_loss"
    for l in net.layers:
        np.testing.assert_array_equal(back.W[l], net.W[l])
        np.testing.assert_array_equal(back.b[l], net.b[l])


def _autograd(seq, X, D, loss):
    """∂E/∂θ of the batch loss, mean over samples of E_n, by autograd."""
    y = seq(torch.from_numpy(X))
    d = torch.from_numpy(D)
    if loss == "squared_error":
        E = 0.5 * ((y - d) ** 2).sum(1)
    else:  # log_loss after Softmax
        E = -(d * torch.log(y)).sum(1)
    seq.zero_grad()
    E.mean().backward()


@pytest.mark.parametrize(
    "hidden, last, loss",
    [
        ("tanh", None, "squared_error"),
        ("relu", None, "squared_error"),
        ("logistic", "softmax", "log_loss"),
        ("leaky_relu", "softmax", "log_loss"),
    ],
)
def test_explain_derives_autograds_gradient_of_every_weight_of_a_pytorch_mlp(hidden, last, loss):
    torch.manual_seed(0)
    act = {"tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU(), "logistic": torch.nn.Sigmoid(),
           "leaky_relu": torch.nn.LeakyReLU(0.01)}[hidden]
    layers = [torch.nn.Linear(3, 4), act, torch.nn.Linear(4, 2)]
    if last == "softmax":
        layers.append(torch.nn.Softmax(dim=1))
    seq = torch.nn.Sequential(*layers).double()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 3))
    D = rng.normal(size=(6, 2)) if loss == "squared_error" else np.eye(2)[rng.integers(0, 2, 6)]
    _autograd(seq, X, D, loss)
    net = dp.from_torch(seq)
    assert net.loss_name == loss
    for l, linear in ((2, seq[0]), (3, seq[2])):
        weight, bias = linear.weight.grad.numpy(), linear.bias.grad.numpy()
        for j in range(1, weight.shape[0] + 1):
            for i in range(0, weight.shape[1] + 1):
                expected = bias[j - 1] if i == 0 else weight[j - 1, i - 1]
                ex = dp.explain(net, (l, j, i), X, D)
                assert ex.value == pytest.approx(expected, rel=1e-10, abs=1e-13), (l, j, i)


@pytest.mark.parametrize(
    "module, named",
    [
        (torch.nn.Dropout(0.5), "Dropout"),
        (torch.nn.ELU(), "ELU"),
        (torch.nn.LeakyReLU(0.2), "LeakyReLU"),
        (torch.nn.Conv1d(1, 1, 1), "Conv1d"),
    ],
)
def test_from_torch_refuses_an_unsupported_layer_naming_it(module, named):
    seq = torch.nn.Sequential(torch.nn.Linear(3, 4), module, torch.nn.Linear(4, 1))
    with pytest.raises(ValueError, match=rf"layer 1 of the Sequential is {named}\(.*supported: Linear"):
        dp.from_torch(seq)


def test_from_torch_refuses_two_activations_in_a_row():
    seq = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    with pytest.raises(ValueError, match="layer 2 of the Sequential is ReLU"):
        dp.from_torch(seq)


def test_from_torch_takes_the_outputs_canonical_loss_unless_told():
    from deltaprop.core import losses

    for last, loss in ((torch.nn.Identity(), "squared_error"), (torch.nn.Sigmoid(), "binary_log_loss"),
                       (torch.nn.Softmax(dim=1), "log_loss")):
        seq = torch.nn.Sequential(torch.nn.Linear(3, 2), last).double()
        net = dp.from_torch(seq)
        assert net.loss_name == loss and losses.CANONICAL_OUTPUT[loss] == net.output
    seq = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softplus())
    assert dp.from_torch(seq, loss="poisson").loss_name == "poisson"
