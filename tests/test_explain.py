"""deltaprop.explain: its numbers agree with backprop and finite differences, its paths add up,
the seed's two formulas come out for the seed's network, and bad weights are refused."""

from __future__ import annotations

import dataclasses
import re
import warnings

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.explanation import core
from deltaprop.explanation.diagram import shown_units

SEED_OUTPUT = "∂Eₙ/∂w₂₁⁽³⁾ = (y₂ − d₂) z₁⁽²⁾"
SEED_HIDDEN = "∂Eₙ/∂w₂₁⁽²⁾ = f′(u₂⁽²⁾) Σₖ wₖ₂⁽³⁾ (uₖ⁽³⁾ − dₖ) z₁⁽¹⁾"

# (sizes, hidden activation, output, loss): canonical pairs and non-canonical ones
CASES = [
    ([4, 5, 3], "tanh", None, "squared_error"),
    ([3, 6, 4, 2], "logistic", None, "binary_log_loss"),
    ([5, 4, 4, 3], "relu", None, "log_loss"),
    ([2, 7, 3, 5, 3], "softplus", None, "squared_error"),
    ([4, 3, 2], "tanh", "logistic", "squared_error"),  # general δ^(L) = f'(u) ∂E/∂y
    ([3, 4, 3], "leaky_relu", "softmax", "binary_log_loss"),  # softmax Jacobian, not canonical
]


def _targets(rng, loss, n, n_out):
    if loss == "log_loss":
        return np.eye(n_out)[rng.integers(0, n_out, n)]
    if loss == "binary_log_loss":
        return rng.uniform(0.05, 0.95, size=(n, n_out))
    return rng.normal(size=(n, n_out))


def _random_weight(rng, net):
    l = int(rng.integers(2, net.L + 1))
    return l, int(rng.integers(1, net.sizes[l - 1] + 1)), int(rng.integers(0, net.sizes[l - 2] + 1))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_value_equals_backprop_and_central_difference(case, rng):
    sizes, act, out, loss = case
    net = dp.Network(sizes, activation=act, output=out, loss=loss, random_state=int(rng.integers(1000)))
    for _ in range(4):
        n = int(rng.integers(1, 6))
        X = rng.normal(size=(n, sizes[0]))
        D = _targets(rng, loss, n, sizes[-1])
        s = rng.uniform(0.2, 2.0, n) if rng.random() < 0.5 else None
        alpha = float(rng.choice([0.0, 0.3]))
        weight = _random_weight(rng, net)
        ex = dp.explain(net, weight, X, D, alpha=alpha, sample_weight=s)
        grads = net.gradients(X, D, alpha=alpha, sample_weight=s)
        l, j, i = weight
        expected = grads.b[l][j - 1] if i == 0 else grads.W[l][j - 1, i - 1]
        assert ex.value == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert ex.backprop == pytest.approx(expected, rel=1e-12, abs=1e-14)
        assert ex.numerical == pytest.approx(ex.value, rel=1e-5, abs=1e-7)
        assert ex.relative_error < 1e-4


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_paths_sum_to_the_gradient_minus_l2(case, rng):
    sizes, act, out, loss = case
    net = dp.Network(sizes, activation=act, output=out, loss=loss, random_state=3)
    X = rng.normal(size=(4, sizes[0]))
    D = _targets(rng, loss, 4, sizes[-1])
    for l in net.layers:
        ex = dp.explain(net, (l, 1, 1), X, D, alpha=0.2)
        total = sum(p.contribution for p in ex.paths)
        assert total == pytest.approx(ex.value - ex.l2_term, rel=1e-9, abs=1e-13)
        assert ex.n_paths == int(np.prod(sizes[l:]))
        ranked = [abs(p.contribution) for p in ex.paths if not p.is_other]
        assert ranked == sorted(ranked, reverse=True)
        for p in ex.paths:
            assert p.is_other or (p.units[0] == (l, 1) and p.units[-1][0] == net.L)


def test_many_paths_keep_the_top_ones_and_one_exact_tail(rng):
    net = dp.Network([3, 6, 8, 5, 2], activation="tanh", random_state=0)  # 8·5·2 = 80 paths from layer 2
    X, D = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    ex = dp.explain(net, (2, 4, 2), X, D)
    assert ex.n_paths == 80 and len(ex.paths) == core.MAX_PATHS + 1
    tail = ex.paths[-1]
    assert tail.is_other and tail.count == 80 - core.MAX_PATHS
    assert sum(p.contribution for p in ex.paths) == pytest.approx(ex.value, rel=1e-10, abs=1e-14)
    # every listed path's number is the product along it, recomputed here sample by sample
    f = net.forward(X)
    der = dp.derive(net, (2, 4, 2), X, D)
    for p in ex.paths[:5]:
        per_sample = []
        for n, sd in enumerate(der.samples):
            value = f.z[1][1, n] * sd.fprime[2][3]
            for (_, k), (m2, k2) in zip(p.units, p.units[1:]):
                value *= net.W[m2][k2 - 1, k - 1] * (sd.fprime[m2][k2 - 1] if m2 < net.L else 1.0)
            per_sample.append(value * sd.delta[net.L][p.units[-1][1] - 1])
        assert p.contribution == pytest.approx(np.mean(per_sample), rel=1e-10, abs=1e-15)


