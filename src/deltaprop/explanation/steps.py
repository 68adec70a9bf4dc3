"""The derivation of one weight's gradient as a list of :class:`Step`, one function per step,
in the derivation's order (:func:`steps`); the text, LaTeX and HTML renderers draw them alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop.explanation.diagram import relevant_units, shown_units
from deltaprop.explanation.formula import (
    EQ,
    LETTERS,
    MINUS,
    PLUS,
    TIMES,
    Apply,
    E,
    En,
    Frac,
    Line,
    Node,
    Note,
    Num,
    Op,
    Paren,
    Partial,
    Seq,
    Step,
    Sub,
    Sum,
    Sym,
    Vec,
    Word,
    delta,
    fprime,
    idx,
    lay,
    u,
    w,
    z,
)
from deltaprop.explanation.pictures import column_picture, outer_picture
from deltaprop.explanation.words import prose, say, term

if TYPE_CHECKING:
    from deltaprop.core.derivation import SampleDerivation
    from deltaprop.explanation.core import Explanation, Path

__all__ = ["steps", "final_formula", "path_label", "path_rows", "forward_tables", "Walk"]


@dataclass
class Walk:
    """One explanation as the steps walk it: its walked sample and the language."""

    ex: Explanation
    lang: str = "en"
    n: int = field(init=False)  # the walked sample (0-based) and its derivation
    s: SampleDerivation = field(init=False)
    many: bool = field(init=False)
    #: "(sample n = …)" after a number of the walked sample, nothing for a single sample
    tag: Node = field(init=False)

    def __post_init__(self) -> None:
        self.n, self.s, self.many = self.ex.n, self.ex.walked, self.ex.n_samples > 1
        tag = self.say("tag.sample", sample=self.ex.sample_name(self.lang))
        self.tag = Note(tag) if self.many else Word("")

    def named(self, layer: int, k: int, value: bool = True) -> list[Node]:
        """Notes after unit k's number: the user's name of the unit, and the table's raw value."""
        name, raw = self.ex.unit_name(layer, k), self.ex.raw_value(layer, k) if value else None
        notes: list[Node] = [Note(f"({name})")] if name else []
        return notes + ([] if raw is None else [Note(self.say("tag.raw", value=raw))])

    def say(self, key: str, **values: Any) -> str:
        return say(self.lang, key, **values)

    def term(self, name: str) -> str:
        return term(self.lang, name)

    def prose(self, key: str, **values: Any) -> list:
        return prose(self.lang, key, **values)


# ---------------------------------------------------------------------- closed forms
def _output_delta_symbolic(ex: Explanation, k: int | str, seed_style: bool) -> Node:
    """δ_k^(L) as the canonical pair writes it: y_k − d_k (u_k^(L) − d_k for an identity output)."""
    net, L = ex.net, ex.L
    if net.loss_name == "squared_error" and net.output == "identity" and seed_style:
        return Paren(Seq(u(k, L), MINUS, Sym("d", str(k))))
    return Paren(Seq(Sym("y", str(k)), MINUS, Sym("d", str(k))))


def _delta_expr(ex: Explanation, layer: int, unit: int | str, depth: int, seed_style: bool = True) -> Node:
    """δ_unit^(layer) expanded to the output, with summation letters, as a Seq."""
    net, L = ex.net, ex.L
    if layer == L:
        if ex.canonical:
            return _output_delta_symbolic(ex, unit, seed_style)
        if net.output == "softmax":
            return delta(unit, L)
        return Seq(fprime(u(unit, L)), Partial(En, Sym("y", str(unit))))
    k = LETTERS[depth] if depth < len(LETTERS) else f"k{depth}"
    return Seq(
        fprime(u(unit, layer)), Sum(k, Seq(w(k, unit, layer + 1), _delta_expr(ex, layer + 1, k, depth + 1)))
    )


