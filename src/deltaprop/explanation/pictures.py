"""The two transposes of the derivation as pictures with numbers: δ^(l) (z^(l−1))ᵀ as the grid
of every δ_j z_i (:func:`outer_picture`) and column j of W^(l+1) meeting δ^(l+1)
(:func:`column_picture`); a picture is a row of :class:`Block` and operators."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from deltaprop.explanation.diagram import MIN_SCALE, shown_units
from deltaprop.explanation.formula import Sym, delta, lay, tex_text, w, z
from deltaprop.explanation.words import say

if TYPE_CHECKING:
    from deltaprop.explanation.core import Explanation

__all__ = ["Cell", "Block", "Picture", "outer_picture", "column_picture", "picture_svg", "picture_latex"]

#: a matrix side longer than this shows the lit cell's neighbours and ellipses
MAX_CELLS = 8
#: the same on a phone's width (the page shows this version below 600 px)
NARROW_CELLS = 4
CELL_H, HEAD_H, CHAR_W, PAD = 26, 38, 7.6, 10
LIT, TINT = "#fee2e2", "#f8fafc"


def _n(v: float) -> str:
    return f"{float(v) + 0.0:.4g}".replace("-", "−")


@dataclass
class Cell:
    """One number of a picture; ``lit`` marks the one the step is about, ``tint`` its row/column."""

    text: str
    lit: bool = False
    tint: bool = False
    gap: bool = False


@dataclass
class Block:
    """A matrix or vector: column heads (two lines: name, value), row heads, cells, a footer."""

    name: str
    cells: list[list[Cell]]
    col_heads: list[str] = field(default_factory=list)
    row_heads: list[str] = field(default_factory=list)
    footer: list[Cell] = field(default_factory=list)


@dataclass
class Picture:
    """Blocks and operators ("×", "=") left to right, with a caption (plain text)."""

    parts: list[Block | str]
    caption: str = ""
    narrow: Picture | None = None


def outer_picture(ex: Explanation, lang: str = "en") -> list[Picture]:
    """δ^(l) (z^(l−1))ᵀ: cell (j, i) = δ_j z_i, lit at the weight's (j, i).  On a batch, two
    grids: the batch mean of δ_j z_i (the gradient, lit cell and all), and the walked sample's."""
    titles = say(lang, "grid.batch", N=_n(ex.N)), say(lang, "grid.sample", sample=ex.sample_name(lang))
    grids = [(False, "")] if ex.n_samples == 1 else list(zip((True, False), titles))
    return [Picture([_outer(ex, MAX_CELLS, batch)], title, narrow=Picture([_outer(ex, NARROW_CELLS, batch)]))
            for batch, title in grids]


def _outer(ex: Explanation, limit: int, batch: bool = False) -> Block:
    """The grid of the walked sample, or (``batch``) of the batch: Σ_n s_n δ_j z_i / N per cell."""
    l, j, i, s, der = ex.l, ex.j, ex.i, ex.walked, ex.derivation
    z_prev, d = [1.0] + list(s.z[l - 1]), s.delta[l]  # z_0 = +1: the bias column
    if batch:  # Δ S Zᵀ / N
        grid = (der.delta[l] * ex.sample_weight) @ np.vstack([np.ones(ex.n_samples), der.z[l - 1]]).T / ex.N
    else:
        grid = np.outer(d, z_prev)
    rows, cols = shown_units(len(d), {j}, limit), [0] + shown_units(len(z_prev) - 1, {i}, limit)
    heads = [
        "…" if isinstance(c, tuple) else z(c, l - 1).text() + ("" if batch else f"\n{_n(z_prev[c])}") if c
        else f"{z(0, l - 1).text()}\n= +1"
        for c in cols
    ]
    cells, row_heads = [], []
    for r in rows:
        if isinstance(r, tuple):
            row_heads.append("⋮")
            cells.append([Cell("⋮" if not isinstance(c, tuple) else "⋱", gap=True) for c in cols])
            continue
        row_heads.append(delta(r, l).text() if batch else f"{delta(r, l).text()} = {_n(d[r - 1])}")
        cells.append([
            Cell("…", gap=True) if isinstance(c, tuple)
            else Cell(_n(grid[r - 1, c]), lit=(r, c) == (j, i), tint=r == j or c == i)
            for c in cols
        ])
    # the batch grid is the loss's part of ∂E/∂W, Δ Zᵀ / N: the L2 term (α/N) w is not in it
    grad = (f"{Sym('Δ', '', lay(l)).text()} {Sym('Z', '', lay(l - 1)).text()}ᵀ / N" if batch
            else Sym("∂Eₙ/∂W", "", lay(l)).text())
    return Block(grad, cells, heads, row_heads)


