"""A package people can install: a lean library, the command's extra, one version, a license."""

import subprocess
import sys
import textwrap
from pathlib import Path

import tomllib

import deltaprop

ROOT = Path(__file__).resolve().parents[1]
CLI_EXTRA = ("pandas", "pyarrow", "rich", "click")

# a finder that makes the command's dependencies (and the optional bridges) unimportable, as
# in an environment where only `pip install deltaprop` ran
_LEAN = textwrap.dedent(
    f"""
    import sys
    class _Absent:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {CLI_EXTRA + ("torch", "onnx", "onnxruntime", "skl2onnx")!r}:
                raise ImportError(f"{{name}} is not installed here")
            return None
    sys.meta_path.insert(0, _Absent())
    """
)


def _run(code, *args):
    src = str(ROOT / "src")
    env_code = f"import sys; sys.path.insert(0, {src!r})\n" + _LEAN + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", env_code, *args], capture_output=True, text=True, timeout=120
    )


def test_the_library_trains_saves_and_explains_without_the_commands_dependencies(tmp_path):
    r = _run(
        f"""
        import numpy as np, deltaprop
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(30, 3)), rng.normal(size=30)
        reg = deltaprop.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3).fit(X, y)
        deltaprop.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3).fit(X, y > 0).predict_proba(X)
        deltaprop.save(reg, {str(tmp_path / "m.dpm")!r})
        deltaprop.explain(deltaprop.load({str(tmp_path / "m.dpm")!r}), "2:1,1", X, y).to_html()
        print(sorted(m for m in {CLI_EXTRA!r} if m in sys.modules))
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_the_command_without_its_extra_says_to_install_it_in_one_line():
    r = _run("from deltaprop.command.launch import main; main(['--help'])")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "pip install 'deltaprop[cli]'" in lines[0]


def test_the_command_runs_through_its_launcher_where_the_extra_is_installed():
    r = subprocess.run(
        [sys.executable, "-m", "deltaprop", "--version"],
        capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"deltaprop, version {deltaprop.__version__}"


def test_the_core_dependencies_and_the_cli_extra_split_as_documented():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = lambda reqs: {r.split(">")[0].split("=")[0].split("[")[0].strip() for r in reqs}  # noqa: E731
    assert names(meta["dependencies"]) == {"numpy", "scipy", "scikit-learn", "numba"}
    assert set(CLI_EXTRA) <= names(meta["optional-dependencies"]["cli"])
    assert meta["scripts"]["deltaprop"] == "deltaprop.command.launch:main"
    assert "MIT License" in (ROOT / "LICENSE").read_text() and meta["license"] == "MIT"


def test_the_version_has_one_home_that_the_package_and_the_changelog_follow():
    from deltaprop._version import __version__

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "deltaprop._version.__version__"
    assert deltaprop.__version__ == __version__
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text()