def final_formula(ex: Explanation, concrete: bool = True) -> Line:
    """∂E_n/∂w_ji^(l) in closed form: (y_j − d_j) z_i^(L−1), or the hidden form; w_j0 · 1 for a bias."""
    l = ex.l
    bias = ex.i == 0
    j: int | str = ex.j if concrete else "j"
    i: int | str = ex.i if concrete else ("0" if bias else "i")
    lhs = Partial(En, w(j, i, l) if concrete else Sym("w", "j" + str(i), lay(l)))
    d = _delta_expr(ex, l, j, 0, seed_style=l != ex.L)
    items = list(d.items) if isinstance(d, Seq) else [d]
    if not bias:
        return Line(lhs, [Seq(*items, z(i, l - 1))])
    # the bias's far end is the +1 unit: the general line shows its 1, the concrete one drops it
    return Line(lhs, [Seq(*items) if concrete else Seq(*items, Op("·"), Sym("1"))])


def _vector(values: Any, limit: int = 8) -> Node:
    """(v_1, v_2, …) with four digits, the first ``limit`` entries and the count of the rest."""
    vals = [float(v) for v in values]
    items: list[Node] = [Op("(")]
    for n, v in enumerate(vals[:limit]):
        items += [Op(","), Num(v, 4)] if n else [Num(v, 4)]
    if len(vals) > limit:
        items += [Op(","), Op("…"), Word(f"({len(vals) - limit})")]
    return Vec(*items, Op(")"))


#: rows of the table of the terms w_kj δ_k shown before the middle is elided
TABLE_ROWS = 12


# ---------------------------------------------------------------------- the steps
def step_weight(walk: Walk) -> Step:
    """∂E_n/∂w_ji = ∂E_n/∂u_j ∂u_j/∂w_ji = δ_j ∂u_j/∂w_ji: the weight reaches E only through u_j."""
    ex = walk.ex
    l, j, i = ex.l, ex.j, ex.i
    wt, dudw = w(j, i, l), Partial(u(j, l), w(j, i, l))
    src = ex.unit_label(l - 1, i) if i else walk.say("bias_unit")
    line = Line(Partial(En, wt), [Seq(Partial(En, u(j, l)), dudw), Seq(delta(j, l), dudw)])
    text = walk.prose("weight.prose", wt=wt, src=src, lp=l - 1, j=ex.unit_label(l, j), l=l, uj=u(j, l))
    return Step("weight", walk.prose("weight.title", wt=wt), text, [line])


def step_input(walk: Walk) -> Step:
    """∂u_j/∂w_ji = z_i^(l−1) (1 for the bias): one term of u_j's sum survives."""
    ex = walk.ex
    l, j, i = ex.l, ex.j, ex.i
    wt = w(j, i, l)
    total = Seq(
        Sum("i′", Seq(Sym("w", f"{j}i′", lay(l)), Sym("z", "i′", lay(l - 1)))),
        PLUS,
        Seq(w(j, 0, l), Sym("1")),
    )
    rhs_i: Node = Sym("1") if i == 0 else z(i, l - 1)
    value = [] if i == 0 else [Num(walk.s.z[l - 1][i - 1]), walk.tag, *walk.named(l - 1, i)]
    numbers = [Line(z(i, l - 1), value)] if value else []
    text = walk.prose("input.prose_bias" if i == 0 else "input.prose", uj=u(j, l), j=j, wt=wt, zi=rhs_i)
    lines = [Line(Partial(u(j, l), wt), [Partial(Paren(total), wt), rhs_i])]
    return Step("input", walk.prose("input.title", dudw=Partial(u(j, l), wt)), text, lines, numbers)


