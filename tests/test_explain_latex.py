"""to_latex() is a standalone document that pdflatex compiles as it is (no Unicode in text mode),
or in Japanese one that LuaLaTeX compiles with luatexja; no line overfull by more than 1 pt,
outline fonts (Latin Modern), and numbers on the diagrams' units.

pdflatex, lualatex, lmodern and luatexja are Debian's texlive (.ci/run installs them); under
CI=true a missing one fails these tests instead of skipping them, as a missing browser does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

import deltaprop as dp


@pytest.fixture(scope="module")
def pdflatex():
    exe = shutil.which("pdflatex")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdflatex is missing: install texlive-latex-base and texlive-pictures (see .ci/run)")
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base texlive-pictures)")
    return exe


@pytest.fixture(scope="module")
def lualatex():
    exe = shutil.which("lualatex")
    found = subprocess.run(["kpsewhich", "luatexja.sty"], capture_output=True, text=True) if exe else None
    if exe is None or found is None or not found.stdout.strip():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "lualatex or luatexja is missing: install texlive-luatex texlive-lang-japanese (.ci/run)"
            )
        pytest.skip("lualatex with luatexja is not installed (apt-get install texlive-lang-japanese)")
    return exe


def _compile(pdflatex, tex, tmp_path, name):
    """Compile; no error, no line overfull by more than 1 pt, no bitmap (Type 3) fonts."""
    (tmp_path / f"{name}.tex").write_text(tex, encoding="utf-8")
    run = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
    assert run.returncode == 0 and not errors, errors or run.stdout[-2000:]
    assert (tmp_path / f"{name}.pdf").stat().st_size > 5000
    log = (tmp_path / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    overfull = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(x <= 1.0 for x in overfull), f"{name}: lines overfull by {overfull} pt"
    assert ".pk" not in log, "a bitmap font was used"
    return log


def test_hidden_weight_of_a_batch_compiles(pdflatex, tmp_path, rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    X, D = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    hidden = dp.explain(net, (2, 2, 1), X, D, alpha=0.1, sample=3).to_latex()
    assert hidden.startswith(r"\documentclass") and r"\end{document}" in hidden
    assert r"\begin{tikzpicture}" in hidden and r"\boxed" in hidden  # the diagrams and the lit cell
    # math-mode subscripts and \dots, never the Unicode subscripts pdflatex cannot set
    assert not any(c in hidden for c in "ₙₖⱼᵢ⁽⁾−′δΣα…")
    _compile(pdflatex, hidden, tmp_path, "hidden")


def test_deep_wide_and_non_canonical_networks_compile(pdflatex, tmp_path, rng):
    deep = dp.Network([10, 32, 32, 32, 3], activation="relu", random_state=1)
    tex = dp.explain(deep, (2, 5, 3), rng.normal(size=(3, 10)), rng.normal(size=(3, 3))).to_latex()
    _compile(pdflatex, tex, tmp_path, "deep")
    soft = dp.Network(
        [3, 4, 3], activation="leaky_relu", output="softmax", loss="binary_log_loss", random_state=0
    )
    tex = dp.explain(soft, (2, 2, 1), rng.normal(size=(2, 3)), rng.uniform(0.1, 0.9, size=(2, 3))).to_latex()
    _compile(pdflatex, tex, tmp_path, "softmax")


def test_text_with_unicode_math_becomes_latex():
    from deltaprop.explanation.formula import tex_text

    assert (
        tex_text("Eₙ = ½ Σₖ (yₖ − dₖ)²")
        == r"E$_{n}$ = $\frac{1}{2}$ $\Sigma_{k}$ (y$_{k}$ $-$ d$_{k}$)$^{2}$"
    )
    assert tex_text("w₂₁⁽³⁾ f′(u), 50% a_b …") == r"w$_{21}^{(3)}$ f$'$(u), 50\% a\_b \dots{}"


def test_units_carry_their_numbers_and_fonts_are_outlines(rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    ex = dp.explain(net, (3, 2, 1), rng.normal(size=(1, 4)), rng.normal(size=(1, 3)))
    tex = ex.to_latex()
    assert r"\usepackage{lmodern}" in tex
    s = ex.walked
    # the hidden unit z_1's card: its name, then u, z, f′ and δ of the walked sample
    z1 = f"{s.u[2][0] + 0.0:.3g}".replace("-", "$-$")
    assert re.search(
        r"\\node\[draw, rounded corners[^\n]*\{z\$_\{1\}\^\{\(2\)\}\$\\\\u " + re.escape(z1), tex
    )


def test_japanese_latex_is_japanese_and_compiles_with_lualatex(lualatex, tmp_path, rng):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    X, D = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    ex = dp.explain(net, (2, 2, 1), X, D, lang="ja")
    ja, en = ex.to_latex(), ex.to_latex(lang="en")
    assert ja != en and "ltjsarticle" in ja and "連鎖律" in ja and "中間層" in ja
    assert "ltjsarticle" not in en and "連鎖律" not in en
    _compile(lualatex, ja, tmp_path, "ja")
    out = dp.explain(net, (3, 1, 0), X[:1], D[:1], lang="ja").to_latex()
    _compile(lualatex, out, tmp_path, "ja_output")
