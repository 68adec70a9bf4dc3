"""to_latex() is a standalone document that pdflatex compiles as it is (no Unicode in text mode).

pdflatex is Debian's texlive (.ci/run installs it); under CI=true a missing pdflatex fails
these tests instead of skipping them, as a missing browser does.
"""

from __future__ import annotations

import os
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


def _compile(pdflatex, tex, tmp_path, name):
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