def _delta_out_lines(walk: Walk) -> tuple[list[Line], list]:
    """The lines and the prose of δ_j^(L): y_j − d_j for a canonical pair, else the chain rule."""
    ex, net, L, j = walk.ex, walk.ex.net, walk.ex.L, walk.ex.j
    if ex.canonical:
        lines = [Line(delta(j, L), [Partial(En, u(j, L)), Seq(Sym("y", str(j)), MINUS, Sym("d", str(j)))])]
        return lines, [walk.say("delta_out.canonical") + walk.say("reason." + walk.ex.net.loss_name)]
    if net.output == "softmax":
        one_minus = Paren(Seq(Word("1[k=j]"), MINUS, Sym("y", str(j))))
        jacobian = Seq(Partial(En, Sym("y", "k")), Sym("y", "k"), one_minus)
        lines = [Line(delta(j, L), [Partial(En, u(j, L)), Sum("k", jacobian)])]
        return lines, [walk.say("delta_out.softmax", loss=walk.term(net.loss_name))]
    general = Seq(fprime(u(j, L)), Partial(En, Sym("y", str(j))))
    robust = _robust_dE_dy(net, j)
    lines = [Line(delta(j, L), [Partial(En, u(j, L)), general])] + ([robust] if robust else [])
    return lines, [walk.say("delta_out.general", out=walk.term(net.output), loss=walk.term(net.loss_name))]


def _robust_dE_dy(net: Any, j: int) -> Line | None:
    """∂E_n/∂y_j of a robust loss, with its ε or τ; at the kink y_j = d_j the slope taken is 0."""
    r = Seq(Sym("y", str(j)), MINUS, Sym("d", str(j)))
    params = net.loss_params
    if net.loss_name == "absolute_error":
        rhs: list = [Seq(Word("sign"), Paren(r)), Note("(y = d: 0)")]
    elif net.loss_name == "huber":
        rhs = [Seq(Word("clip"), Paren(Seq(r, Word(", −ε, ε")))), Note(f"ε = {params['epsilon']:g}")]
    elif net.loss_name == "quantile":
        rhs = [Seq(Word("1[y > d]"), MINUS, Sym("τ")), Note(f"τ = {params['quantile']:g}; y = d: 0")]
    else:
        return None
    return Line(Partial(En, Sym("y", str(j))), rhs)


def step_delta_out(walk: Walk) -> Step:
    """δ_j^(L) = ∂E_n/∂u_j^(L): y_j − d_j for the canonical output/loss pairs."""
    ex, L, j, s = walk.ex, walk.ex.L, walk.ex.j, walk.s
    d_j, y_j, d = s.delta[L][j - 1], s.z[L][j - 1], s.d[j - 1]
    lines, text = _delta_out_lines(walk)
    d_node: Node = Paren(Num(d)) if d < 0 else Num(d)  # y − (−0.5), never y − −0.5
    value: Node = Seq(Num(y_j), MINUS, d_node) if ex.canonical else Num(d_j)
    lines.append(Line(None, [value, Num(d_j), walk.tag]))
    numbers = [
        Line(Sym("y", str(j)), [Num(y_j), walk.tag, *walk.named(L, j, value=False)]),
        Line(Sym("d", str(j)), [Num(d), walk.tag, *walk.named(L, j)]),
    ]
    return Step("delta_out", walk.prose("delta_out.title", dj=delta(j, L)), text, lines, numbers)


def step_fanout(walk: Walk) -> Step:
    """δ_j^(l) = Σ_k ∂E_n/∂u_k^(l+1) ∂u_k^(l+1)/∂u_j^(l): u_j feeds every unit of layer l+1."""
    ex = walk.ex
    l, j, k = ex.l, ex.j, "k"
    chain = Sum(k, Seq(Partial(En, u(k, l + 1)), Partial(u(k, l + 1), u(j, l))))
    title = walk.prose("fanout.title", dj=delta(j, l), uj=u(j, l), l1=l + 1)
    text = walk.prose("fanout.prose", wkj=w(k, j, l + 1), n=ex.net.sizes[l], uj=u(j, l), l1=l + 1)
    return Step("fanout", title, text, [Line(delta(j, l), [Partial(En, u(j, l)), chain])])


