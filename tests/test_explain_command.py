"""``deltaprop explain MODEL --weight … --data … [--row …] [--format …] [--out …]``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

import deltaprop as dp
from deltaprop.command.explain import explain as explain_command
from deltaprop.errors import UserError

io = pytest.importorskip("deltaprop.files.archive")

SEED_OUTPUT = "∂Eₙ/∂w₂₁⁽³⁾ = (y₂ − d₂) z₁⁽²⁾"


@pytest.fixture
def seed_files(tmp_path):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    rng = np.random.default_rng(7)
    X, D = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    model = tmp_path / "seed.dpm"
    io.save(net, model)
    data = tmp_path / "data.csv"
    header = "x1,x2,x3,x4,d1,d2,d3"
    np.savetxt(data, np.hstack([X, D]), delimiter=",", header=header, comments="", fmt="%.17g")
    return net, X, D, str(model), str(data)


def test_text_for_one_row_is_the_seed_derivation(seed_files):
    net, X, D, model, data = seed_files
    result = CliRunner().invoke(explain_command, [model, "--weight", "3:2,1", "--data", data, "--row", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(SEED_OUTPUT)
    expected = dp.explain(net, (3, 2, 1), X[1:2], D[1:2])
    assert dataclasses.replace(expected, rows=[2]).to_text() == result.output  # named by its row
    assert "row 2 of the table" in result.output and "sample n =" not in result.output


def test_all_rows_give_the_batch_gradient_and_html_goes_to_a_file(seed_files, tmp_path):
    net, X, D, model, data = seed_files
    out = tmp_path / "page.html"
    result = CliRunner().invoke(explain_command, [model, "-w", "2:2,1", "--data", data, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out.resolve())
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<math" in html and "<svg" in html
    value = f"{dp.explain(net, (2, 2, 1), X, D).value:.12g}".replace("-", "−")
    assert value in html


def test_latex_format(seed_files):
    _, _, _, model, data = seed_files
    result = CliRunner().invoke(explain_command, [model, "-w", "2:1,0", "-d", data, "--format", "latex"])
    assert result.exit_code == 0, result.output
    assert r"\begin{align*}" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--weight", "4:1,1"], "--weight 4:1,1: layer l=4 out of range: weights live in layers 2 … 3"),
        (["--weight", "3:1,9"], "layer 2 has units 1 … 5"),
        (["--weight", "3:2,1", "--row", "9"], "--row 9 is out of range"),
    ],
)
def test_user_mistakes_raise_user_error_naming_the_fix(seed_files, args, message):
    _, _, _, model, data = seed_files
    result = CliRunner().invoke(explain_command, [model, "--data", data, *args])
    assert isinstance(result.exception, UserError)
    assert message in str(result.exception)
    assert "\n" not in str(result.exception)


def test_missing_data_and_wrong_width_are_user_errors(seed_files, tmp_path):
    _, _, _, model, data = seed_files
    result = CliRunner().invoke(explain_command, [model, "--weight", "3:2,1"])
    assert isinstance(result.exception, UserError) and "--data FILE" in str(result.exception)
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("a,b,c\n1,2,3\n")
    result = CliRunner().invoke(explain_command, [model, "--weight", "3:2,1", "--data", str(narrow)])
    assert isinstance(result.exception, UserError) and "needs 7" in str(result.exception)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_classifier_file_with_a_label_column(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 3))
    labels = np.array(["a", "b", "c"])[rng.integers(0, 3, 30)]
    est = dp.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, labels)
    model = tmp_path / "clf.dpm"
    io.save(est, model)
    data = tmp_path / "clf.csv"
    data.write_text(
        "p,q,r,label\n" + "".join(f"{a:.17g},{b:.17g},{c:.17g},{y}\n" for (a, b, c), y in zip(X, labels))
    )
    result = CliRunner().invoke(explain_command, [str(model), "-w", "2:1,1", "-d", str(data), "--row", "1"])
    assert result.exit_code == 0, result.output
    expected = dp.explain(est, (2, 1, 1), X[:1], labels[:1])
    assert dataclasses.replace(expected, rows=[1]).to_text() == result.output


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_tabular_model_reads_the_table_through_its_own_preprocessing(tmp_path):
    tabular = pytest.importorskip("deltaprop.tabular.model")
    rng = np.random.default_rng(5)
    n = 25
    colour = np.array(["red", "blue"])[rng.integers(0, 2, n)]
    size = rng.normal(10, 3, n)
    price = 2 * size + (colour == "red") + rng.normal(0, 0.1, n)
    data = tmp_path / "shop.csv"
    data.write_text(
        "colour,size,price\n" + "".join(f"{c},{s:.17g},{p:.17g}\n" for c, s, p in zip(colour, size, price))
    )
    frame = tabular.read_table(data)
    features = tabular.FeatureEncoder().fit(frame, ["colour", "size"])
    target = tabular.TargetEncoder(["price"], "regression")
    Y, _ = target.values(frame)
    target.fit(Y)
    X = features.transform(frame)
    est = dp.MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    est.fit(X, target.encode(Y).ravel())
    model = tmp_path / "shop.dpm"
    io.save(tabular.TabularModel(features, target, est), model)
    result = CliRunner().invoke(explain_command, [str(model), "-w", "3:1,2", "-d", str(data), "--row", "3"])
    assert result.exit_code == 0, result.output
    expected = dp.explain(est, (3, 1, 2), X[2:3], target.encode(Y)[2:3])
    # the same numbers, in the user's words: columns, the target, the table's row and raw values
    names = ["colour=blue", "colour=red", "size"]
    raw = ([[colour[2], colour[2], f"{size[2]:.6g}"]], [[f"{price[2]:.6g}"]])
    words = dataclasses.replace(expected, inputs=names, outputs=["price"], rows=[3], raw=raw)
    assert words.to_text() == result.output
    assert "unit 1 (price) of layer 3" in result.output and "3 (size)" in result.output
    assert f"(table: {price[2]:.6g})" in result.output
    page = CliRunner().invoke(
        explain_command, [str(model), "-w", "2:1,3", "-d", str(data), "--format", "html"]
    )
    assert page.exit_code == 0, page.output
    html = page.output
    assert "colour=red" in html and "size" in html and ">price</text>" in html  # the diagram's cards
    assert "row 1 of the table" in html and "standardised" in html
    assert f"{size[0]:.6g}" in html


def test_sample_and_lang_choose_the_walked_row_and_the_language(seed_files):
    net, X, D, model, data = seed_files
    args = [model, "-w", "2:2,1", "-d", data, "--sample", "4", "--lang", "ja"]
    result = CliRunner().invoke(explain_command, args)
    assert result.exit_code == 0, result.output
    expected = dp.explain(net, (2, 2, 1), X, D, sample=4, lang="ja")
    assert result.output == dataclasses.replace(expected, rows=list(range(1, len(X) + 1))).to_text()
    assert "中間層" in result.output and "（表の 4 行目）" in result.output
    # with --row, the walked sample is counted among the rows given
    args = [model, "-w", "2:2,1", "-d", data, "--row", "5", "--row", "2", "--sample", "2"]
    result = CliRunner().invoke(explain_command, args)
    assert result.exit_code == 0, result.output
    expected = dp.explain(net, (2, 2, 1), X[[4, 1]], D[[4, 1]], sample=2)
    assert result.output == dataclasses.replace(expected, rows=[5, 2]).to_text()
    assert "(row 2 of the table)" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sample", "9"], "--sample 9 is not among the rows explained; pick a row of"),
        (["--row", "1", "--sample", "3"], "pick one of the --row numbers given"),
        (["--alpha", "-1"], "--alpha -1: the L2 strength must be a finite number ≥ 0"),
        (["--alpha", "inf"], "--alpha inf: the L2 strength must be a finite number ≥ 0"),
    ],
)
def test_bad_sample_and_alpha_are_user_errors(seed_files, args, message):
    _, _, _, model, data = seed_files
    result = CliRunner().invoke(explain_command, [model, "-w", "2:2,1", "--data", data, *args])
    assert isinstance(result.exception, UserError), result.output
    assert message in str(result.exception) and "\n" not in str(result.exception)


def test_latex_format_is_a_standalone_document(seed_files):
    _, _, _, model, data = seed_files
    result = CliRunner().invoke(explain_command, [model, "-w", "3:2,1", "-d", data, "--format", "latex"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(r"\documentclass") and result.output.rstrip().endswith(r"\end{document}")
    # --lang ja writes the Japanese document (for LuaLaTeX), never the English one in silence
    ja = CliRunner().invoke(
        explain_command, [model, "-w", "3:2,1", "-d", data, "--format", "latex", "--lang", "ja"]
    )
    assert ja.exit_code == 0 and ja.output != result.output
    assert "ltjsarticle" in ja.output and "連鎖律" in ja.output


def test_weight_all_makes_one_page_of_every_weight(seed_files, tmp_path):
    net, X, D, model, data = seed_files
    out = tmp_path / "all.html"
    result = CliRunner().invoke(
        explain_command, [model, "-w", "all", "-d", data, "--row", "2", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    weights = [
        (l, j, i) for l in (2, 3) for j in range(1, net.sizes[l - 1] + 1) for i in range(net.sizes[l - 2] + 1)
    ]
    assert len(weights) == 43
    for l, j, i in weights:
        assert f'<a href="#w-{l}-{j}-{i}">' in html and f'id="w-{l}-{j}-{i}"' in html
    assert html.count('<details class="weight">') == 43 and "<script" not in html.lower()
    expected = dp.explain(net, "all", X[1:2], D[1:2])
    assert {ex.weight: ex.value for ex in expected} == pytest.approx(
        {(l, j, i): float(dp.explain(net, (l, j, i), X[1:2], D[1:2]).backprop) for l, j, i in weights},
        rel=1e-9,
    )
    top = expected.largest
    assert html.count('class="largest"') == 1 and f'href="#w-{top.l}-{top.j}-{top.i}">' in html
    text = CliRunner().invoke(explain_command, [model, "-w", "all", "-d", data])
    assert text.exit_code == 0 and text.output.count("\n") >= 45 and "◀ largest" in text.output
    latex = CliRunner().invoke(explain_command, [model, "-w", "all", "-d", data, "--format", "latex"])
    assert isinstance(latex.exception, UserError) and "use --format html" in str(latex.exception)


def test_weight_all_refuses_a_network_too_big_in_one_line(tmp_path, rng):
    big = dp.Network([10, 30, 3], random_state=0)
    model = tmp_path / "big.dpm"
    io.save(big, model)
    data = tmp_path / "big.csv"
    np.savetxt(
        data,
        rng.normal(size=(2, 13)),
        delimiter=",",
        header=",".join(f"c{k}" for k in range(13)),
        comments="",
    )
    result = CliRunner().invoke(explain_command, [str(model), "-w", "all", "-d", str(data)])
    assert isinstance(result.exception, UserError)
    message = str(result.exception)
    assert "up to 300 weights" in message and "has 423" in message and "\n" not in message
    with pytest.raises(ValueError, match="up to 300 weights on one page; this 10-30-3 network has 423"):
        dp.explain(big, "all", np.zeros((1, 10)), np.zeros((1, 3)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_command_classifier_names_its_outputs_by_class_and_its_rows(tmp_path):
    tabular = pytest.importorskip("deltaprop.tabular.model")
    rng = np.random.default_rng(5)
    n = 25
    colour = np.array(["red", "blue"])[rng.integers(0, 2, n)]
    size = rng.normal(10, 3, n)
    kind = np.array(["cheap", "mid", "dear"])[rng.integers(0, 3, n)]
    data = tmp_path / "shop.csv"
    data.write_text(
        "colour,size,kind\n" + "".join(f"{c},{s:.17g},{k}\n" for c, s, k in zip(colour, size, kind))
    )
    frame = tabular.read_table(data)
    features = tabular.FeatureEncoder().fit(frame, ["colour", "size"])
    target = tabular.TargetEncoder(["kind"], "classification")
    Y, _ = target.values(frame)
    target.fit(Y)
    est = dp.MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    est.fit(features.transform(frame), target.encode(Y))
    model = tmp_path / "shop.dpm"
    io.save(tabular.TabularModel(features, target, est), model)
    args = [str(model), "-w", "3:2,1", "-d", str(data), "--row", "4"]
    text = CliRunner().invoke(explain_command, args).output
    assert "to unit 2 (dear) of layer 3" in text and f"(table: {kind[3]})" in text
    assert "1 (cheap)" in text and "3 (mid)" in text and "row 4 of the table" in text
    html = CliRunner().invoke(explain_command, [*args, "--format", "html"]).output
    assert ">cheap</text>" in html and ">colour=red</text>" in html and "row 4 of the table" in html
