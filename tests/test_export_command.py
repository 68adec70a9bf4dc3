"""``deltaprop export MODEL --to onnx``: a graph that ONNX Runtime runs as the model predicts;
mistakes are one line, exit 2, nothing written."""

import numpy as np
import pytest
from click.testing import CliRunner

import deltaprop as dp
from deltaprop.command.main import main

ort = pytest.importorskip("onnxruntime")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model of the command, trained by `deltaprop train` on a small table."""
    folder = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    n = 40
    size = rng.normal(50, 10, n)
    town = np.array(["north", "south"])[rng.integers(0, 2, n)]
    price = 3 * size + 20 * (town == "north") + rng.normal(0, 1, n)
    data = folder / "houses.csv"
    rows = "".join(f"{s:.6g},{t},{p:.6g}\n" for s, t, p in zip(size, town, price))
    data.write_text("size,town,price\n" + rows)
    model = folder / "houses.dpm"
    argv = ["train", str(data), "--target", "price", "--epochs", "3", "--no-report", "-q"]
    argv += ["--out", str(model)]
    r = CliRunner().invoke(main, argv)
    assert r.exit_code == 0, r.output
    return model, data


def test_export_writes_a_graph_that_predicts_as_the_model(trained):
    model_path, data = trained
    r = CliRunner().invoke(main, ["export", str(model_path), "--to", "onnx"])
    assert r.exit_code == 0, r.output
    out = model_path.with_suffix(".onnx")
    assert f"wrote {out}" in r.output
    assert "  inputs:  2: size, town\n  outputs: 1: price\n" in r.output
    frame = dp.load(model_path)
    table = pd.read_csv(data, dtype=str)
    feed = {
        "size": table["size"].astype(float).to_numpy().reshape(-1, 1),
        "town": table["town"].to_numpy(dtype=object).reshape(-1, 1),
    }
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(["price"], feed)[0]
    np.testing.assert_allclose(got, frame.predict(table), rtol=1e-12)


def test_export_of_a_wide_model_prints_a_summary(tmp_path):
    """A 784-input model printed all 784 names on one line (5,448 characters): the summary
    gives the count, the first and last few names, the outputs and the file, in short lines."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.integers(0, 256, size=(40, 30)), columns=[f"pixel{k}" for k in range(30)])
    frame["digit"] = rng.integers(0, 3, 40)
    frame.to_csv(tmp_path / "d.csv", index=False)
    model, out = tmp_path / "d.dpm", tmp_path / "d.onnx"
    argv = ["train", str(tmp_path / "d.csv"), "--target", "digit", "--epochs", "2", "--no-report", "-q"]
    assert CliRunner().invoke(main, [*argv, "--out", str(model)]).exit_code == 0
    r = CliRunner().invoke(main, ["export", str(model), "--out", str(out)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines == [
        f"wrote {out} (ONNX, {out.stat().st_size:,} bytes)",
        "  inputs:  30: pixel0, pixel1, pixel2, …, pixel27, pixel28, pixel29",
        "  outputs: 2: digit, probabilities (n × 3)",
    ]


def test_export_writes_where_out_says(trained, tmp_path):
    model_path, _ = trained
    out = tmp_path / "deployed.onnx"
    r = CliRunner().invoke(main, ["export", str(model_path), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:2] != b"PK"  # an ONNX protobuf, not the zip of a model file
    assert ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_outputs()[0].name == "price"


@pytest.mark.parametrize(
    "args, message",
    [
        (["export", "{missing}"], "no such model file"),
        (["export", "{model}", "--to", "tflite"], "invalid value for '--to'"),
        (["export", "{model}", "--out", "{tmp}/no/such/dir/m.onnx"], "does not exist"),
        (["export", "{model}", "--out", "{model}"], "is the model file itself"),
        (["export", "{csv}", "--out", "{tmp}/x.onnx"], "error: "),
    ],
    ids=["missing-model", "unknown-format", "missing-directory", "onto-the-model", "not-a-model"],
)
def test_export_mistakes_are_one_line_exit_2_and_write_nothing(trained, tmp_path, args, message):
    model_path, data = trained
    before = model_path.read_bytes()
    names = {"missing": tmp_path / "none.dpm", "model": model_path, "tmp": tmp_path, "csv": data}
    argv = [a.format(**names) for a in args]
    r = CliRunner().invoke(main, argv)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0].lower(), r.output
    assert list(tmp_path.iterdir()) == []
    assert model_path.read_bytes() == before


def test_export_of_a_saved_network_takes_X_and_gives_y(tmp_path):
    net = dp.Network([3, 4, 2], "softplus", loss="log_loss", random_state=0)
    dp.save(net, tmp_path / "net.dpm")
    r = CliRunner().invoke(main, ["export", str(tmp_path / "net.dpm")])
    assert r.exit_code == 0, r.output
    X = np.random.default_rng(0).normal(size=(5, 3))
    session = ort.InferenceSession(str(tmp_path / "net.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(["y"], {"X": X})[0], net.predict(X), rtol=1e-12)


def test_export_without_onnx_installed_says_which_extra_to_install(trained, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    model_path, _ = trained
    src = Path(__file__).resolve().parents[1] / "src"
    code = (
        f"import sys; sys.path.insert(0, {str(src)!r})\n"
        "class _Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'onnx':\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, _Absent())\n"
        "from deltaprop.command.launch import main\n"
        f"main(['export', {str(model_path)!r}, '--out', {str(tmp_path / 'm.onnx')!r}])\n"
    )
    argv = [sys.executable, "-W", "ignore", "-c", code]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'deltaprop[onnx]'" in lines[0], r.stderr
    assert list(tmp_path.iterdir()) == []