def test_pruned_path_search_lists_exact_contributions(rng):
    net = dp.Network([2, 5, 9, 9, 3], activation="tanh", random_state=1)
    X, D = rng.normal(size=(2, 2)), rng.normal(size=(2, 3))
    from deltaprop.explanation.elementwise import batch_pass

    fwd = batch_pass(net, net.check_X(X), D, {})  # u, z and f′(u) of every unit and sample
    der = dp.derive(net, (2, 3, 1), X, D)
    delta = {m: np.array([sd.delta[m] for sd in der.samples]).T for m in net.layers}
    s = np.ones(2)
    full, exhaustive, n = core._paths(net, 2, 3, 1, fwd, delta, s, max_paths=10_000)
    assert exhaustive and n == 243 and len(full) == 243
    exact = {p.units: p.contribution for p in full}
    pruned, exhaustive, _ = core._paths(net, 2, 3, 1, fwd, delta, s, max_paths=10, budget=200)
    assert not exhaustive
    for p in pruned:
        assert p.contribution == pytest.approx(exact[p.units], rel=1e-12, abs=1e-16)


@pytest.mark.parametrize("sizes", [[4, 5, 3], [3, 7, 6, 4]])
def test_matrix_row_equals_elementwise_sum(sizes, rng):
    net = dp.Network(sizes, activation="tanh", random_state=2)
    X, D = rng.normal(size=(5, sizes[0])), rng.normal(size=(5, sizes[-1]))
    for l in range(2, net.L):
        for j in range(1, sizes[l - 1] + 1):
            t = dp.explain(net, (l, j, 1), X, D).transpose
            assert t.matrix_row == pytest.approx(t.elementwise, rel=1e-12, abs=1e-15)
            assert t.max_difference < 1e-12
            # and the sum really is Σ_k w_kj δ_k of sample 1, term by term
            assert sum(term[3] for term in t.terms) == pytest.approx(t.elementwise, rel=1e-12, abs=1e-15)
            assert [term[0] for term in t.terms] == list(range(1, sizes[l] + 1))
            assert t.outer_matrix == pytest.approx(t.outer_elementwise, rel=1e-12, abs=1e-15)


