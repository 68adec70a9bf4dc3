"""Sphinx configuration: the API reference from the numpydoc docstrings, the Markdown pages
through MyST, and the examples run at build time by sphinx-gallery (``make docs``)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("MPLBACKEND", "Agg")

import deltaprop  # noqa: E402

project = "deltaprop"
author = "The deltaprop developers"
copyright = "2026, The deltaprop developers"
release = deltaprop.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = [
    "_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb", "auto_examples/*.py", "figures",
]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# the one check that holds while docstrings change all day: every documented object has one
numpydoc_validation_checks = {"GL08"}

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "capture_repr": ("_repr_html_", "__repr__"),
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
    "write_computation_times": False,
}

intersphinx_mapping: dict = {}  # the build reads nothing from the network

html_theme = "pydata_sphinx_theme"
html_title = f"deltaprop {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []

# the pages of the guide, in order; a page another ring has not written yet is left out
_PAGES = [
    "derivation",
    "command",
    "model-format",
    "architecture",
    "dropin",
    "performance",
    "distributed",
    "auto_examples/index",
    "api",
    "changelog",
]


def _present(page: str) -> str | None:
    if page == "auto_examples/index":
        return page
    for suffix in (".md", ".rst"):
        if (HERE / f"{page}{suffix}").exists():
            return page
    return None


def _index_toctree(app, docname, source):
    """Fill the index's toctree with the pages that exist."""
    if docname != "index":
        return
    pages = [p for p in map(_present, _PAGES) if p]
    # a page another engineer adds joins the guide before the examples, by name
    known = set(_PAGES) | {"index"}
    others = sorted(
        f.stem for f in HERE.iterdir() if f.suffix in (".md", ".rst") and f.stem not in known
    )
    at = pages.index("auto_examples/index")
    pages[at:at] = others
    source[0] = source[0].replace("   PAGES\n", "".join(f"   {p}\n" for p in pages))


# pages that sketch JSON with "a" | "b" alternatives are not JSON: show them unhighlighted
suppress_warnings = ["misc.highlighting_failure"]
if any(_present(p) != p for p in _PAGES):
    # a page links to one that another ring has not written yet
    suppress_warnings.append("myst.xref_missing")

# a bare name ending in "_" (loss_, coefs_) is a hyperlink reference to reStructuredText;
# in the docstrings' prose it means the attribute, so it is set as code before numpydoc reads it
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w*|.])([A-Za-z]\w*_)(?=[\s,;:)]|\.(?:\s|$)|$)")
_PARAMETER_LINE = re.compile(r"^(\s*[A-Za-z]\w*_?\s*:\s)")


def _code_for_trailing_underscores(app, what, name, obj, options, lines):
    for k, line in enumerate(lines):
        head = _PARAMETER_LINE.match(line)
        start = head.end() if head else 0
        if re.fullmatch(r"\s*[A-Za-z]\w*_", line) or line.lstrip().startswith((">>>", "...")):
            continue  # a parameter line with no type, or a doctest
        lines[k] = line[:start] + _TRAILING_UNDERSCORE.sub(r"``\1``", line[start:])


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out what the estimators inherit from scikit-learn (its docs cover it)."""
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and callable(obj) and not module.startswith("deltaprop"):
        return True
    return None


def setup(app):
    app.connect("source-read", _index_toctree)
    app.connect("autodoc-process-docstring", _code_for_trailing_underscores, priority=100)
    app.connect("autodoc-skip-member", _skip_foreign_members)
