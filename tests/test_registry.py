"""Every fast form of a core formula equals its definition, on every path and dtype.

The definitions live in ``deltaprop.core`` (f and f' in ``activations``, E_n and δ^(L) in
``losses``, the update rules in ``optim``); ``deltaprop.speed.registry`` lists, for each
path, its own form of each one (or None: the path uses the definition).  These tests walk the
whole registry: a formula added in its home without an entry in some table fails here, and
the failure names the table and the missing name.

Paths: the plain one (the definition itself, as ``Network.backprop`` calls it), the buffered
numpy path (``BatchBackprop``: the activations' in-place forms and the losses' in-place
canonical pairs), the fused kernels (``deltaprop.speed.fused``, numba, bitwise equal to
numpy) and the compiled epoch (``deltaprop.speed.epoch``, numba, scalar code: within a few
units of roundoff, as its libm calls differ from numpy's vectorised ones).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import io
import math
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest

from deltaprop.core import activations, losses, optim
from deltaprop.core.network import Network
from deltaprop.speed import compiled, fused, registry
from deltaprop.speed.switch import plain_paths

DTYPES = [np.float32, np.float64]
HIDDEN = activations.HIDDEN_ACTIVATIONS
CANONICAL = sorted(
    (loss, output) for loss, output in losses.CANONICAL_OUTPUT.items() if losses.is_canonical(loss, output)
)
BIG = (67, 97)  # 6,499 elements: above FUSED_MIN_SIZE, so the fused kernels run


def _missing(table, names):
    return sorted(set(names) - set(table))


@pytest.mark.parametrize("table", ["FORWARD_KERNELS", "BACKWARD_KERNELS", "EPOCH_HIDDEN"])
def test_every_hidden_activation_is_listed_in_every_path(table):
    missing = _missing(getattr(registry, table), HIDDEN)
    assert not missing, (f"hidden activations {missing} have no entry in registry.{table}: add the "
                         "path's form there, or None to use the definition")


@pytest.mark.parametrize("table", ["CANONICAL_IN_PLACE", "EPOCH_OUTPUT"])
def test_every_canonical_pair_is_listed_in_every_path(table):
    missing = _missing(getattr(registry, table), CANONICAL)
    assert not missing, (f"canonical pairs {missing} have no entry in registry.{table}: add the "
                         "path's form there, or None to use the definition")


def test_every_update_rule_is_listed_in_every_path():
    rules = [name for name in optim.__all__ if name.endswith("_step")]
    missing = _missing(registry.STEP_KERNELS, rules)
    assert not missing, f"update rules {missing} have no entry in registry.STEP_KERNELS"


def _inputs(dtype, shape=BIG, seed=0):
    rng = np.random.default_rng(seed)
    u = (rng.standard_normal(shape) * 3).astype(dtype)
    u[0, :6] = [0.0, 1e-30, -1e-30, 30.0, -30.0, 0.5]
    return u, rng.standard_normal(shape).astype(dtype)


def _definition(name, u, grad):
    act = activations.ACTIVATIONS[name]
    with np.errstate(over="ignore"):
        z = act.f(u)
    return z, act.derivative(u, z) * grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", HIDDEN)
@pytest.mark.parametrize("path", ["buffered", "fused"])
def test_hidden_layer_forms_equal_the_definition(name, dtype, path):
    u, grad = _inputs(dtype)
    z, delta = _definition(name, u, grad)
    size = u.size if path == "fused" else fused.FUSED_MIN_SIZE - 1
    with plain_paths() if path == "buffered" else _nothing():
        forward, backward = fused.hidden_layer(name, dtype, size)
    a, d, t = u.copy(), grad.copy(), np.empty_like(u)
    with np.errstate(over="ignore"):
        forward(a, np.zeros(u.shape[0], dtype=dtype), t)
    backward(d, a, t)
    np.testing.assert_array_equal(a, z, err_msg=f"{path} f of {name}")
    np.testing.assert_array_equal(d, delta, err_msg=f"{path} f' of {name}")
    assert a.dtype == d.dtype == dtype


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def _constants(dtype):
    """The compiled epoch's constants array, as run_epoch fills it for a network of dtype."""
    net = Network([2, 2, 1], random_state=0, dtype=dtype)
    return compiled._Workspace(net, 1).c