def step_link(walk: Walk) -> Step:
    """∂u_k^(l+1)/∂u_j^(l) = w_kj^(l+1) f′(u_j^(l)): one term of u_k's sum survives."""
    ex = walk.ex
    l, j, k = ex.l, ex.j, "k"
    inner = Sum("j′", Seq(w(k, "j′", l + 1), Apply(Sym("f"), Sym("u", "j′", lay(l)))))
    wf, dukduj = Seq(w(k, j, l + 1), fprime(u(j, l))), Partial(u(k, l + 1), u(j, l))
    lines = [Line(dukduj, [Partial(Paren(inner), u(j, l)), wf])]
    numbers = [Line(fprime(u(j, l)), [Num(walk.s.fprime[l][j - 1]), walk.tag])]
    text = walk.prose("link.prose", j=j, uj=u(j, l))
    return Step("link", walk.prose("link.title", dukduj=dukduj, wf=wf), text, lines, numbers)


def _transpose_table(walk: Walk) -> tuple[list[str], list[list]]:
    """Rows (k, w_kj, δ_k, w_kj δ_k, batch mean of w_kj δ_k) of the walked sample."""
    ex, l, j = walk.ex, walk.ex.l, walk.ex.j
    W_next = ex.net.W[l + 1]
    rows: list[list] = []
    for slot in shown_units(W_next.shape[0], (), limit=TABLE_ROWS):
        if isinstance(slot, tuple):
            rows.append([f"⋮ {slot[1]}"] + [""] * (4 if walk.many else 3))
            continue
        k, wk, dk, product = ex.transpose.terms[slot - 1]  # the walked sample's, as the check summed them
        mean = ex.batch_mean(wk * ex.derivation.delta[l + 1][k - 1])
        rows.append([str(k), wk, dk, product] + ([mean] if walk.many else []))
    tag = f" ({ex.sample_name(walk.lang)})" if walk.many else ""
    head = ["k", w("k", j, l + 1).text(), delta("k", l + 1).text() + tag, walk.say("col.product") + tag]
    return head + ([walk.say("col.product_mean")] if walk.many else []), rows


def step_delta_hidden(walk: Walk) -> Step:
    """δ_j^(l) = f′(u_j^(l)) Σ_k w_kj^(l+1) δ_k^(l+1) = f′(u_j) ((W^(l+1))ᵀ δ^(l+1))_j, with numbers."""
    ex, s, tr = walk.ex, walk.s, walk.ex.transpose
    l, j, k = ex.l, ex.j, "k"
    assert tr.matrix_row is not None and tr.elementwise is not None  # a hidden weight's transpose
    Wt, d_next = Sym("W", "", f"({l + 1})T"), Sym("δ", "", lay(l + 1))
    matrix = Seq(Sym("δ", "", lay(l)), EQ, fprime(Sym("u", "", lay(l))), Op("⊙"), Wt, d_next)
    elementwise = Sum(k, Seq(w(k, j, l + 1), delta(k, l + 1)))
    row_note = walk.say("note.matrix_row", j=j, n=walk.say("note.n", n=walk.n + 1) if walk.many else "")
    # dropout: the kept unit's mask m_j ∈ {0, 1/(1−p)} multiplies f′ (a dropped unit passes no δ)
    mask: list = [Sym("m", str(j), lay(l))] if l in s.mask else []
    mask_num: list = [Num(s.mask[l][j - 1]), TIMES] if l in s.mask else []
    numbers = Seq(*mask_num, _factor(s.fprime[l][j - 1]), TIMES, _factor(tr.elementwise))
    value = [Seq(*mask, fprime(u(j, l)), elementwise), numbers, Num(s.delta[l][j - 1]), walk.tag]
    lines = [
        Line(delta(j, l), value),
        Line(Sub(Paren(Seq(Wt, d_next)), str(j)), [Num(tr.matrix_row, 15), Note(row_note)]),
        Line(elementwise, [Num(tr.elementwise, 15), Note(walk.say("note.elementwise", n=ex.net.sizes[l]))]),
    ]
    checked = [Line(Word(walk.say("largest_difference")), [Num(tr.max_difference, 3)])]
    formula = Seq(*mask, fprime(u(j, l)), Sum("k", Seq(w("k", j, l + 1), delta("k", l + 1))))
    title = walk.prose("delta_hidden.title", dj=delta(j, l), formula=formula)
    Wn = Sym("W", "", lay(l + 1))
    text = walk.prose("delta_hidden.prose", matrix=matrix, j=j, Wn=Wn, wkj=w(k, j, l + 1))
    picture = column_picture(ex)
    picture.caption = walk.say("column.caption", j=j, Wn=Wn, dn=d_next, WT=Wt)
    return Step("delta_hidden", title, text, lines, checked, [_transpose_table(walk)], [picture])