def column_picture(ex: Explanation) -> Picture:
    """Column j of W^(l+1) meeting δ^(l+1) row by row: w_kj δ_k and their sum (Wᵀδ)_j."""
    return Picture(_column(ex, MAX_CELLS), narrow=Picture(_column(ex, NARROW_CELLS)))


def _column(ex: Explanation, limit: int) -> list[Block | str]:
    l, j, s = ex.l, ex.j, ex.walked
    assert ex.transpose.elementwise is not None
    W, d = ex.net.W[l + 1], s.delta[l + 1]
    cols = shown_units(W.shape[1], {j}, limit)
    heads = ["…" if isinstance(c, tuple) else f"j = {c}" for c in cols]
    cells, row_heads, dcol, prod = [], [], [], []
    for r in shown_units(W.shape[0], {0}, MAX_CELLS):
        if isinstance(r, tuple):
            row_heads.append(f"⋮ {r[1]}")
            cells.append([Cell("⋮", gap=True) for _ in cols])
            dcol.append([Cell("⋮", gap=True)])
            prod.append([Cell("⋮", gap=True)])
            continue
        row_heads.append(f"k = {r}")
        cells.append([Cell("…", gap=True) if isinstance(c, tuple) else Cell(_n(W[r - 1, c - 1]), lit=c == j)
                      for c in cols])
        dcol.append([Cell(_n(d[r - 1]), tint=True)])
        prod.append([Cell(_n(W[r - 1, j - 1] * d[r - 1]), tint=True)])
    dk, wd = delta("k", l + 1).text(), w("k", j, l + 1).text() + " " + delta("k", l + 1).text()
    total = Cell("Σₖ = " + _n(ex.transpose.elementwise), lit=True)
    return [Block(Sym("W", "", lay(l + 1)).text(), cells, heads, row_heads), "·", Block(dk, dcol, [dk]), "→",
            Block(wd, prod, [wd], footer=[total])]


# ---------------------------------------------------------------------- SVG
def _block_svg(b: Block, x0: float, y0: float) -> tuple[list[str], float, float]:
    """One block's SVG at (x0, y0); returns (elements, width, height)."""
    out = []
    head_w = (max((len(h) for h in b.row_heads), default=0) * CHAR_W + PAD) if b.row_heads else 0
    texts = [c.text for row in b.cells for c in row] + [c.text for c in b.footer]
    texts += [line for h in b.col_heads for line in h.split("\n")]
    cw = max(len(t) for t in texts) * CHAR_W + PAD
    top = y0 + (HEAD_H if b.col_heads else 0)
    for c, head in enumerate(b.col_heads):
        cx = x0 + head_w + c * cw + cw / 2
        for n, line in enumerate(head.split("\n")):
            out.append(f'<text class="head" x="{cx:.1f}" y="{y0 + 14 + 16 * n:.1f}">{escape(line)}</text>')
    for r, row in enumerate(b.cells):
        y = top + r * CELL_H
        if b.row_heads:
            out.append(
                f'<text class="head rowhead" x="{x0 + head_w - 6:.1f}" y="{y + 18:.1f}">'
                f"{escape(b.row_heads[r])}</text>"
            )
        for c, cell in enumerate(row):
            out.append(_cell_svg(cell, x0 + head_w + c * cw, y, cw))
    height = top - y0 + len(b.cells) * CELL_H
    for c, cell in enumerate(b.footer):
        out.append(_cell_svg(cell, x0 + head_w + c * cw, top + len(b.cells) * CELL_H + 4, cw))
        height = top - y0 + (len(b.cells) + 1) * CELL_H + 4
    return out, head_w + cw * len(b.cells[0]), height