def _close(dtype):
    eps = np.finfo(dtype).eps
    return dict(rtol=8 * eps, atol=8 * eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", HIDDEN)
def test_compiled_epoch_activation_forms_equal_the_definition(name, dtype):
    ep = compiled.kernel()
    code = registry.EPOCH_HIDDEN[name]
    if code is None:
        pytest.skip(f"the compiled epoch leaves networks with {name} to the numpy path")
    u, grad = _inputs(dtype, shape=(7, 31))
    z, delta = _definition(name, u, grad)
    c = _constants(dtype)
    a, d = u.ravel().copy(), grad.ravel().copy()
    ep.hidden_f(code, a, 0, a.size, c)
    ep.hidden_df(code, d, z.ravel().copy(), 0, d.size, c)
    np.testing.assert_allclose(a, z.ravel(), **_close(dtype), err_msg=f"compiled f of {name}")
    np.testing.assert_allclose(d, delta.ravel(), **_close(dtype), err_msg=f"compiled f' of {name}")


def _targets(loss, dtype, shape, rng):
    if loss == "log_loss":
        return np.eye(shape[0], dtype=dtype)[:, rng.integers(0, shape[0], shape[1])]
    if loss == "binary_log_loss":
        return rng.integers(0, 2, shape).astype(dtype)
    if loss == "poisson":
        return rng.poisson(2.0, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _loss_definition(loss, output, u, d, s):
    y = activations.ACTIVATIONS[output].f(u)
    per = losses.per_sample(loss, u, y, d, output)
    return float(per.sum() if s is None else per @ s), losses.output_delta(loss, output, u, y, d)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pair", CANONICAL)
@pytest.mark.parametrize("weighted", [False, True])
def test_in_place_canonical_pairs_equal_the_definition(pair, dtype, weighted):
    loss, output = pair
    rng = np.random.default_rng(1)
    shape = (3, 11)
    u = rng.standard_normal(shape).astype(dtype)
    d = _targets(loss, dtype, shape, rng)
    s = (rng.random(shape[1]) + 0.5).astype(dtype) if weighted else None
    expected, delta_expected = _loss_definition(loss, output, u, d, s)
    form = registry.CANONICAL_IN_PLACE[pair]
    delta = np.empty_like(u)
    if form is None:
        data = losses.weighted_loss_and_delta(loss, output, u, d, delta, s)
    else:
        t, E, lse = np.empty_like(u), np.empty(shape[1], dtype), np.empty(shape[1], dtype)
        data = form(u, d, delta, t, E, s, lse)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(data, expected, rtol=tol)
    np.testing.assert_allclose(delta, delta_expected, rtol=tol, atol=tol)
    assert delta.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pair", CANONICAL)
def test_compiled_epoch_loss_forms_equal_the_definition(pair, dtype):
    ep = compiled.kernel()
    code = registry.EPOCH_OUTPUT[pair]
    loss, output = pair
    rng = np.random.default_rng(2)
    shape = (3, 5)
    u = rng.standard_normal(shape).astype(dtype)
    d = _targets(loss, dtype, shape, rng)
    expected, delta_expected = _loss_definition(loss, output, u, d, None)
    c = _constants(dtype)
    flat_u, delta = u.ravel().copy(), np.empty(u.size, dtype=dtype)
    total = 0.0
    for n in range(shape[1]):
        total += float(ep.output(code, flat_u, delta, np.ascontiguousarray(d[:, n]), n, shape[1],
                                 shape[0], c))
    if code == 0:
        total *= 0.5  # the kernel applies squared error's ½ to the batch sum
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(total, expected, rtol=tol)
    np.testing.assert_allclose(delta.reshape(shape), delta_expected, rtol=tol, atol=tol)


def _step_arrays(dtype, k, size):
    rng = np.random.default_rng(3)
    return [rng.standard_normal(size).astype(dtype) for _ in range(k)]


def _work(like):
    return lambda: (np.empty_like(like), np.empty_like(like))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", sorted(registry.STEP_KERNELS))
@pytest.mark.parametrize("path", ["fused", "compiled"])
def test_update_rule_forms_equal_the_definition(rule, dtype, path):
    size = fused.FUSED_MIN_SIZE + 7
    definition = getattr(optim, rule)
    if rule == "sgd_step":
        w, g, v = _step_arrays(dtype, 3, size)
        w2, v2 = w.copy(), v.copy()
        definition(w2, g, v2, 0.9, 0.01, True, _work(w))
        if path == "fused":
            fused.sgd_step(w, g, v, 0.9, 0.01, True, _work(w))
        else:
            ep, c = compiled.kernel(), _constants(dtype)
            c[ep.C_ETA], c[ep.C_MU] = 0.01, 0.9
            ep.sgd(registry.EPOCH_STEPS["nesterov"], w, g, v, c)
        pairs = [(w, w2), (v, v2)]
    else:
        w, g = _step_arrays(dtype, 2, size)
        m, s = np.zeros_like(w), np.zeros_like(w)
        w2, m2, s2 = w.copy(), m.copy(), s.copy()
        lr = 0.001 * math.sqrt(1 - 0.999) / (1 - 0.9)  # η_1
        definition(w2, g, m2, s2, 0.9, 0.999, 1e-8, float(lr), _work(w))
        if path == "fused":
            fused.adam_step(w, g, m, s, 0.9, 0.999, 1e-8, float(lr), _work(w))
        else:
            ep, c = compiled.kernel(), _constants(dtype)
            c[ep.C_B1], c[ep.C_ONE_MINUS_B1] = 0.9, 1 - 0.9
            c[ep.C_B2], c[ep.C_ONE_MINUS_B2] = 0.999, 1 - 0.999
            c[ep.C_EPS] = 1e-8
            ep.adam(w, g, m, s, c, 0.001, 0.9, 0.999, 1)
        pairs = [(w, w2), (m, m2), (s, s2)]
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{path} {rule}")


def test_compiled_epoch_adam_rate_is_the_definition():
    """η_t of the compiled epoch is optim.adam_rate compiled: equal to optim.Adam's at every t."""
    adam = optim.Adam([np.zeros(3)], 3e-3, 0.8, 0.95)
    ep = compiled.kernel()
    for t in range(1, 40):
        adam.update([np.zeros(3)], [np.ones(3)])
        assert ep._adam_rate(adam.base_rate, 0.8, 0.95, t) == adam.learning_rate


@pytest.mark.parametrize("loss", losses.LOSSES)
def test_every_loss_runs_on_the_compiled_epoch_or_is_sent_to_the_numpy_path(loss):
    output = losses.DEFAULT_OUTPUT[loss]
    net = Network([2, 3, 2], "tanh", output, loss, random_state=0)
    sgd = optim.SGD([np.zeros(net.n_parameters)], 0.1)
    X = np.zeros((8, 2))
    assert compiled.supported(net, sgd, X, None, 4) == ((loss, output) in registry.EPOCH_OUTPUT)


# ---------------------------------------------------------------------------------------
# the registry keyed by formula: every "# restates:" marker in compiled code is listed, and
# every entry has its marker

COMPILED_MODULES = ("kernels", "epoch", "fused")
MARKER = re.compile(r"#\s*restates:\s*([\w.]+(?:\[\w+\])?)")


def _markers(module_name):
    """{(formula, "module.function")} of the markers in deltaprop.speed.<module_name>'s source
    (the innermost function holding the comment; the module itself outside any function)."""
    path = Path(importlib.util.find_spec(f"deltaprop.speed.{module_name}").origin)
    source = path.read_text(encoding="utf-8")
    functions = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)]
    found = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        match = MARKER.search(token.string) if token.type == tokenize.COMMENT else None
        if match is None:
            continue
        line = token.start[0]
        holders = [f for f in functions if f.lineno <= line <= f.end_lineno]
        place = module_name
        if holders:
            place += "." + max(holders, key=lambda f: f.lineno).name
        found.add((match.group(1), place))
    return found