def _factor(v: float) -> Node:
    """A number as a factor: (−0.59165), never × −0.59165."""
    return Paren(Num(v)) if v < 0 else Num(v)


def _vanishing_sum(walk: Walk) -> Line:
    """∂E_n/∂w_ji = Σ_k δ_k ∂u_k/∂w_ji with the k ≠ j terms written as 0, in symbols and numbers."""
    ex, der, n = walk.ex, walk.ex.derivation, walk.n
    l, j, i = ex.l, ex.j, ex.i
    wt = w(j, i, l)
    zi: Node = Sym("1") if i == 0 else z(i, l - 1)
    shown = [k for k in shown_units(ex.net.sizes[l - 1], {j}, limit=5) if not isinstance(k, tuple)]
    symbols: list[Node] = []
    values: list[Node] = []
    for t, k in enumerate(shown):
        if t:
            plus: list[Node] = [PLUS, Op("…"), PLUS] if k != shown[t - 1] + 1 else [PLUS]
            symbols, values = symbols + plus, values + plus
        if k == j:
            symbols.append(Seq(delta(j, l), zi))
            values.append(Seq(_factor(der.delta_j[n]), TIMES, _factor(der.z_in[n])))
        else:
            symbols.append(Seq(delta(k, l), Op("·"), Sym("0")))
            values.append(Sym("0"))
    total = Sum("k", Seq(delta("k", l), Partial(u("k", l), wt)))
    return Line(Partial(En, wt), [total, Seq(*symbols), Seq(*values), Num(der.per_sample[n]), walk.tag])


def _transpose_rows(walk: Walk) -> list[Line]:
    """The transpose answered in words and sizes: shapes, what fails without it, the rule's two
    faces, the batch form Δ Zᵀ / N and the row-vector form of scikit-learn and PyTorch."""
    ex, l = walk.ex, walk.ex.l
    n, m, N = ex.net.sizes[l - 1], ex.net.sizes[l - 2], ex.n_samples
    d_vec, z_vec = Sym("δ", "", lay(l)), Sym("z", "", lay(l - 1))
    zT, W = Sym("z", "", f"({l - 1})T"), Sym("W", "", lay(l))
    sizes = {"n": n, "m": m, "m1": m + 1, "N": N, "c": l - 2, "l": Sym("", "", lay(l)).text()}
    sizes["lp"] = Sym("", "", lay(l - 1)).text()
    # X is the input table only for l = 2; further on it is layer l − 1's activations
    sizes["X"] = walk.say("tr.x_input" if l == 2 else "tr.x_hidden", lp=sizes["lp"], layer=l - 1)
    WT = Sym("W", "", f"({l})T")
    faces = [Seq(Partial(En, W), EQ, d_vec, zT), Seq(Partial(En, z_vec), EQ, WT, d_vec)]
    rows = [
        Line(Word(walk.say("tr.shapes", **sizes)), [Seq(d_vec, zT)]),
        Line(Word(walk.say("tr.without", **sizes)), [Seq(d_vec, z_vec)]),
        Line(Word(walk.say("tr.faces", **sizes)), faces),
    ]
    if walk.many:
        tr, weights = ex.transpose, ex.sample_weight
        total = float(weights @ ex.derivation.per_sample)
        key = "tr.batch" if np.all(weights == 1.0) else "tr.batch_weighted"
        batch = Seq(Num(total), Op("/"), Num(ex.N, 6))
        rows.append(Line(Word(walk.say(key, **sizes)), [batch, Num(tr.outer_matrix, 12)]))
        rows.append(Line(Word(walk.say("outer.batch_elementwise")), [Num(tr.outer_elementwise, 12)]))
    row_form = Seq(Sym("X", "", "T"), Sym("Δ"), Op("/"), Sym("N"))
    rows.append(Line(Word(walk.say("tr.rows", **sizes)), [row_form]))
    return rows


