"""Every code block of the README runs as written, so the README cannot rot.

Python blocks run one by one, each in a fresh namespace (each must stand on its own); the
``sh`` block's ``deltaprop`` lines run in this process, in the same directory, after the
block that writes their data.  The repository stands alone: nothing points outside it.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def blocks(kind):
    return re.findall(rf"^```{kind}\n(.*?)^```", README.read_text("utf-8"), flags=re.S | re.M)


def test_the_readme_has_code_to_run():
    assert len(blocks("python")) >= 4 and len(blocks("sh")) == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_every_readme_block_runs_on_its_own(tmp_path, monkeypatch, capsys):
    from _cli import run

    monkeypatch.chdir(tmp_path)
    for code in blocks("python"):
        if "import dask" in code and importlib.util.find_spec("dask") is None:
            continue  # the Dask block needs the dask extra (tests/test_distributed.py's condition)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # matplotlib's, on a headless machine
            exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    for line in blocks("sh")[0].splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        assert words[0] == "deltaprop", line
        r = run(*words[1:], cwd=tmp_path)
        assert r.returncode == 0, (line, r.stderr)
    for name in ("diabetes.dpm", "diabetes.report.html", "pred.csv", "wine.dpm", "wine.json", "w21.html"):
        assert (tmp_path / name).exists(), name


def test_the_repository_points_at_nothing_outside_it():
    """The README and code pointed at shared/seed and shared/design.md, files a user of the
    repository does not have."""
    pattern = re.compile(r"(?<![\w.-])(\.\./)?shared/")
    found = []
    for path in [README, *ROOT.glob("docs/**/*.md"), *ROOT.glob("src/**/*.py"), ROOT / "DEVELOPERS.md"]:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}")
    assert found == []


def test_the_derivation_page_shows_figures_the_project_draws():
    page = (ROOT / "docs" / "derivation.md").read_text("utf-8")
    for formula in ("(y_j − d_j) z_i^(2)", "f′(u_j^(2)) Σ_k w_kj^(3) (u_k^(3) − d_k) z_i^(1)",
                    "(W^(l+1))ᵀ δ^(l+1)"):
        assert formula in page
    spec = importlib.util.spec_from_file_location("draw", ROOT / "docs" / "figures" / "draw.py")
    draw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(draw)
    drawn = draw.figures()
    for name in re.findall(r"\(figures/([\w-]+\.svg)\)", page):
        assert name in drawn and (ROOT / "docs" / "figures" / name).exists(), name
        assert (ROOT / "docs" / "figures" / name).read_text("utf-8").startswith("<svg")