def test_every_restatement_in_compiled_code_is_in_the_registry_and_back():
    marked = set().union(*(_markers(m) for m in COMPILED_MODULES))
    listed = {(formula, place) for formula, places in registry.RESTATEMENTS.items() for place in places}
    assert marked, "no '# restates:' marker found: the scan is broken"
    unlisted = sorted(marked - listed)
    assert not unlisted, (f"compiled code restates {unlisted} (formula, function) without an entry in "
                          "deltaprop.speed.registry.RESTATEMENTS: list it there")
    unmarked = sorted(listed - marked)
    assert not unmarked, (f"registry.RESTATEMENTS lists {unmarked} but the function has no "
                          "'# restates: <formula>' marker: mark the restatement, or drop the entry")


@pytest.mark.parametrize("formula", sorted(registry.RESTATEMENTS))
def test_every_restated_formula_has_its_home_in_the_core(formula):
    name, _, loss = formula.partition("[")
    ring, module, *attributes = name.split(".")
    obj = importlib.import_module(f"deltaprop.{ring}.{module}")
    for attribute in attributes:
        assert hasattr(obj, attribute), f"{formula}: deltaprop.{name} does not exist"
        obj = getattr(obj, attribute)
    assert callable(obj)
    if loss:
        assert loss.rstrip("]") in losses.LOSSES


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_l2_gradient_and_n_restated_equal_the_core(dtype):
    rng = np.random.default_rng(4)
    g, w = (rng.standard_normal(BIG).astype(dtype) for _ in range(2))
    expected = g + losses.l2_gradient(1e-2, 7.0, w)
    fused.add_l2_gradient(g, w, 1e-2, 7.0, lambda: pytest.fail("the compiled path needs no work array"))
    np.testing.assert_array_equal(g, expected)
    s = (rng.random(37) + 0.5).astype(dtype)
    order = np.arange(37)
    ep = compiled.kernel()
    N = ep.batch_weight(s, True, order, 0, 37, dtype(0))
    np.testing.assert_allclose(N, losses.total_weight(37, s), rtol=8 * np.finfo(dtype).eps)
    assert ep.batch_weight(s, False, order, 0, 37, dtype(0)) == losses.total_weight(37, None) == 37.0
