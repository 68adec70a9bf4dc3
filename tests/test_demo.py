"""`make demo` runs offline and shows the worked example's formulas agreeing with backprop."""

from deltaprop.command.demo import main


def test_demo_trains_agrees_and_writes_the_explain_page(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(n_epochs=300)
    out = capsys.readouterr().out
    assert "∂Eₙ/∂w₂₁⁽³⁾ = (y₂ − d₂) z₁⁽²⁾" in out
    assert "∂Eₙ/∂w₂₁⁽²⁾ = f′(u₂⁽²⁾) Σₖ wₖ₂⁽³⁾ (uₖ⁽³⁾ − dₖ) z₁⁽¹⁾" in out
    assert "agree" in out
    page = (tmp_path / "explain.html").read_text("utf-8")
    assert "<math" in page and "<svg" in page and "<script" not in page
