"""The derivation's formulas, written once and rendered three ways: text, LaTeX and MathML.

A formula is a small tree of the nodes below (a symbol with sub- and superscript, a partial
derivative, a sum, a function application, a sequence); :func:`steps` builds the seed's
derivation for one :class:`~deltaprop.explain.core.Explanation` as a list of :class:`Step`,
and each renderer walks the same list.  Text uses Unicode sub- and superscripts
(w₂₁⁽³⁾), LaTeX uses amsmath's ``align*``, and MathML is MathML Core (what browsers draw).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

# ---------------------------------------------------------------------- nodes
_SUB = dict(zip("0123456789aehijklmnoprstuvx+-−=()′,", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₊₋₋₌₍₎′,"))
_SUP = dict(zip("0123456789+-−=()lnT′", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ˡⁿᵀ′"))


def _script(s, table, marker):
    if all(c in table for c in s):
        return "".join(table[c] for c in s)
    return f"{marker}{{{s}}}"


class Node:
    def text(self):
        raise NotImplementedError

    def latex(self):
        raise NotImplementedError

    def mathml(self):
        raise NotImplementedError


@dataclass
class Sym(Node):
    """A symbol with optional subscript and superscript: Sym("w", "21", "(3)") is w_21^(3)."""

    base: str
    sub: str = ""
    sup: str = ""

    def text(self):
        return self.base + _script(self.sub, _SUB, "_") + _script(self.sup, _SUP, "^")

    def latex(self):
        base = {"δ": r"\delta", "α": r"\alpha", "f′": "f'", "Σ": r"\Sigma"}.get(self.base, self.base)
        out = base
        if self.sub:
            out += "_{" + self.sub.replace("−", "-").replace("′", "'") + "}"
        if self.sup:
            out += "^{" + self.sup.replace("−", "-") + "}"
        return out

    def mathml(self):
        base = f"<mi>{escape(self.base)}</mi>"
        if self.base == "f′":
            base = "<mi>f</mi><mo>′</mo>"
            base = f"<mrow>{base}</mrow>"
        sub = f"<mrow>{_mml_index(self.sub)}</mrow>" if self.sub else ""
        sup = f"<mrow>{_mml_index(self.sup)}</mrow>" if self.sup else ""
        if sub and sup:
            return f"<msubsup>{base}{sub}{sup}</msubsup>"
        if sub:
            return f"<msub>{base}{sub}</msub>"
        if sup:
            return f"<msup>{base}{sup}</msup>"
        return base


def _mml_index(s):
    out = []
    for c in s:
        if c.isdigit():
            if out and out[-1].startswith("<mn>"):
                out[-1] = out[-1][:-5] + c + "</mn>"
            else:
                out.append(f"<mn>{c}</mn>")
        elif c in "()+−-,=′":
            out.append(f"<mo>{escape(c)}</mo>")
        else:
            out.append(f"<mi>{escape(c)}</mi>")
    return "".join(out)


@dataclass
class Num(Node):
    """A number, six significant digits (``digits`` to change)."""

    value: float
    digits: int = 6

    def _s(self):
        return f"{float(self.value) + 0.0:.{self.digits}g}"  # + 0.0: -0.0 prints as 0

    def text(self):
        return self._s().replace("-", "−")

    def latex(self):
        s = self._s()
        if "e" in s:
            m, e = s.split("e")
            return rf"{m} \times 10^{{{int(e)}}}"
        return s

    def mathml(self):
        s = self._s()
        if "e" in s:
            m, e = s.split("e")
            mantissa = m.replace("-", "−")
            return f"<mrow><mn>{mantissa}</mn><mo>×</mo><msup><mn>10</mn><mn>{int(e)}</mn></msup></mrow>"
        if s.startswith("-"):
            return f"<mrow><mo>−</mo><mn>{s[1:]}</mn></mrow>"
        return f"<mn>{s}</mn>"


@dataclass
class Op(Node):
    """An operator or relation: =, +, −, ×, ⊙, …"""

    op: str

    def text(self):
        return self.op

    def latex(self):
        return {
            "×": r"\times",
            "⊙": r"\odot",
            "−": "-",
            "·": r"\cdot",
            "≈": r"\approx",
            "→": r"\to",
            "…": r"\dots",
        }.get(self.op, self.op)

    def mathml(self):
        return f"<mo>{escape(self.op)}</mo>"


@dataclass
class Word(Node):
    """Words inside a formula (MathML mtext, LaTeX \\text)."""

    words: str

    def text(self):
        return self.words

    def latex(self):
        return r"\text{" + self.words.replace("_", r"\_") + "}"

    def mathml(self):
        return f"<mtext>{escape(self.words)}</mtext>"


class Note(Word):
    """A remark that follows the value before it on the same line: "(sample n = 1)"."""

    def latex(self):
        return r"\quad" + super().latex()

    def mathml(self):
        return f'<mspace width="1em"/><mtext>{escape(self.words)}</mtext>'


@dataclass
class Sub(Node):
    """An expression with a subscript: (Wᵀ δ)_j."""

    body: Node
    sub: str

    def text(self):
        return self.body.text() + _script(self.sub, _SUB, "_")

    def latex(self):
        return "{" + self.body.latex() + "}_{" + self.sub + "}"

    def mathml(self):
        return f"<msub><mrow>{self.body.mathml()}</mrow><mrow>{_mml_index(self.sub)}</mrow></msub>"


@dataclass
class Partial(Node):
    """∂num/∂den."""

    num: Node
    den: Node

    def text(self):
        return f"∂{self.num.text()}/∂{self.den.text()}"

    def latex(self):
        return rf"\frac{{\partial {self.num.latex()}}}{{\partial {self.den.latex()}}}"

    def mathml(self):
        return (
            f"<mfrac><mrow><mo>∂</mo>{self.num.mathml()}</mrow>"
            f"<mrow><mo>∂</mo>{self.den.mathml()}</mrow></mfrac>"
        )


@dataclass
class Frac(Node):
    num: Node
    den: Node

    def text(self):
        return f"{_wrap(self.num)}/{_wrap(self.den)}"

    def latex(self):
        return rf"\frac{{{self.num.latex()}}}{{{self.den.latex()}}}"

    def mathml(self):
        return f"<mfrac><mrow>{self.num.mathml()}</mrow><mrow>{self.den.mathml()}</mrow></mfrac>"


def _wrap(node):
    t = node.text()
    return f"({t})" if isinstance(node, Seq) and len(node.items) > 1 else t


@dataclass
class Sum(Node):
    """Σ over ``index`` of ``body``."""

    index: str
    body: Node

    def text(self):
        return f"Σ{_script(self.index, _SUB, '_')} {self.body.text()}"

    def latex(self):
        return rf"\sum_{{{self.index.replace('′', chr(39))}}} {self.body.latex()}"

    def mathml(self):
        return (
            f'<mrow><munder><mo movablelimits="false">∑</mo><mrow>{_mml_index(self.index)}</mrow>'
            f"</munder>{self.body.mathml()}</mrow>"
        )


@dataclass
class Paren(Node):
    body: Node
    kind: str = "()"

    def text(self):
        return f"{self.kind[0]}{self.body.text()}{self.kind[1]}"

    def latex(self):
        o, c = {"()": ("(", ")"), "[]": ("[", "]")}[self.kind]
        return rf"\left{o} {self.body.latex()} \right{c}"

    def mathml(self):
        return f"<mrow><mo>{self.kind[0]}</mo>{self.body.mathml()}<mo>{self.kind[1]}</mo></mrow>"


@dataclass
class Apply(Node):
    """f(arg): a function name (a Sym) applied to an argument."""

    f: Node
    arg: Node

    def text(self):
        return f"{self.f.text()}({self.arg.text()})"

    def latex(self):
        return rf"{self.f.latex()}\left({self.arg.latex()}\right)"

    def mathml(self):
        return f"<mrow>{self.f.mathml()}<mo>(</mo>{self.arg.mathml()}<mo>)</mo></mrow>"


@dataclass
class Seq(Node):
    """Items side by side (a product by juxtaposition, or an expression with operators)."""

    items: list = field(default_factory=list)

    def __init__(self, *items):
        self.items = [Word(x) if isinstance(x, str) else x for x in items]

    def text(self):
        return " ".join(x.text() for x in self.items)

    def latex(self):
        return " ".join(x.latex() for x in self.items)

    def mathml(self):
        return "<mrow>" + "".join(x.mathml() for x in self.items) + "</mrow>"


def math_block(node, display=True):
    """``<math>`` element for one node."""
    d = ' display="block"' if display else ""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML"{d}>{node.mathml()}</math>'


# ---------------------------------------------------------------------- notation
def idx(*units):
    """Subscript of concrete units: "21" when every unit has one digit (the seed's w_21), else "12,3"."""
    parts = [str(u) for u in units]
    return ",".join(parts) if any(p.isdigit() and len(p) > 1 for p in parts) else "".join(parts)


def lay(l):
    return f"({l})"


def w(j, i, l):
    return Sym("w", idx(j, i), lay(l))


def u(j, l):
    return Sym("u", str(j), lay(l))


def z(j, l):
    return Sym("z", str(j), lay(l))


def delta(j, l):
    return Sym("δ", str(j), lay(l))


def fprime(arg):
    return Apply(Sym("f′"), arg)


En = Sym("E", "n")
E = Sym("E")
MINUS, PLUS, EQ, TIMES = Op("−"), Op("+"), Op("="), Op("×")
#: summation letters for layers l+1, l+2, … (letters with a Unicode subscript form)
LETTERS = "kmprstv"


# ---------------------------------------------------------------------- the steps
@dataclass
class Line:
    """lhs = rhs[0] = rhs[1] = … (lhs None: a continuation line starting at '=')."""

    lhs: Node | None
    rhs: list


@dataclass
class Step:
    """One step of the derivation: prose (strings and nodes), aligned lines, numbers, a table.

    ``key`` names the diagram that goes with it (see :mod:`deltaprop.explain.diagram`).
    """

    key: str
    title: str
    prose: list
    lines: list = field(default_factory=list)
    numbers: list = field(default_factory=list)
    table: tuple | None = None


def _output_delta_symbolic(net, k, seed_style):
    """δ_k^(L) as the canonical pair writes it: y_k − d_k (u_k^(L) − d_k for an identity output)."""
    L = net.L
    if net.loss_name == "squared_error" and net.output == "identity" and seed_style:
        return Paren(Seq(u(k, L), MINUS, Sym("d", str(k))))
    return Paren(Seq(Sym("y", str(k)), MINUS, Sym("d", str(k))))


def _delta_expr(ex, layer, unit, depth, seed_style=True):
    """δ_unit^(layer) expanded to the output, with summation letters, as a Seq."""
    net = ex.net
    L = net.L
    if layer == L:
        if ex.canonical:
            return _output_delta_symbolic(net, unit, seed_style)
        if net.output == "softmax":
            return delta(unit, L)
        return Seq(fprime(u(unit, L)), Partial(En, Sym("y", str(unit))))
    k = LETTERS[depth] if depth < len(LETTERS) else f"k{depth}"
    return Seq(
        fprime(u(unit, layer)), Sum(k, Seq(w(k, unit, layer + 1), _delta_expr(ex, layer + 1, k, depth + 1)))
    )


def final_formula(ex, concrete=True):
    """∂E_n/∂w_ji^(l) in the seed's closed form: (y_j − d_j) z_i^(L−1), or the hidden form."""
    l = ex.l
    j, i = (ex.j, ex.i) if concrete else ("j", "i")
    lhs = Partial(En, w(j, i, l) if concrete else Sym("w", "ji", lay(l)))
    if l == ex.L:
        d = _delta_expr(ex, l, j, 0, seed_style=False)
    else:
        d = _delta_expr(ex, l, j, 0)
    factor = [] if ex.i == 0 else [z(i, l - 1)]
    items = list(d.items) if isinstance(d, Seq) else [d]
    return Line(lhs, [Seq(*items, *factor)])


def _loss_reason(net):
    """Why δ^(L) = y − d for the canonical pair: one sentence per loss."""
    return {
        "squared_error": "Eₙ = ½ Σₖ (yₖ − dₖ)² and yₖ = uₖ (identity output): only the term "
        "k = j involves uⱼ, and its derivative is yⱼ − dⱼ.",
        "log_loss": "Eₙ = −Σₖ dₖ log yₖ with softmax yₖ: Σₖ (−dₖ / yₖ) yₖ (1[k=j] − yⱼ) = "
        "yⱼ − dⱼ, because each sample's targets sum to 1.",
        "binary_log_loss": "Eₙ = −Σₖ [dₖ log yₖ + (1 − dₖ) log(1 − yₖ)] with logistic yₖ: "
        "∂Eₙ/∂yⱼ = (yⱼ − dⱼ) / (yⱼ (1 − yⱼ)) and f′(uⱼ) = yⱼ (1 − yⱼ) cancel.",
        "poisson": "Eₙ = Σₖ [dₖ log(dₖ / yₖ) − dₖ + yₖ] with yₖ = exp(uₖ): (1 − dⱼ / yⱼ) yⱼ = yⱼ − dⱼ.",
    }[net.loss_name]


def _vector(values, limit=12):
    vals = [float(v) for v in values]
    shown = ", ".join(f"{v:.4g}" for v in vals[:limit]).replace("-", "−")
    more = f", … ({len(vals) - limit} more)" if len(vals) > limit else ""
    return f"({shown}{more})"


def steps(ex):
    """The seed's derivation for ``ex`` as a list of :class:`Step`."""
    net, l, j, i, L = ex.net, ex.l, ex.j, ex.i, ex.L
    der = ex.derivation
    s0 = der.samples[0]
    N = ex.n_samples
    wt = w(j, i, l)
    out = []
    many = N > 1
    tag = Note("(sample n = 1)") if many else Word("")

    # 1. the chain rule at u_j^(l)
    out.append(
        Step(
            "weight",
            ["The weight ", wt, " and the chain rule"],
            [
                "The weight ",
                wt,
                f" is the link from unit {i if i else '+1 (bias)'} of layer {l - 1} to unit "
                f"{j} of layer {l}. It reaches the loss only through ",
                u(j, l),
                ", the input of that unit, so the chain rule has one term:",
            ],
            [
                Line(
                    Partial(En, wt),
                    [Seq(Partial(En, u(j, l)), Partial(u(j, l), wt)), Seq(delta(j, l), Partial(u(j, l), wt))],
                )
            ],
        )
    )

    # 2. ∂u_j/∂w_ji = z_i
    total = Seq(
        Sum("i′", Seq(Sym("w", f"{j}i′", lay(l)), Sym("z", "i′", lay(l - 1)))),
        PLUS,
        Sym("w", idx(j, 0), lay(l)),
    )
    zi = 1.0 if i == 0 else s0.z[l - 1][i - 1]
    rhs_i = Sym("1") if i == 0 else z(i, l - 1)
    out.append(
        Step(
            "input",
            [Partial(u(j, l), wt), ": only one term of the sum remains"],
            [
                "The input ",
                u(j, l),
                " is the sum of every link into unit ",
                Word(str(j)),
                " times the output at its far end. Every other term of the sum does not involve ",
                wt,
                ", so its derivative is 0 and only ",
                rhs_i,
                " remains" + (" (the +1 bias unit)." if i == 0 else "."),
            ],
            [Line(Partial(u(j, l), wt), [Partial(Paren(total), wt), rhs_i])],
            []
            if i == 0
            else [
                Line(
                    z(i, l - 1),
                    [Num(zi), tag]
                    + ([Seq(Num(ex.batch_mean(der.z_in)), Note("(batch mean)"))] if many else []),
                )
            ],
        )
    )

    # 3. δ_j^(l)
    if l == L:
        d_j = s0.delta[L][j - 1]
        y_j, dd = s0.z[L][j - 1], s0.d[j - 1]
        if ex.canonical:
            lines = [
                Line(delta(j, L), [Partial(En, u(j, L)), Seq(Sym("y", str(j)), MINUS, Sym("d", str(j)))])
            ]
            prose = ["At the output layer the loss and f are a canonical pair: " + _loss_reason(net)]
        elif net.output == "softmax":
            lines = [
                Line(
                    delta(j, L),
                    [
                        Partial(En, u(j, L)),
                        Sum(
                            "k",
                            Seq(
                                Partial(En, Sym("y", "k")),
                                Sym("y", "k"),
                                Paren(Seq(Word("1[k=j]"), MINUS, Sym("y", str(j)))),
                            ),
                        ),
                    ],
                )
            ]
            prose = [
                f"The output is softmax but the loss is {net.loss_name}, not its canonical partner, "
                "so δ is the general chain rule through every y_k (softmax's Jacobian is not diagonal)."
            ]
        else:
            lines = [
                Line(delta(j, L), [Partial(En, u(j, L)), Seq(fprime(u(j, L)), Partial(En, Sym("y", str(j))))])
            ]
            prose = [
                f"The output f is {net.output} and the loss {net.loss_name}: not a canonical pair, so "
                "δ keeps the general factor f′(u) ∂E_n/∂y."
            ]
        lines.append(
            Line(None, [Seq(Num(y_j), MINUS, Paren(Num(dd))) if ex.canonical else Num(d_j), Num(d_j), tag])
        )
        out.append(
            Step(
                "delta_out",
                [delta(j, L), " at the output layer"],
                prose,
                lines,
                [Line(Sym("y", str(j)), [Num(y_j), tag]), Line(Sym("d", str(j)), [Num(dd), tag])],
            )
        )
    else:
        k = "k"
        out.append(
            Step(
                "fanout",
                [delta(j, l), ": ", u(j, l), f" reaches every unit of layer {l + 1}"],
                [
                    "Through f and the links ",
                    w(k, j, l + 1),
                    f" (k = 1 … {net.sizes[l]}), ",
                    u(j, l),
                    f" is part of the input of every unit of layer {l + 1}, and Eₙ is a function of those "
                    "inputs. The chain rule sums over them:",
                ],
                [
                    Line(
                        delta(j, l),
                        [
                            Partial(En, u(j, l)),
                            Sum(k, Seq(Partial(En, u(k, l + 1)), Partial(u(k, l + 1), u(j, l)))),
                        ],
                    )
                ],
            )
        )
        inner = Sum("j′", Seq(w(k, "j′", l + 1), Apply(Sym("f"), Sym("u", "j′", lay(l)))))
        out.append(
            Step(
                "link",
                [Partial(u("k", l + 1), u(j, l)), " = ", Seq(w("k", j, l + 1), fprime(u(j, l)))],
                [
                    "Expanding the input of unit k, only the term j′ = ",
                    Word(str(j)),
                    " involves ",
                    u(j, l),
                    ":",
                ],
                [
                    Line(
                        Partial(u(k, l + 1), u(j, l)),
                        [Partial(Paren(inner), u(j, l)), Seq(w(k, j, l + 1), fprime(u(j, l)))],
                    )
                ],
                [Line(fprime(u(j, l)), [Num(s0.fprime[l][j - 1]), tag])],
            )
        )
        tr = ex.transpose
        n_next = net.sizes[l]
        rows = []
        for kk, wk, dk, prod in tr.terms:
            mean_prod = ex.batch_mean([wk * sd.delta[l + 1][kk - 1] for sd in der.samples])
            rows.append([str(kk), wk, dk, prod, mean_prod])
        Wt = Sym("W", "", f"({l + 1})T")
        out.append(
            Step(
                "delta_hidden",
                [
                    delta(j, l),
                    " = ",
                    Seq(fprime(u(j, l)), Sum("k", Seq(w("k", j, l + 1), delta("k", l + 1)))),
                    ", and the transpose",
                ],
                [
                    "Putting the two together. In matrix form this is ",
                    Seq(
                        Sym("δ", "", lay(l)),
                        EQ,
                        fprime(Sym("u", "", lay(l))),
                        Op("⊙"),
                        Wt,
                        Sym("δ", "", lay(l + 1)),
                    ),
                    f": row {j} of the transposed product is exactly the sum over k, because column {j} of ",
                    Sym("W", "", lay(l + 1)),
                    " holds the links ",
                    w("k", j, l + 1),
                    f" leaving unit {j}. The transpose is the sum over k, written as a matrix product:",
                ],
                [
                    Line(
                        delta(j, l),
                        [
                            Seq(fprime(u(j, l)), Sum(k, Seq(w(k, j, l + 1), delta(k, l + 1)))),
                            Seq(Num(s0.fprime[l][j - 1]), TIMES, Num(tr.elementwise)),
                            Num(s0.delta[l][j - 1]),
                            tag,
                        ],
                    ),
                    Line(
                        Sub(Paren(Seq(Wt, Sym("δ", "", lay(l + 1)))), str(j)),
                        [
                            Num(tr.matrix_row, 15),
                            Note("(matrix product, row " + str(j) + (", n = 1)" if many else ")")),
                        ],
                    ),
                    Line(
                        Sum(k, Seq(w(k, j, l + 1), delta(k, l + 1))),
                        [Num(tr.elementwise, 15), Note(f"(element-wise sum over k = 1 … {n_next})")],
                    ),
                ],
                [
                    Line(
                        Word("largest |matrix row − element-wise sum| over the samples"),
                        [Num(tr.max_difference, 3)],
                    )
                ],
                (
                    [
                        "k",
                        w("k", j, l + 1).text(),
                        delta("k", l + 1).text() + " (n = 1)",
                        "product (n = 1)",
                        "product, batch mean",
                    ],
                    rows,
                ),
            )
        )
        # 4. δ^(l+1) … δ^(L), recursively
        lines = []
        for m in range(l + 1, L + 1):
            lines.append(Line(Sym("δ", "", lay(m)), [Word(_vector(s0.delta[m])), tag]))
        if l + 1 == L:
            dk = _output_delta_symbolic(net, "k", True) if ex.canonical else None
            first = Line(
                delta("k", L),
                [
                    Partial(En, u("k", L)),
                    dk.body if dk else Seq(fprime(u("k", L)), Partial(En, Sym("y", "k"))),
                ],
            )
            prose = (
                ["At the output layer, as for an output weight: " + _loss_reason(net)]
                if ex.canonical
                else [
                    f"At the output layer ({net.output} with {net.loss_name}, not a canonical pair) δ keeps "
                    "the general factor."
                ]
            )
        else:
            first = Line(
                delta("k", l + 1),
                [Seq(fprime(u("k", l + 1)), Sum("m", Seq(w("m", "k", l + 2), delta("m", l + 2))))],
            )
            prose = [
                "Each ",
                delta("k", l + 1),
                " is found the same way, one layer further on, down to the output "
                "layer where "
                + ("δ = y − d (the canonical pair)." if ex.canonical else "δ = f′(u) ⊙ ∂Eₙ/∂y."),
            ]
        out.append(
            Step(
                "delta_next",
                [delta("k", l + 1), " … ", Sym("δ", "", lay(L)), ": back from the output"],
                prose,
                [first] + lines,
            )
        )

    # 5. all together
    per_sample = der.per_sample
    gen = final_formula(ex, concrete=False)
    con = final_formula(ex, concrete=True)
    lines = [gen, con, Line(None, [Num(per_sample[0]), tag])]
    s_sym = Sym("s", "n")
    batch = Seq(Frac(Sym("1"), Sum("n", s_sym)), Sum("n", Seq(s_sym, Partial(En, wt))))
    if ex.alpha:
        batch = Seq(batch, PLUS, Frac(Sym("α"), Sum("n", s_sym)), wt) if i else batch
    lines.append(Line(Partial(E, wt), [batch, Num(ex.value, 12)]))
    numbers = [
        Line(Word("element-wise derivation"), [Num(ex.value, 12)]),
        Line(Word("backpropagation"), [Num(ex.backprop, 12)]),
        Line(Word(f"central difference (h = {ex.h:g})"), [Num(ex.numerical, 12)]),
        Line(Word("relative error"), [Num(ex.relative_error, 2)]),
    ]
    out.append(
        Step(
            "paths",
            ["All together: the seed's formula, with the numbers"],
            [
                f"The batch gradient is the (sample-weighted) mean over the {N} sample{'s' if N > 1 else ''}"
                + (f", plus the L2 term (α = {ex.alpha:g})" if ex.alpha and i else "")
                + ":"
            ],
            lines,
            numbers,
        )
    )
    return out


def path_label(ex, path):
    """w_ji^(l) → u_j^(l) → u_k^(l+1) → … → E, as a Seq."""
    if path.is_other:
        return Word(f"other {path.count} paths")
    items = [w(ex.j, ex.i, ex.l)]
    for layer, k in path.units:
        items += [Op("→"), u(k, layer)]
    items += [Op("→"), E]
    return Seq(*items)


# ---------------------------------------------------------------------- text
def _prose_text(prose):
    return "".join(p if isinstance(p, str) else p.text() for p in prose)


def _wrap_text(s, width=96):
    import textwrap

    return textwrap.fill(s, width)


def _lines_text(lines):
    rows = []
    width = max((len(x.lhs.text()) for x in lines if x.lhs is not None), default=0)
    for line in lines:
        lhs = line.lhs.text() if line.lhs is not None else ""
        parts = [r for r in line.rhs if r.text()]
        if not parts:
            continue
        for n, p in enumerate(parts):
            if isinstance(p, Note) and n:
                rows[-1] += "   " + p.text()
            else:
                rows.append(f"  {lhs if n == 0 else '':<{width}} = {p.text()}")
    return rows


def _signed(v):
    v = float(v) + 0.0  # -0.0 prints as 0
    return (" " if v >= 0 else "−") + f"{abs(v):.6e}".replace("-", "−")


def render_text(ex):
    """The whole derivation for a terminal."""
    net = ex.net
    out = [
        f"{Partial(E, w(ex.j, ex.i, ex.l)).text()} in {net!r}, on {ex.n_samples} sample"
        f"{'s' if ex.n_samples > 1 else ''}" + (f", α = {ex.alpha:g}" if ex.alpha else "")
    ]
    out.append("=" * min(96, len(out[0])))
    for number, step in enumerate(steps(ex), start=1):
        out.append("")
        out.append(f"{number}. {_prose_text(step.title)}")
        out.append(_wrap_text(_prose_text(step.prose)))
        out += _lines_text(step.lines)
        out += _lines_text(step.numbers)
        if step.table:
            head, rows = step.table
            widths = [max(len(head[0]), 3)] + [max(len(h), 14) for h in head[1:]]
            out.append("  " + "  ".join(f"{h:>{wd}}" for h, wd in zip(head, widths)))
            for row in rows[:12]:
                cells = [row[0]] + [Num(v).text() for v in row[1:]]
                out.append("  " + "  ".join(f"{c:>{wd}}" for c, wd in zip(cells, widths)))
            if len(rows) > 12:
                out.append(f"  … {len(rows) - 12} more rows")
    out.append("")
    out.append(
        f"Paths from {w(ex.j, ex.i, ex.l).text()} to the loss ({ex.n_paths} in all"
        + ("" if ex.paths_exhaustive else "; the largest found")
        + "), batch-mean contribution:"
    )
    labels = [path_label(ex, p).text() for p in ex.paths]
    width = max(len(x) for x in labels)
    for label, p in zip(labels, ex.paths):
        out.append(f"  {label:<{width}}  {_signed(p.contribution)}")
    if ex.l2_term:
        out.append(f"  {'L2 term (α/N) w':<{width}}  {_signed(ex.l2_term)}")
    out.append(f"  {'sum':<{width}}  {_signed(sum(p.contribution for p in ex.paths) + ex.l2_term)}")
    out.append("")
    out.append("Where gradients go, on these samples:")
    out.append(
        f"  {'layer':>5}  {'units':>6}  {'f':<10} {'‖∂E/∂W‖':>12} {'‖∂E/∂b‖':>12}  saturated/dead units"
    )
    for r in ex.layers:
        note = (
            "—"
            if r.saturated is None and r.dead is None
            else f"{100 * (r.saturated if r.saturated is not None else r.dead):.0f}% "
            + ("saturated" if r.saturated is not None else "dead")
            + f" ({100 * r.saturated_activations:.0f}% of unit-samples)"
        )
        out.append(
            f"  {r.l:>5}  {r.n_units:>6}  {r.activation:<10} {r.grad_norm:>12.4e} "
            f"{r.bias_grad_norm:>12.4e}  {note}"
        )
    out.append("")
    out.append("In the seed's notation:")
    gen, con = final_formula(ex, False), final_formula(ex, True)
    out.append(f"{gen.lhs.text()} = {gen.rhs[0].text()}")
    out.append(f"{con.lhs.text()} = {con.rhs[0].text()}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- LaTeX
def _prose_latex(prose):
    out = []
    for p in prose:
        if isinstance(p, str):
            out.append(p.replace("_", r"\_").replace("^", r"\^{}").replace("&", r"\&").replace("%", r"\%"))
        else:
            out.append(f"${p.latex()}$")
    return "".join(out)


def _lines_latex(lines):
    rows = []
    for line in lines:
        lhs = line.lhs.latex() if line.lhs is not None else ""
        parts = []
        for r in line.rhs:
            if not r.text():
                continue
            if isinstance(r, Note) and parts:
                parts[-1] += r.latex()
            else:
                parts.append(r.latex())
        if parts:
            rows.append(f"{lhs} &= " + r" \\ &= ".join(parts))
    return rows


def render_latex(ex):
    """The derivation as LaTeX: a section per step with ``align*`` (needs amsmath)."""
    out = [
        f"% deltaprop explain: dE/dw_{{{ex.j}{ex.i}}}^({ex.l}) in {ex.net!r}, {ex.n_samples} samples",
        r"% requires \usepackage{amsmath}",
    ]
    for number, step in enumerate(steps(ex), start=1):
        out.append(rf"\paragraph{{{number}. {_prose_latex(step.title)}}}")
        out.append(_prose_latex(step.prose))
        rows = _lines_latex(step.lines + step.numbers)
        if rows:
            out.append(r"\begin{align*}")
            out.append(" \\\\\n".join(rows))
            out.append(r"\end{align*}")
    gen, con = final_formula(ex, False), final_formula(ex, True)
    out.append(r"\paragraph{In the seed's notation}")
    out.append(r"\begin{align*}")
    out.append(f"{gen.lhs.latex()} &= {gen.rhs[0].latex()} \\\\")
    out.append(f"{con.lhs.latex()} &= {con.rhs[0].latex()}")
    out.append(r"\end{align*}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- MathML
def prose_html(prose):
    """Prose with inline MathML."""
    return "".join(escape(p) if isinstance(p, str) else math_block(p, display=False) for p in prose)


def lines_mathml(lines):
    """Aligned lines as one ``<math display=block>`` holding an ``mtable``."""
    rows = []
    for line in lines:
        parts = []
        for r in line.rhs:
            if not r.text():
                continue
            if isinstance(r, Note) and parts:
                parts[-1] = Seq(parts[-1], r)
            else:
                parts.append(r)
        if not parts:
            continue
        lhs = line.lhs.mathml() if line.lhs is not None else ""
        for n, part in enumerate(parts):
            left = lhs if n == 0 else ""
            rows.append(
                f'<mtr><mtd columnalign="right">{left}</mtd><mtd columnalign="left"><mrow><mo>=</mo>'
                f"{part.mathml()}</mrow></mtd></mtr>"
            )
    if not rows:
        return ""
    return (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mtable>'
        + "".join(rows)
        + "</mtable></math>"
    )