def step_outer(walk: Walk) -> Step:
    """∂E_n/∂W^(l) = δ^(l) (z^(l−1))ᵀ: every weight of the layer at once, cell (j, i) lit, and the
    transpose answered: shapes, the two faces of u = W z, the batch and the row-vector forms."""
    ex, der, n = walk.ex, walk.ex.derivation, walk.n
    l, j, i = ex.l, ex.j, ex.i
    W_sym, d_vec, z_vec = Sym("W", "", lay(l)), Sym("δ", "", lay(l)), Sym("z", "", lay(l - 1))
    zT = Sym("z", "", f"({l - 1})T")
    outer = Seq(d_vec, zT)
    zi: Node = Sym("1") if i == 0 else z(i, l - 1)
    numbers = Seq(_factor(der.delta_j[n]), TIMES, _factor(der.z_in[n]))
    value = [Seq(delta(j, l), zi), numbers, Num(der.per_sample[n]), walk.tag]
    entry = Line(Sub(Paren(outer), idx(j, i)), value)
    lines = [Line(Partial(En, W_sym), [outer]), entry, _vanishing_sum(walk)]
    general = Seq(Sym("δ", "j", lay(l)), Sym("z", "i", lay(l - 1)))
    n_l, m = ex.net.sizes[l - 1], ex.net.sizes[l - 2] + 1
    k = 3 if ex.l == ex.L else 6
    text = walk.prose("outer.prose", k=k, W=W_sym, n=n_l, m=m, gen=general, dl=d_vec, zT=zT, zl=z_vec)
    lit = "outer.lit_batch" if walk.many else "outer.lit"
    text += walk.prose(lit, sample=ex.sample_name(walk.lang), N=ex.n_samples)
    title = walk.prose("outer.title", dEdW=Partial(En, W_sym), outer=outer)
    return Step("outer", title, text, lines, _transpose_rows(walk), pictures=outer_picture(ex, walk.lang))


def step_delta_next(walk: Walk) -> Step:
    """δ^(l+1) … δ^(L): each found the same way, down to the output layer's y − d."""
    ex, net, l, L = walk.ex, walk.ex.net, walk.ex.l, walk.ex.L
    vectors = [Line(Sym("δ", "", lay(m)), [_vector(walk.s.delta[m]), walk.tag]) for m in range(l + 1, L + 1)]
    if l + 1 == L:
        dk = _output_delta_symbolic(ex, "k", True) if ex.canonical else None
        general = Seq(fprime(u("k", L)), Partial(En, Sym("y", "k")))
        first = Line(delta("k", L), [Partial(En, u("k", L)), dk.body if isinstance(dk, Paren) else general])
        if ex.canonical:
            text = [walk.say("delta_next.output") + walk.say("reason." + walk.ex.net.loss_name)]
        else:
            out, loss = walk.term(net.output), walk.term(net.loss_name)
            text = [walk.say("delta_next.output_general", out=out, loss=loss)]
        title = walk.prose("delta_out.title", dj=delta("k", L))
    else:
        nxt = Sum("m", Seq(w("m", "k", l + 2), delta("m", l + 2)))
        first = Line(delta("k", l + 1), [Seq(fprime(u("k", l + 1)), nxt)])
        rule = walk.say("rule.canonical" if ex.canonical else "rule.general")
        text = walk.prose("delta_next.deeper", dk=delta("k", l + 1), rule=rule)
        title = walk.prose("delta_next.title", dk=delta("k", l + 1), dL=Sym("δ", "", lay(L)))
    return Step("delta_next", title, text, [first] + vectors)


