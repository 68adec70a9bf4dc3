"""`make demo` runs offline and shows the seed's formulas agreeing with backprop."""

from deltaprop.demo import main


def test_demo_trains_and_agrees(capsys):
    main(n_epochs=300)
    out = capsys.readouterr().out
    assert "∂Eₙ/∂w₂₁⁽³⁾ = (y₂ − d₂) z₁⁽²⁾" in out
    assert "∂Eₙ/∂w₂₁⁽²⁾ = f′(u₂⁽²⁾) Σₖ wₖ₂⁽³⁾ (uₖ⁽³⁾ − dₖ) z₁⁽¹⁾" in out
    assert "agree" in out