def _cell_svg(cell: Cell, x: float, y: float, cw: float) -> str:
    cls = "cell lit" if cell.lit else "cell tint" if cell.tint else "cell gap" if cell.gap else "cell"
    rect = "" if cell.gap else f'<rect x="{x:.1f}" y="{y:.1f}" width="{cw:.1f}" height="{CELL_H}"/>'
    return (
        f'<g class="{cls}">{rect}<text x="{x + cw / 2:.1f}" y="{y + 18:.1f}">{escape(cell.text)}</text></g>'
    )


def picture_svg(p: Picture, title: str = "") -> str:
    """The picture as one inline ``<svg class="grid">``: it scales down with the page, never below
    the diagrams' MIN_SCALE (its figure scrolls instead), so a number stays ≥ 10.6 px."""
    x = 4.0
    elements: list[str] = []
    heights: list[float] = []
    for part in p.parts:
        if isinstance(part, str):  # an operator between two blocks, level with their first row
            y = 4 + HEAD_H + 18
            elements.append(f'<text class="op" x="{x + 12:.1f}" y="{y:.1f}">{escape(part)}</text>')
            x += 24
            continue
        els, width, height = _block_svg(part, x, 4.0)
        elements += els
        heights.append(height)
        x += width + 6
    height = max(heights) + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="grid" width="{x:.0f}" height="{height:.0f}" '
        f'style="min-width:{MIN_SCALE * x:.0f}px" '
        f'viewBox="0 0 {x:.0f} {height:.0f}" role="img" aria-label="{escape(title)}">'
        + (f"<title>{escape(title)}</title>" if title else "")
        + "".join(elements)
        + "</svg>"
    )


#: the pictures' CSS
CSS = f"""
svg.grid {{ display: block; max-width: 100%; height: auto; font-family: sans-serif; margin: .4em 0; }}
svg.grid text {{ font-size: 13.5px; text-anchor: middle; fill: #111; }}
svg.grid text.head {{ fill: #374151; }}
figure.picture {{ overflow-x: auto; }}
svg.grid text.rowhead {{ text-anchor: end; }}
svg.grid text.op {{ font-size: 18px; }}
svg.grid .cell rect {{ fill: #fff; stroke: #d1d5db; }}
svg.grid .cell.tint rect {{ fill: {TINT}; }}
svg.grid .cell.lit rect {{ fill: {LIT}; stroke: #dc2626; stroke-width: 2.4; }}
svg.grid .cell.lit text {{ font-weight: bold; fill: #991b1b; }}
svg.grid .cell.gap text {{ fill: #6b7280; }}
"""


# ---------------------------------------------------------------------- LaTeX
def _cell_tex(cell: Cell) -> str:
    t = tex_text(cell.text)
    return rf"\boxed{{\text{{{t}}}}}" if cell.lit else rf"\text{{{t}}}"


def _block_tex(b: Block) -> str:
    n_cols = len(b.cells[0])
    spec = ("r|" if b.row_heads else "") + "c" * n_cols
    rows = []
    if b.col_heads:
        heads = [r"\text{" + tex_text(h.replace("\n", " ")) + "}" for h in b.col_heads]
        rows.append(("& " if b.row_heads else "") + " & ".join(heads) + r" \\ \hline")
    for r, row in enumerate(b.cells):
        head = (r"\text{" + tex_text(b.row_heads[r]) + "} & ") if b.row_heads else ""
        rows.append(head + " & ".join(_cell_tex(c) for c in row) + r" \\")
    if b.footer:
        rows.append(("& " if b.row_heads else "") + " & ".join(_cell_tex(c) for c in b.footer) + r" \\")
    return r"\begin{array}{" + spec + "}\n" + "\n".join(rows) + "\n" + r"\end{array}"


def picture_latex(p: Picture) -> str:
    """The picture as display math: each block an ``array``, the lit cell ``\\boxed``."""
    parts = [
        _block_tex(x) if isinstance(x, Block) else {"·": r"\cdot", "→": r"\to"}.get(x, x) for x in p.parts
    ]
    return r"{\scriptsize\[" + " \\quad ".join(parts) + r"\]}"