def step_total(walk: Walk) -> Step:
    """The closed form, its value on the walked sample, and the batch mean (+ the L2 term)."""
    ex = walk.ex
    wt = w(ex.j, ex.i, ex.l)
    lines = [final_formula(ex, concrete=False), final_formula(ex, concrete=True)]
    lines.append(Line(None, [Num(ex.derivation.per_sample[walk.n]), walk.tag]))
    s_sym = Sym("s", "n")
    # one sample: the gradient is that sample's ∂E_n/∂w, with no mean to write
    mean = Seq(Frac(Sym("1"), Sum("n", s_sym)), Sum("n", Seq(s_sym, Partial(En, wt))))
    batch: Node = mean if walk.many else Partial(En, wt)
    l2 = bool(ex.alpha and ex.i)
    if l2:
        # N = Σ_n s_n, also for one sample of weight s_1 ≠ 1 (the gradient is then ∂E_n/∂w + α/s_1 w)
        N = Sum("n", s_sym) if walk.many or ex.N != 1 else Sym("1")
        batch = Seq(batch, PLUS, Frac(Sym("α"), N), wt)
    lines.append(Line(Partial(E, wt), [batch, Num(ex.value, 12)]))
    checks = [("elementwise", ex.value, 12), ("backprop", ex.backprop, 12), ("numerical", ex.numerical, 12)]
    # the short names of the checks: a longer one would not fit one row of LaTeX's align*
    numbers = [Line(Word(walk.say(f"check.{key}", h=f"{ex.h:g}")), [Num(v, d)]) for key, v, d in checks]
    numbers.append(Line(Word(walk.say("check.relative_error")), [Num(ex.relative_error, 2)]))
    text = walk.say("total.prose", N=ex.n_samples) if walk.many else walk.say("total.prose_one")
    if l2:
        text = text.rstrip(":") + walk.say("total.l2", alpha=f"{ex.alpha:g}")
    tables = [_batch_table(walk)] if walk.many else []
    return Step("paths", walk.prose("total.title"), [text], lines, numbers, tables)


#: rows of the per-sample table listed before the middle is elided
BATCH_ROWS = 16