def test_seed_network_text_ends_in_the_seeds_two_formulas(rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    x, d = rng.normal(size=4), rng.normal(size=3)
    out = dp.explain(net, "3:2,1", x, d).to_text().rstrip()
    hid = dp.explain(net, "2:2,1", x, d).to_text().rstrip()
    assert out.endswith(SEED_OUTPUT)
    assert hid.endswith(SEED_HIDDEN)
    assert out.splitlines()[-2] == "∂Eₙ/∂wⱼᵢ⁽³⁾ = (yⱼ − dⱼ) zᵢ⁽²⁾"
    assert hid.splitlines()[-2] == "∂Eₙ/∂wⱼᵢ⁽²⁾ = f′(uⱼ⁽²⁾) Σₖ wₖⱼ⁽³⁾ (uₖ⁽³⁾ − dₖ) zᵢ⁽¹⁾"


def test_seed_formula_numbers_are_the_seeds(rng):
    """The text's one-sample value is (y_2 − d_2) z_1^(2), computed here from the forward pass."""
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    x, d = rng.normal(size=4), rng.normal(size=3)
    f = net.forward(x[None, :])
    expected = (f.y[1, 0] - d[1]) * f.z[2][0, 0]
    ex = dp.explain(net, (3, 2, 1), x, d)
    assert ex.value == pytest.approx(expected, rel=1e-12)
    assert f"{expected:.6g}".replace("-", "−") in ex.to_text()


def test_bias_weight_has_factor_one(rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    ex = dp.explain(net, (2, 3, 0), rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), alpha=5.0)
    assert ex.l2_term == 0.0  # biases are not penalised
    assert ex.to_text().rstrip().endswith("∂Eₙ/∂w₃₀⁽²⁾ = f′(u₃⁽²⁾) Σₖ wₖ₃⁽³⁾ (uₖ⁽³⁾ − dₖ)")


def test_float32_network_is_explained_in_float64(rng):
    net = dp.Network([4, 6, 2], activation="tanh", random_state=0, dtype=np.float32)
    X, D = rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    ex = dp.explain(net, (2, 1, 1), X, D)
    assert ex.relative_error < 1e-6
    assert net.dtype == np.float32  # the caller's network is untouched


@pytest.mark.parametrize(
    "weight, message",
    [
        ((4, 1, 1), r"layers 2 … 3"),
        ((1, 1, 1), r"layers 2 … 3"),
        ((3, 4, 1), r"layer 3 has units 1 … 3"),
        ((3, 1, 6), r"layer 2 has units 1 … 5, and i=0 is the bias"),
        ("3-2-1", r"'l:j,i'"),
        ("2:0,1", r"units 1 … 5"),
    ],
)
def test_bad_weight_is_refused_with_the_valid_range(weight, message, rng):
    net = dp.Network([4, 5, 3], random_state=0)
    with pytest.raises(ValueError, match=message):
        dp.explain(net, weight, rng.normal(size=(2, 4)), rng.normal(size=(2, 3)))


def test_wrong_width_of_x_or_d_is_refused(rng):
    net = dp.Network([4, 5, 3], random_state=0)
    with pytest.raises(ValueError, match=r"\(n_samples, 4\)"):
        dp.explain(net, (2, 1, 1), rng.normal(size=(2, 5)), rng.normal(size=(2, 3)))
    with pytest.raises(ValueError, match=r"n_1 = 4"):
        dp.explain(net, (2, 1, 1), rng.normal(size=3), rng.normal(size=3))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        dp.explain(net, (2, 1, 1), rng.normal(size=(2, 4)), rng.normal(size=(2, 2)))
    with pytest.raises(TypeError, match="not fitted"):
        from sklearn.neural_network import MLPRegressor

        dp.explain(MLPRegressor(), (2, 1, 1), rng.normal(size=(2, 4)), rng.normal(size=(2, 3)))


# ---------------------------------------------------------------------- scikit-learn twins
def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def _twin(est, loss):
    out = est.out_activation_
    return dp.Network.from_weights([c.T for c in est.coefs_], est.intercepts_, est.activation, out, loss)


def _same_explanation(a, b):
    """The same numbers and text; ``a`` (an estimator) names its units, ``b`` (its twin Network)
    does not, so ``b`` is given ``a``'s names for the comparison."""
    b = dataclasses.replace(b, inputs=a.inputs, outputs=a.outputs)
    assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-15)
    assert a.backprop == pytest.approx(b.backprop, rel=1e-12, abs=1e-15)
    assert [p.units for p in a.paths] == [p.units for p in b.paths]
    assert np.allclose([p.contribution for p in a.paths], [p.contribution for p in b.paths], rtol=1e-12)
    assert a.to_text() == b.to_text()


def test_sklearn_regressor_and_its_deltaprop_twin_agree(rng):
    from sklearn.neural_network import MLPRegressor

    X, Y = rng.normal(size=(40, 4)), rng.normal(size=(40, 3))
    est = _fit(
        MLPRegressor(hidden_layer_sizes=(5,), activation="tanh", alpha=0.01, max_iter=30, random_state=0),
        X,
        Y,
    )
    twin = _twin(est, "squared_error")
    for weight in ["3:2,1", "2:2,1", "2:5,0"]:
        a = dp.explain(est, weight, X[:6], Y[:6])  # alpha defaults to the estimator's
        b = dp.explain(twin, weight, X[:6], Y[:6], alpha=est.alpha)
        assert a.alpha == 0.01
        _same_explanation(a, b)
    # one output: scikit-learn's own loss is ours, so its L2 gradient is what the numbers show
    est1 = _fit(MLPRegressor(hidden_layer_sizes=(6,), alpha=0.5, max_iter=20, random_state=1), X, Y[:, 0])
    ex = dp.explain(est1, (2, 1, 1), X, Y[:, 0])
    assert ex.relative_error < 1e-5


def test_sklearn_classifiers_with_labels_and_their_twins_agree(rng):
    from sklearn.neural_network import MLPClassifier

    X = rng.normal(size=(60, 3))
    labels = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, 60)]
    est = _fit(
        MLPClassifier(hidden_layer_sizes=(6,), activation="relu", max_iter=40, random_state=0), X, labels
    )
    onehot = (labels[:, None] == est.classes_[None, :]).astype(float)
    a = dp.explain(est, (2, 3, 1), X[:5], labels[:5])
    b = dp.explain(_twin(est, "log_loss"), (2, 3, 1), X[:5], onehot[:5], alpha=est.alpha)
    assert a.outputs == ["cat", "dog", "emu"] and b.outputs is None
    _same_explanation(a, b)
    with pytest.raises(ValueError, match="not one of the model's classes"):
        dp.explain(est, (2, 3, 1), X[:2], np.array(["cat", "yak"]))

    binary = (X[:, 0] > 0).astype(int)
    est2 = _fit(
        MLPClassifier(hidden_layer_sizes=(4,), activation="logistic", max_iter=40, random_state=0), X, binary
    )
    a = dp.explain(est2, (3, 1, 2), X[:5], binary[:5])
    b = dp.explain(
        _twin(est2, "binary_log_loss"), (3, 1, 2), X[:5], binary[:5, None].astype(float), alpha=est2.alpha
    )
    _same_explanation(a, b)


