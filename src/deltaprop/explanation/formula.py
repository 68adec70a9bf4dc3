"""The derivation's formulas: small trees of nodes, each rendered as Unicode text (w₂₁⁽³⁾),
LaTeX (amsmath's ``align*``) and MathML Core (what browsers draw)."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from html import escape
from typing import Any

# ---------------------------------------------------------------------- nodes
_SUB = dict(zip("0123456789aehijklmnoprstuvx+-−=()′,", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₊₋₋₌₍₎′,"))
_SUP = dict(zip("0123456789+-−=()lnT′", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ˡⁿᵀ′"))


#: characters of the text that pdflatex cannot set in text mode, as LaTeX
_TEX_CHARS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}", "&": r"\&", "%": r"\%",
    "#": r"\#", "$": r"\$", "~": r"\~{}", "—": "---", "–": "--", "…": r"\dots{}", "δ": r"$\delta$",
    "Δ": r"$\Delta$", "α": r"$\alpha$", "Σ": r"$\Sigma$", "∂": r"$\partial$", "−": r"$-$", "′": r"$'$",
    "½": r"$\frac{1}{2}$", "→": r"$\to$", "⊙": r"$\odot$", "‖": r"$\|$", "≈": r"$\approx$", "×": r"$\times$",
    "·": r"$\cdot$", "≤": r"$\le$", "≥": r"$\ge$", "ᵀ": r"$^{T}$", "∝": r"$\propto$", "|": r"$|$",
    "<": r"$<$", ">": r"$>$", "▶": r"$\blacktriangleright$", "⋮": r"$\vdots$", "⋱": r"$\ddots$",
    "∑": r"$\sum$", "ε": r"$\varepsilon$", "η": r"$\eta$", "Π": r"$\Pi$", "≠": r"$\ne$",
}
#: the maths names of the symbols and operators that LaTeX spells out
_TEX_NAMES = {
    "δ": r"\delta", "Δ": r"\Delta", "α": r"\alpha", "f′": "f'", "Σ": r"\Sigma", "∂": r"\partial",
    "×": r"\times", "⊙": r"\odot", "−": "-", "·": r"\cdot", "≈": r"\approx", "→": r"\to", "…": r"\dots",
}


def tex_text(s: str) -> str:
    """Plain text with Unicode math (Eₙ, Σₖ, δ, −, ′, ⁽³⁾) as LaTeX that pdflatex sets in text mode."""
    scripts = {
        "_": {v: k for k, v in _SUB.items() if v != k and k != "−"},
        "^": {v: k for k, v in _SUP.items() if v != k and k != "−"},
    }
    out: list[str] = []
    run, kind = "", ""
    for c in s + "\0":
        now = next((m for m, table in scripts.items() if c in table), "")
        if run and now != kind:
            out.append("$" + kind + "{" + run.replace("′", "'") + "}$")
            run = ""
        if now:
            run, kind = run + scripts[now][c], now
        elif c != "\0":
            out.append(_TEX_CHARS.get(c, c))
    return "".join(out).replace("$$", "")


def _script(s, table, marker):
    return "".join(table[c] for c in s) if all(c in table for c in s) else f"{marker}{{{s}}}"


class Node:
    """A formula: its Unicode text, its LaTeX and its MathML."""

    def text(self) -> str:
        raise NotImplementedError

    def latex(self) -> str:
        raise NotImplementedError

    def mathml(self) -> str:
        raise NotImplementedError


@dataclass
class Sym(Node):
    """A symbol with optional subscript and superscript: Sym("w", "21", "(3)") is w_21^(3)."""

    base: str
    sub: str = ""
    sup: str = ""

    def text(self) -> str:
        return self.base + _script(self.sub, _SUB, "_") + _script(self.sup, _SUP, "^")

    def latex(self) -> str:
        out = _TEX_NAMES.get(self.base, self.base)
        for marker, script in (("_", self.sub), ("^", self.sup)):
            out += marker + "{" + script.replace("−", "-").replace("′", "'") + "}" if script else ""
        return out

    def mathml(self) -> str:
        base = "<mrow><mi>f</mi><mo>′</mo></mrow>" if self.base == "f′" else f"<mi>{escape(self.base)}</mi>"
        scripts = "".join(f"<mrow>{_mml_index(x)}</mrow>" for x in (self.sub, self.sup) if x)
        tag = "msubsup" if self.sub and self.sup else "msub" if self.sub else "msup" if self.sup else ""
        return f"<{tag}>{base}{scripts}</{tag}>" if tag else base


def _mml_index(s):
    """An index as MathML: each run of digits a number, brackets and signs operators, letters names."""
    tags = [(t, "mn" if t.isdigit() else "mo" if t in "()+−-,=′" else "mi") for t in re.findall(r"\d+|.", s)]
    return "".join(f"<{tag}>{escape(t)}</{tag}>" for t, tag in tags)


@dataclass
class Num(Node):
    """A number, six significant digits (``digits`` to change)."""

    value: float
    digits: int = 6

    def _s(self) -> str:
        return f"{float(self.value) + 0.0:.{self.digits}g}"  # + 0.0: -0.0 prints as 0

    def text(self) -> str:
        return self._s().replace("-", "−")

    def latex(self) -> str:
        m, _, e = self._s().partition("e")
        return rf"{m} \times 10^{{{int(e)}}}" if e else m

    def mathml(self) -> str:
        m, _, e = self._s().partition("e")
        if e:
            power = f"<msup><mn>10</mn><mn>{int(e)}</mn></msup>"
            return f"<mrow><mn>{m.replace('-', '−')}</mn><mo>×</mo>{power}</mrow>"
        return f"<mrow><mo>−</mo><mn>{m[1:]}</mn></mrow>" if m.startswith("-") else f"<mn>{m}</mn>"


@dataclass
class Op(Node):
    """An operator or relation: =, +, −, ×, ⊙, …"""

    op: str

    def text(self) -> str:
        return self.op

    def latex(self) -> str:
        return _TEX_NAMES.get(self.op, self.op)

    def mathml(self) -> str:
        return f"<mo>{escape(self.op)}</mo>"


@dataclass
class Word(Node):
    """Words inside a formula (MathML mtext, LaTeX \\text)."""

    words: str

    def text(self) -> str:
        return self.words

    def latex(self) -> str:
        return r"\text{" + tex_text(self.words) + "}"

    def mathml(self) -> str:
        return f"<mtext>{escape(self.words)}</mtext>"


class Note(Word):
    """A remark that follows the value before it on the same line: "(sample n = 1)"."""

    def latex(self) -> str:
        return r"\quad" + super().latex()

    def mathml(self) -> str:
        return f'<mspace width="1em"/><mtext>{escape(self.words)}</mtext>'


@dataclass
class Sub(Node):
    """An expression with a subscript: (Wᵀ δ)_j."""

    body: Node
    sub: str

    def text(self) -> str:
        return self.body.text() + _script(self.sub, _SUB, "_")

    def latex(self) -> str:
        return "{" + self.body.latex() + "}_{" + self.sub + "}"

    def mathml(self) -> str:
        return f"<msub><mrow>{self.body.mathml()}</mrow><mrow>{_mml_index(self.sub)}</mrow></msub>"


@dataclass
class Frac(Node):
    """num/den (a :class:`Partial`: ∂num/∂den)."""

    num: Node
    den: Node
    partial = False

    def text(self) -> str:
        d = "∂" if self.partial else ""
        return f"{d}{_wrap(self.num)}/{d}{_wrap(self.den)}"

    def latex(self) -> str:
        d = r"\partial " if self.partial else ""
        return rf"\frac{{{d}{self.num.latex()}}}{{{d}{self.den.latex()}}}"

    def mathml(self) -> str:
        d = "<mo>∂</mo>" if self.partial else ""
        return f"<mfrac><mrow>{d}{self.num.mathml()}</mrow><mrow>{d}{self.den.mathml()}</mrow></mfrac>"


class Partial(Frac):
    """∂num/∂den."""

    partial = True


def _wrap(node):
    t = node.text()
    return f"({t})" if isinstance(node, Seq) and not isinstance(node, Sum) and len(node.items) > 1 else t


@dataclass
class Paren(Node):
    body: Node
    kind: str = "()"

    def text(self) -> str:
        return f"{self.kind[0]}{self.body.text()}{self.kind[1]}"

    def latex(self) -> str:
        o, c = {"()": ("(", ")"), "[]": ("[", "]")}[self.kind]
        return rf"\left{o} {self.body.latex()} \right{c}"

    def mathml(self) -> str:
        return f"<mrow><mo>{self.kind[0]}</mo>{self.body.mathml()}<mo>{self.kind[1]}</mo></mrow>"


@dataclass
class Apply(Node):
    """f(arg): a function name (a Sym) applied to an argument."""

    f: Node
    arg: Node

    def text(self) -> str:
        return f"{self.f.text()}({self.arg.text()})"

    def latex(self) -> str:
        return rf"{self.f.latex()}\left({self.arg.latex()}\right)"

    def mathml(self) -> str:
        return f"<mrow>{self.f.mathml()}<mo>(</mo>{self.arg.mathml()}<mo>)</mo></mrow>"


@dataclass
class Seq(Node):
    """Items side by side (a product by juxtaposition, or an expression with operators)."""

    items: list = field(default_factory=list)

    def __init__(self, *items):
        self.items = [Word(x) if isinstance(x, str) else x for x in items]

    def text(self) -> str:
        return " ".join(x.text() for x in self.items)

    def latex(self) -> str:
        return " ".join(x.latex() for x in self.items)

    def mathml(self) -> str:
        return "<mrow>" + "".join(x.mathml() for x in self.items) + "</mrow>"


class Sum(Seq):
    """Σ over ``index`` of ``body``: its sign and its body side by side."""

    def __init__(self, index: str, body: Node):
        super().__init__(SumSign(index), body)
        self.index, self.body = index, body


class Vec(Seq):
    """A vector (v_1, v_2, …) of numbers: items are "(", numbers, ",", …, ")"."""

    def text(self) -> str:
        return "".join(x.text() + (" " if x.text() == "," else "") for x in self.items)

    def latex(self) -> str:
        return "".join(x.latex() + (" " if x.text() == "," else "") for x in self.items)


def math_block(node: Node, display: bool = True) -> str:
    """``<math>`` element for one node."""
    d = ' display="block"' if display else ""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML"{d}>{node.mathml()}</math>'


# ---------------------------------------------------------------------- notation
def idx(*units: int | str) -> str:
    """Subscript of concrete units: "21" when every unit has one digit (the seed's w_21), else "12,3"."""
    parts = [str(u) for u in units]
    return ",".join(parts) if any(p.isdigit() and len(p) > 1 for p in parts) else "".join(parts)


def lay(l: int) -> str:
    return f"({l})"


def w(j: int | str, i: int | str, l: int) -> Sym:
    return Sym("w", idx(j, i), lay(l))


def u(j: int | str, l: int) -> Sym:
    return Sym("u", str(j), lay(l))


def z(j: int | str, l: int) -> Sym:
    return Sym("z", str(j), lay(l))


def delta(j: int | str, l: int) -> Sym:
    return Sym("δ", str(j), lay(l))


def fprime(arg: Node) -> Apply:
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

    ``key`` names the diagram that goes with it (see :mod:`deltaprop.explanation.diagram`).
    """

    key: str
    title: list
    prose: list
    lines: list[Line] = field(default_factory=list)
    numbers: list[Line] = field(default_factory=list)
    tables: list[tuple[list[str], list[list]]] = field(default_factory=list)
    pictures: list[Any] = field(default_factory=list)


# ---------------------------------------------------------------------- text
def _prose_text(prose):
    return "".join(p if isinstance(p, str) else p.text() for p in prose)


def _lines_text(lines):
    """Aligned '=' rows; a left-hand side of many words (a sentence) wraps on rows of its own."""
    rows: list[str] = []
    long = [x.lhs is not None and len(x.lhs.text()) > WORDS for x in lines]
    width = max((len(x.lhs.text()) for x, w in zip(lines, long) if x.lhs is not None and not w), default=0)
    for line, wrap in zip(lines, long):
        lhs = line.lhs.text() if line.lhs is not None else ""
        parts = [r for r in line.rhs if r.text()]
        if not parts:
            continue
        if wrap:
            rows += textwrap.wrap(lhs, 96, initial_indent="  ", subsequent_indent="  ")
            rows += [f"  {'':<{width}} = {p.text()}" for p in parts]
            continue
        for n, p in enumerate(parts):
            if isinstance(p, Note) and n:
                rows[-1] += "   " + p.text()
            else:
                rows.append(f"  {lhs if n == 0 else '':<{width}} = {p.text()}")
    return rows


#: a left-hand side longer than this is a sentence: the text wraps it on rows of its own
WORDS = 40


def _signed(v):
    v = float(v) + 0.0  # -0.0 prints as 0
    return (" " if v >= 0 else "−") + f"{abs(v):.6e}".replace("-", "−")


# ---------------------------------------------------------------------- MathML
def prose_html(prose: list) -> str:
    """Prose with inline MathML."""
    return "".join(escape(p) if isinstance(p, str) else math_block(p, display=False) for p in prose)


#: a right-hand side longer than this (in characters of its text) is set on several rows
ROW_CHARS = 22


@dataclass
class SumSign(Node):
    """Σ with its index alone: a long sum's sign, when its body continues on the next row."""

    index: str

    def text(self) -> str:
        return f"Σ{_script(self.index, _SUB, '_')}"

    def latex(self) -> str:
        return rf"\sum_{{{self.index.replace('′', chr(39))}}}"

    def mathml(self) -> str:
        return f'<munder><mo movablelimits="false">∑</mo><mrow>{_mml_index(self.index)}</mrow></munder>'


def _flat(node: Node) -> list[Node]:
    """A product's factors in reading order, sums opened into their sign and their body."""
    if isinstance(node, Seq):
        return [x for item in node.items for x in _flat(item)]
    return [node]


def width(node: Node) -> float:
    """The drawn width of ``node`` in characters: a fraction is as wide as its wider part,
    sub- and superscripts stack and are smaller."""
    if isinstance(node, (Partial, Frac)):
        return max(width(node.num), width(node.den)) + 1
    if isinstance(node, Sym):
        return len(node.base) + 0.7 * max(len(node.sub), len(node.sup))
    if isinstance(node, Sum):
        return 2 + width(node.body)
    if isinstance(node, Seq):
        return sum(width(x) + 0.3 for x in node.items)
    if isinstance(node, (Paren, Sub)):
        return width(node.body) + 2
    if isinstance(node, Apply):
        return width(node.f) + width(node.arg) + 2
    return float(len(node.text()))


def _chunks(node: Node, limit: float = ROW_CHARS) -> list[Node]:
    """``node`` cut into rows at most ``limit`` characters wide each (one row if it fits)."""
    if width(node) <= limit:
        return [node]
    rows: list[list[Node]] = [[]]
    total = 0.0
    for item in _flat(node):
        n = width(item) + 0.3
        if rows[-1] and total + n > limit and not isinstance(rows[-1][-1], SumSign):
            rows.append([])
            total = 0.0
        rows[-1].append(item)
        total += n
    return [Seq(*row) for row in rows]


def _mtr(left: str, right: str) -> str:
    return (
        f'<mtr><mtd columnalign="right" displaystyle="true">{left}</mtd>'
        f'<mtd columnalign="left" displaystyle="true">{right}</mtd></mtr>'
    )


def lines_mathml(lines: list[Line]) -> str:
    """Aligned lines as one ``<math display=block>`` holding a display-style ``mtable``.

    Each right-hand side is a row starting at '='; a long one continues on further rows, and
    a note ("(sample n = 1)") gets a row of its own, so no row is wider than a phone.
    """
    rows = []
    for line in lines:
        lhs = line.lhs.mathml() if line.lhs is not None else ""
        for r in line.rhs:
            if not r.text():
                continue
            if isinstance(r, Note):
                rows.append(_mtr("", f'<mtext class="note">{escape(r.words)}</mtext>'))
                continue
            for n, chunk in enumerate(_chunks(r)):
                eq = "<mo>=</mo>" if n == 0 else '<mspace width="1.2em"/>'
                rows.append(_mtr(lhs, f"<mrow>{eq}{chunk.mathml()}</mrow>"))
                lhs = ""
    if not rows:
        return ""
    return (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mtable displaystyle="true">'
        + "".join(rows)
        + "</mtable></math>"
    )