def _batch_table(walk: Walk) -> tuple[list[str], list[list]]:
    """(n, z_i, δ_j, δ_j z_i, s_n) per sample, then the weighted mean, the L2 term and the gradient."""
    ex, der, N = walk.ex, walk.ex.derivation, walk.ex.n_samples
    ends = set(range(BATCH_ROWS // 2)) | set(range(N - BATCH_ROWS // 4, N)) | {walk.n}
    shown = list(range(N)) if N <= BATCH_ROWS else sorted(ends)
    rows: list[list] = []
    for t, n in enumerate(shown):
        if t and n != shown[t - 1] + 1:
            rows.append(["⋮", "", "", "", ""])
        name = str(ex.rows[n]) if ex.rows is not None else str(n + 1)
        label = f"▶ {name}" if n == walk.n else name
        rows.append([label, der.z_in[n], der.delta_j[n], der.per_sample[n], ex.sample_weight[n]])
    rows.append([walk.say("batch.mean"), "", "", ex.batch_mean(der.per_sample), ""])
    if ex.l2_term:
        rows.append([walk.say("batch.l2"), "", "", ex.l2_term, ""])
    rows.append([walk.say("batch.total"), "", "", ex.value, ""])
    zi = "1" if ex.i == 0 else z(ex.i, ex.l - 1).text()
    dj = delta(ex.j, ex.l).text()
    first = walk.say("col.row" if ex.rows is not None else "col.n")
    return [first, zi, dj, f"{dj} {zi}", walk.say("col.s")], rows


def steps(ex: Explanation, lang: str = "en") -> list[Step]:
    """The derivation for ``ex`` as a list of :class:`Step`, walking its sample ``ex.n``."""
    walk = Walk(ex, lang)
    if ex.l == ex.L:
        middle = [step_delta_out(walk)]
    else:
        middle = [step_fanout(walk), step_link(walk), step_delta_hidden(walk), step_delta_next(walk)]
    return [step_weight(walk), step_input(walk), *middle, step_outer(walk), step_total(walk)]


def forward_tables(ex: Explanation, lang: str = "en") -> list[tuple[str, list[str], list[list]]]:
    """Per layer (title, head, rows): unit j, u_j, z_j, f′(u_j), δ_j of the walked sample."""
    s = ex.walked
    rel = relevant_units(ex)
    out = []
    for layer in range(1, ex.L + 1):
        n_units = ex.net.sizes[layer - 1]
        slots = shown_units(n_units, rel.get(layer, ()), limit=16)
        rows: list[list] = []
        raw = ex.raw is not None and layer in (1, ex.L)
        fp = s.fprime.get(layer)
        for slot in slots:
            if isinstance(slot, tuple):
                rows.append([f"⋮ {slot[1]}"] + [""] * ((1 if layer == 1 else 4) + raw))
                continue
            k = slot - 1
            f_value: Any = "—" if fp is None else fp[k]
            values = [s.z[1][k]] if layer == 1 else [s.u[layer][k], s.z[layer][k], f_value, s.delta[layer][k]]
            as_written = [ex.raw_value(layer, slot) or ""] if raw else []
            rows.append([ex.unit_label(layer, slot), *values, *as_written])
        extra = [say(lang, "col.raw_input" if layer == 1 else "col.raw_target")] if raw else []
        if layer == 1:
            head = [say(lang, "col.unit"), "x = z⁽¹⁾", *extra]
            out.append((say(lang, "forward.layer_input", n=n_units), head, rows))
            continue
        kind = say(lang, "kind.output" if layer == ex.L else "kind.hidden")
        f = term(lang, ex.net.layer_activation[layer])
        title = say(lang, "forward.layer", l=layer, kind=kind, n=n_units, f=f)
        z_name = "y" if layer == ex.L else Sym("z", "", lay(layer)).text()
        out.append((title, [say(lang, "col.unit"), "u", z_name, "f′(u)", "δ", *extra], rows))
    return out


def path_rows(ex: Explanation, lang: str) -> list[tuple[Node | str, float]]:
    """(label, contribution) of every listed path, then the L2 term (where α > 0) and the sum."""
    rows: list[tuple[Node | str, float]] = [(path_label(ex, p, lang), p.contribution) for p in ex.paths]
    if ex.l2_term:
        rows.append((say(lang, "l2_term"), ex.l2_term))
    return rows + [(say(lang, "sum"), sum(p.contribution for p in ex.paths) + ex.l2_term)]


def path_label(ex: Explanation, path: Path, lang: str = "en") -> Node:
    """w_ji^(l) → u_j^(l) → u_k^(l+1) → … → E, as a Seq."""
    if path.is_other:
        return Word(say(lang, "other_paths", n=path.count))
    items: list[Node] = [w(ex.j, ex.i, ex.l)]
    for layer, k in path.units:
        items += [Op("→"), u(k, layer)]
    items += [Op("→"), E]
    return Seq(*items)