# ---------------------------------------------------------------------- where gradients go
def test_layer_report_finds_dead_and_saturated_units(rng):
    net = dp.Network([3, 4, 5, 2], activation=["relu", "tanh"], random_state=0)
    net.b[2][:] = [-100.0, -100.0, 100.0, 100.0]  # units 1 and 2 of layer 2 never fire, 3 and 4 always do
    net.W[3][:] *= 0.0
    net.b[3][:] = [30.0, -30.0, 30.0, 0.0, 0.0]  # three tanh units pinned at ±1
    X, D = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    ex = dp.explain(net, (2, 3, 1), X, D)
    by_layer = {r.l: r for r in ex.layers}
    assert by_layer[2].dead == pytest.approx(0.5)
    # pinned on every sample: no gradient passes at all, so dead (core.units' one definition)
    assert by_layer[3].dead == pytest.approx(0.6) and by_layer[3].saturated == 0.0
    assert by_layer[4].dead is None and by_layer[4].saturated is None
    grads = net.gradients(X, D)
    assert by_layer[2].grad_norm == pytest.approx(np.linalg.norm(grads.W[2]))


# ---------------------------------------------------------------------- renderers
def test_latex_is_balanced_and_holds_the_seed_formula(rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    tex = dp.explain(net, (2, 2, 1), rng.normal(size=4), rng.normal(size=3)).to_latex()
    assert tex.count("{") == tex.count("}")
    assert tex.count(r"\begin{align*}") == tex.count(r"\end{align*}") > 3
    assert (
        r"f'\left(u_{2}^{(2)}\right) \sum_{k} w_{k2}^{(3)} \left( u_{k}^{(3)} - d_{k} \right) z_{1}^{(1)}"
        in tex
    )


def test_html_is_self_contained(rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    ex = dp.explain(net, (2, 2, 1), rng.normal(size=(3, 4)), rng.normal(size=(3, 3)))
    html = ex.to_html()
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower() and " on" + "load=" not in html.lower()
    assert "url(" not in html and "@import" not in html and "src=" not in html and 'href="http' not in html
    # the only URLs are the MathML and SVG namespace names
    assert set(re.findall(r"https?://[^\"' ]+", html)) <= {
        "http://www.w3.org/1998/Math/MathML",
        "http://www.w3.org/2000/svg",
    }
    # one network diagram per step, and the two transposes as pictures (a hidden weight has both)
    n_steps = html.count('<section class="step"')
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="net"') == n_steps >= 6
    # each picture twice: as wide as the page allows, and with fewer cells for a phone
    assert html.count('class="grid wide"') == html.count('class="grid narrow"') == 3  # batch: + its mean
    assert html.count("<svg") == n_steps + 6
    assert 'class="halo hl focus" data-l="2" data-j="2" data-i="1"' in html
    assert ex._repr_html_().startswith('<div class="deltaprop-explain">')


def test_diagram_draws_every_link_once_and_none_into_a_bias_unit(rng):
    from deltaprop.explanation.diagram import step_svg

    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    ex = dp.explain(net, (2, 2, 1), rng.normal(size=(2, 4)), rng.normal(size=(2, 3)))
    svg = step_svg(ex, "paths")
    links = re.findall(r'<line class="link[^"]*" data-l="(\d+)" data-j="(\d+)" data-i="(\d+)"', svg)
    assert len(links) == len(set(links)) == (4 + 1) * 5 + (5 + 1) * 3
    assert all(j != "0" for _, j, _ in links)


def test_wide_layers_are_drawn_with_an_ellipsis(rng):
    net = dp.Network(
        [784, 512, 512, 10], activation="relu", loss="log_loss", random_state=0, dtype=np.float32
    )
    X = rng.normal(size=(2, 784)).astype(np.float32)
    D = np.eye(10)[[3, 7]]
    ex = dp.explain(net, (2, 7, 300), X, D)
    assert ex.relative_error < 1e-5
    from deltaprop.explanation.diagram import step_svg

    svg = step_svg(ex, "paths")
    assert len(svg) < 150_000
    for layer in (1, 2, 3):
        drawn = re.findall(rf'data-layer="{layer}" data-unit="(\d+)"', svg)
        assert 3 <= len(drawn) <= 14
    assert 'data-layer="1" data-unit="300"' in svg and 'data-layer="2" data-unit="7"' in svg
    assert "more</text>" in svg


def test_shown_units_keeps_relevant_units_and_counts_the_rest():
    slots = shown_units(512, {7, 300})
    units = [s for s in slots if not isinstance(s, tuple)]
    assert units == [1, 7, 300, 512]
    assert sum(s[1] for s in slots if isinstance(s, tuple)) == 512 - 4
    assert shown_units(5, {2}) == [1, 2, 3, 4, 5]


def test_signed_numbers_keep_their_exponent_sign():
    from deltaprop.explanation.formula import _signed

    assert _signed(0.0) == " 0.000000e+00"
    assert _signed(-0.0) == " 0.000000e+00"
    assert _signed(-1.5e-7) == "−1.500000e−07"
    assert _signed(2.0e3) == " 2.000000e+03"


# ---------------------------------------------------------------------- bad input, named
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weight": (2, 1.7, 1)}, r"whole numbers, got 1\.7"),
        ({"weight": (2.0, 1, 1)}, r"whole numbers, got 2\.0"),
        ({"X": np.zeros((0, 4)), "D": np.zeros((0, 3))}, r"X has no samples \(0 rows\)"),
        ({"h": 0}, r"h must be a step > 0 for the central difference"),
        ({"h": float("nan")}, r"h must be a step > 0"),
        ({"alpha": -0.1}, r"alpha must be a number ≥ 0 \(the L2 strength\); got -0\.1"),
        ({"alpha": "abc"}, r"alpha must be a number ≥ 0 \(the L2 strength\); got 'abc'"),
        ({"max_paths": 0}, r"max_paths must be a whole number ≥ 1"),
        ({"max_paths": 2.5}, r"max_paths must be a whole number ≥ 1"),
        ({"sample": 3}, r"sample=3: the samples are numbered n = 1 … 2"),
        ({"sample": 0}, r"n = 1 … 2"),
        ({"lang": "fr"}, r"lang='fr' is not available; choose one of en, ja"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, message, rng):
    net = dp.Network([4, 5, 3], random_state=0)
    args = {"weight": (2, 1, 1), "X": rng.normal(size=(2, 4)), "D": rng.normal(size=(2, 3))}
    args.update(kwargs)
    weight, X, D = args.pop("weight"), args.pop("X"), args.pop("D")
    with pytest.raises(ValueError, match=message):
        dp.explain(net, weight, X, D, **args)


def test_numpy_integer_indices_are_whole_numbers(rng):
    net = dp.Network([4, 5, 3], random_state=0)
    X, D = rng.normal(size=(2, 4)), rng.normal(size=(2, 3))
    a = dp.explain(net, (np.int64(2), np.int32(1), 1), X, D)
    assert a.weight == (2, 1, 1) and a.value == dp.explain(net, "2:1,1", X, D).value


def test_the_walked_sample_is_the_one_chosen_and_the_value_stays_the_batch_gradient(rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    X, D = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    first, third = dp.explain(net, (2, 2, 1), X, D), dp.explain(net, (2, 2, 1), X, D, sample=3)
    assert first.value == third.value
    one = dp.explain(net, (2, 2, 1), X[2], D[2])  # sample 3 alone
    assert third.walked.delta[2][1] == pytest.approx(one.walked.delta[2][1], rel=1e-14)
    assert third.transpose.elementwise == pytest.approx(one.transpose.elementwise, rel=1e-14)
    text = third.to_text()
    assert f"{one.value:.6g}".replace("-", "−") in text and "(sample n = 3)" in text


def test_batch_table_rows_are_the_samples_and_their_weighted_mean_is_the_gradient(rng):
    from deltaprop.explanation.steps import steps

    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    X, D = rng.normal(size=(40, 4)), rng.normal(size=(40, 3))
    s = rng.uniform(0.5, 2.0, 40)
    ex = dp.explain(net, (3, 2, 1), X, D, alpha=0.3, sample_weight=s, sample=25)
    head, rows = steps(ex)[-1].tables[0]
    assert head == ["n", "z₁⁽²⁾", "δ₂⁽³⁾", "δ₂⁽³⁾ z₁⁽²⁾", "sₙ"]
    listed = [r for r in rows if r[0].lstrip("▶ ").isdigit()]
    assert ["▶ 25"] == [r[0] for r in listed if r[0].startswith("▶")]
    grads = net.gradients(X, D, alpha=0.3, sample_weight=s)
    f = net.forward(X)
    for r in listed:  # each row is that sample's δ_j, z_i, their product and its weight
        n = int(r[0].lstrip("▶ ")) - 1
        assert r[1] == pytest.approx(f.z[2][0, n], rel=1e-12)
        assert r[2] == pytest.approx(f.y[1, n] - D[n, 1], rel=1e-12)
        assert r[3] == pytest.approx(r[1] * r[2], rel=1e-12) and r[4] == s[n]
    mean, l2, total = rows[-3][3], rows[-2][3], rows[-1][3]
    assert mean == pytest.approx(np.sum(s * f.z[2][0] * (f.y[1] - D[:, 1])) / s.sum(), rel=1e-12)
    assert l2 == pytest.approx(0.3 * net.W[3][1, 0] / s.sum(), rel=1e-12)
    assert total == pytest.approx(grads.W[3][1, 0], rel=1e-10) and total == pytest.approx(
        mean + l2, rel=1e-14
    )


def test_bias_formula_reads_w_j0_and_the_plus_one(rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    text = dp.explain(net, (3, 2, 0), rng.normal(size=4), rng.normal(size=3)).to_text()
    assert "∂Eₙ/∂wⱼ₀⁽³⁾ = (yⱼ − dⱼ) · 1" in text  # the general line: w_j0 and the +1 unit's 1
    assert "∂Eₙ/∂wⱼᵢ" not in text
    assert "+1 (the bias unit)" in text and "w₂₀⁽³⁾ 1" in text


def test_deep_network_never_highlights_the_next_layers_bias_unit(rng):
    from deltaprop.explanation.diagram import step_svg

    net = dp.Network([10, 32, 32, 32, 3], activation="relu", random_state=1)
    ex = dp.explain(net, (2, 5, 3), rng.normal(size=(2, 10)), rng.normal(size=(2, 3)))
    for key in ("fanout", "link", "delta_hidden", "delta_next"):
        svg = step_svg(ex, key)
        for layer in (3, 4):
            assert f'class="unit bias" data-layer="{layer}" data-unit="0"' in svg, key  # drawn, not lit
            assert f'class="unit hl bias" data-layer="{layer}"' not in svg, key
        assert re.search(r'class="unit hl" data-layer="3" data-unit="\d+"', svg), key


def test_every_weight_shows_the_outer_product_with_its_cell_lit(rng):
    from deltaprop.explanation.pictures import outer_picture
    from deltaprop.explanation.steps import steps

    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    x, d = rng.normal(size=4), rng.normal(size=3)
    for weight in [(3, 2, 1), (3, 1, 0), (2, 4, 3)]:
        ex = dp.explain(net, weight, x, d)
        keys = [s.key for s in steps(ex)]
        assert keys[-2] == "outer"
        ((block,),) = [p.parts for p in outer_picture(ex)]
        lit = [(r, c) for r, row in enumerate(block.cells) for c, cell in enumerate(row) if cell.lit]
        l, j, i = weight
        assert lit == [(j - 1, i)]  # row j, column i (column 0 is the +1 unit)
        value = ex.walked.delta[l][j - 1] * (1.0 if i == 0 else ex.walked.z[l - 1][i - 1])
        assert block.cells[j - 1][i].text == f"{value:.4g}".replace("-", "−")
        assert value == pytest.approx(ex.value, rel=1e-12)


def test_batch_grid_is_the_batch_mean_beside_the_walked_samples_grid(rng):
    """On a batch the first grid is the gradient (its lit cell the batch mean of δ_j z_i, equal to
    backpropagation's), the second the walked sample's δ zᵀ; each says which it is."""
    from deltaprop.explanation.pictures import outer_picture

    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    X, D = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    ex = dp.explain(net, (3, 2, 1), X, D, sample=3)
    batch, walked = outer_picture(ex)
    assert "N = 6" in batch.caption and "n = 3" in walked.caption
    (grid,), (one,) = batch.parts, walked.parts
    lit = [c.text for row in grid.cells for c in row if c.lit]
    assert lit == [f"{ex.backprop:.4g}".replace("-", "−")]
    grads = net.gradients(X, D)
    assert grid.cells[0][0].text == f"{grads.b[3][0]:.4g}".replace("-", "−")  # the bias column too
    sample = ex.walked.delta[3][1] * ex.walked.z[2][0]
    assert [c.text for row in one.cells for c in row if c.lit] == [f"{sample:.4g}".replace("-", "−")]


def test_transpose_section_gives_shapes_both_faces_batch_and_row_forms(rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    X, D = rng.normal(size=(4, 4)), rng.normal(size=(4, 3))
    one = dp.explain(net, (3, 2, 1), X[:1], D[:1]).to_text()
    assert "δ⁽³⁾ is 3×1 and (z⁽²⁾)ᵀ is 1×5" in one and "3×6" in one and "bias column included" in one
    assert "(3×1)(5×1)" in one and "not defined" in one
    assert "∂Eₙ/∂W⁽³⁾ = δ⁽³⁾z⁽²⁾ᵀ" in one.replace(" ", "") or "Wᵀ δ" in one
    assert "coefs_[1]" in one and "Xᵀ Δ / N" in one and "Linear.weight" in one
    # the derivation's Σ_k with its k ≠ j terms at 0
    assert "δ₁⁽³⁾ · 0 + δ₂⁽³⁾ z₁⁽²⁾ + δ₃⁽³⁾ · 0" in one
    assert "Δ Zᵀ / N" not in one  # no batch on one sample
    assert "1/Σₙ" not in one.replace(" ", "")  # one sample: no mean to write
    batch = dp.explain(net, (2, 2, 1), X, D)
    text = batch.to_text()
    assert "Δ⁽²⁾ is 5×4" in text and "Δ Zᵀ / N" in text
    total = float(np.sum(batch.derivation.per_sample))
    assert f"{total:.6f}".replace("-", "−")[:7] in text


def test_hidden_weight_shows_column_j_meeting_delta(rng):
    from deltaprop.explanation.pictures import column_picture

    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    ex = dp.explain(net, (2, 4, 1), rng.normal(size=4), rng.normal(size=3))
    W, d = net.W[3], ex.walked.delta[3]
    grid, _, deltas, _, products = column_picture(ex).parts
    assert all(row[3].lit and sum(c.lit for c in row) == 1 for row in grid.cells)  # column j = 4
    assert [row[0].text for row in deltas.cells] == [f"{v:.4g}".replace("-", "−") for v in d]
    total = products.footer[0].text
    assert total == "Σₖ = " + f"{W[:, 3] @ d:.4g}".replace("-", "−")
    assert W[:, 3] @ d == pytest.approx(ex.transpose.elementwise, rel=1e-12)


def test_large_layers_are_elided_around_the_lit_cell(rng):
    from deltaprop.explanation.pictures import outer_picture

    net = dp.Network([64, 64, 64, 10], activation="tanh", random_state=0)
    ex = dp.explain(net, (3, 40, 17), rng.normal(size=64), rng.normal(size=10))
    (picture,) = outer_picture(ex)
    (block,) = picture.parts
    assert len(block.cells) <= 10 and len(block.cells[0]) <= 11
    assert sum(c.lit for row in block.cells for c in row) == 1
    assert any(h.startswith("⋮") for h in block.row_heads) and "…" in block.col_heads
    (narrow,) = picture.narrow.parts  # for a phone: fewer cells, the same lit one
    assert len(narrow.cells) <= 6 and len(narrow.cells[0]) <= 7
    lit = [c.text for row in narrow.cells for c in row if c.lit]
    assert lit == [c.text for row in block.cells for c in row if c.lit]


def test_multi_output_sklearn_regressor_states_the_8349_convention(rng):
    from sklearn.neural_network import MLPRegressor

    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    est = _fit(MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X, Y)
    ex = dp.explain(est, (3, 1, 2), X[:3], Y[:3])
    assert ex.outputs_summed
    assert "scikit-learn issue #8349" in ex.to_html() and "2 times the derivative" in ex.to_html()
    single = _fit(MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X, Y[:, 0])
    assert not dp.explain(single, (3, 1, 2), X[:3], Y[:3, :1]).outputs_summed


def test_polish_one_sample_readable_title_and_no_negative_zero(rng):
    net = dp.Network([4, 5, 3], activation="relu", random_state=0)
    net.b[2][:] = -50.0  # every hidden unit off: z = 0 and δ = −0.0 would print as "−0"
    ex = dp.explain(net, (3, 2, 1), rng.normal(size=4), rng.normal(size=3))
    text, html = ex.to_text(), ex.to_html()
    assert "1 samples" not in text and "1 sample" in text and "1 samples" not in html
    assert "Network([" not in text.splitlines()[0] and "Network([" not in html
    assert "4-5-3 (relu hidden layers, identity output, squared_error)" in text.splitlines()[0]
    assert "−0 " not in text and "−0)" not in text and not re.search(r"−0(?![.\d])", text)
    assert "1 sample" in repr(ex) and "1 samples" not in repr(ex)


@pytest.mark.parametrize("loss", ["absolute_error", "huber", "quantile"])
def test_robust_losses_are_explained_through_the_general_output_delta(loss, rng):
    net = dp.Network([3, 4, 2], activation="tanh", loss=loss, random_state=0)
    X, D = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    for weight in [(2, 1, 1), (3, 2, 0)]:
        ex = dp.explain(net, weight, X, D)
        grads = net.gradients(X, D)
        l, j, i = weight
        assert ex.value == pytest.approx(grads.b[l][j - 1] if i == 0 else grads.W[l][j - 1, i - 1], rel=1e-12)
        assert "not a canonical pair" in ex.to_text()
    net.loss_params = {"huber": {"epsilon": 0.5}, "quantile": {"quantile": 0.9}}.get(loss, {})
    text = dp.explain(net, (3, 2, 1), X, D).to_text()
    slope = {
        "absolute_error": "sign (y₂ − d₂)",
        "huber": "clip (y₂ − d₂ , −ε, ε)",
        "quantile": "1[y > d] − τ",
    }
    assert f"∂Eₙ/∂y₂ = {slope[loss]}" in text
    assert {"absolute_error": "(y = d: 0)", "huber": "ε = 0.5", "quantile": "τ = 0.9"}[loss] in text


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[3]}")
def test_vectorised_elementwise_formulas_equal_the_per_sample_oracle(case, rng):
    """explain's element-wise pass over all samples at once against core.derivation, sample by sample."""
    sizes, act, out, loss = case
    net = dp.Network(sizes, activation=act, output=out, loss=loss, random_state=5)
    X, D = rng.normal(size=(4, sizes[0])), _targets(rng, loss, 4, sizes[-1])
    weight = _random_weight(rng, net)
    batch = dp.explain(net, weight, X, D).derivation
    oracle = dp.derive(net, weight, X, D)
    for n, sd in enumerate(oracle.samples):
        for m in net.layers:
            assert np.allclose(batch.u[m][:, n], sd.u[m], rtol=1e-13, atol=1e-15)
            assert np.allclose(batch.z[m][:, n], sd.z[m], rtol=1e-13, atol=1e-15)
            assert np.allclose(batch.delta[m][:, n], sd.delta[m], rtol=1e-11, atol=1e-14)
    assert np.allclose(batch.per_sample, oracle.per_sample, rtol=1e-11, atol=1e-14)
    assert batch.value == pytest.approx(oracle.value, rel=1e-11, abs=1e-14)


def test_a_fixed_dropout_mask_keeps_the_three_values_equal_and_the_page_greys_dropped_units(rng):
    net = dp.Network([3, 5, 4, 2], activation="tanh", random_state=2)
    X, D = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    mask = {2: np.array([[2.0, 0.0, 2.0, 2.0, 0.0]] * 4), 3: net.dropout_mask(0.5, 4, random_state=1)[3]}
    mask[3][0] = [0.0, 2.0, 2.0, 0.0]  # the walked sample n = 1 drops units 1 and 4 of layer 3
    for weight in [(2, 1, 2), (3, 2, 1), (4, 1, 3)]:
        ex = dp.explain(net, weight, X, D, dropout_mask=mask)
        grads = net.gradients(X, D, dropout_mask=mask)
        l, j, i = weight
        assert ex.value == pytest.approx(grads.b[l][j - 1] if i == 0 else grads.W[l][j - 1, i - 1], rel=1e-11)
        assert ex.numerical == pytest.approx(ex.value, rel=1e-5, abs=1e-8)
        paths = sum(p.contribution for p in ex.paths)
        assert paths == pytest.approx(ex.value - ex.derivation.l2_term, abs=1e-12)
    # without the mask the gradient is another number: the mask is really used
    plain = dp.explain(net, (2, 1, 2), X, D).value
    assert plain != pytest.approx(dp.explain(net, (2, 1, 2), X, D, dropout_mask=mask).value)
    ex = dp.explain(net, (3, 2, 1), X, D, dropout_mask=mask)
    assert "m₂⁽³⁾ f′(u₂⁽³⁾) Σₖ" in ex.to_text()
    html = ex.to_html()
    dropped = set(re.findall(r'<g class="unit[^"]* dropped" data-layer="(\d+)" data-unit="(\d+)"', html))
    assert dropped == {("2", "2"), ("2", "5"), ("3", "1"), ("3", "4")}


def test_estimator_fitted_on_a_dataframe_names_its_units_by_column_and_class(rng):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=["height", "weight", "age"])
    labels = np.array(["low", "mid", "high"])[rng.integers(0, 3, 30)]
    est = _fit(dp.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0), frame, labels)
    ex = dp.explain(est, (2, 1, 2), frame.to_numpy()[:3], labels[:3])
    assert ex.inputs == ["height", "weight", "age"] and ex.outputs == ["high", "low", "mid"]
    text = ex.to_text()
    assert "unit 2 (weight) of layer 1" in text and "3 (mid)" in text
    html = ex.to_html()
    assert ">weight</text>" in html and ">mid</text>" in html  # the diagram's cards


def test_japanese_holds_to_the_textbooks_terms(rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    X, D = rng.normal(size=(2, 4)), rng.normal(size=(2, 3))
    for weight in [(2, 2, 1), (3, 1, 2)]:
        text = dp.explain(net, weight, X, D, lang="ja").to_text()
        for english in (
            "chain rule の",
            "identity",
            "squared_error",
            "正準",
            "死 ",
            "行き先",
            "その先",
            "届く道",
            "平ら",
            "赤い枠",
        ):
            assert english not in text, english
        for word in (
            "連鎖律",
            "恒等写像",
            "自乗誤差",
            "転置",
            "重み",
            "バイアス",
            "中間層",
            "出力層",
            "経路",
        ):
            assert word in text, word


def test_one_weighted_sample_writes_its_l2_term_over_its_weight():
    """N = Σ_n s_n: one sample of weight 2 has the L2 term α/s_1 w, not α/1 w; weight 1 writes 1."""
    net = dp.Network([2, 3, 2], activation="tanh", random_state=0)
    X, D = np.ones((1, 2)), np.zeros((1, 2))
    heavy = dp.explain(net, "2:1,1", X, D, alpha=1.0, sample_weight=[2.0])
    assert heavy.l2_term == pytest.approx(net.W[2][0, 0] / 2) and "α/1" not in heavy.to_text()
    assert "α/1" in dp.explain(net, "2:1,1", X, D, alpha=1.0).to_text()
