"""Numbers as the command prints them and the report shows them: for people, not for parsers."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_metric", "format_number", "standardisation", "preprocessing"]

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_metric(v: object) -> str:
    """A metric as the command prints it and the report shows it: 4 decimals (4 digits past 1e5)."""
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1e5 else f"{v:.4g}"
    return str(v)


def format_number(v: float, digits: int = 4) -> str:
    """``v`` with ``digits`` significant digits, as a person writes it.

    Plain decimals between 0.001 and 1,000,000 (thousands separated by commas, no trailing
    zeros); beyond, a × 10ⁿ; a minus sign '−'.  Examples: 0.1235, 12,346, 2.5, 5.388 × 10⁻⁶.
    """
    v = float(v)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("∞" if v > 0 else "−∞")
    if v == 0:
        return "0"
    sign = "−" if v < 0 else ""
    a = abs(v)
    exponent = math.floor(math.log10(a))
    if -3 <= exponent < 6:
        decimals = max(digits - 1 - exponent, 0)
        text = f"{a:,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return sign + text
    mantissa = f"{a / 10**exponent:.{digits - 1}f}".rstrip("0").rstrip(".")
    if mantissa == "10":  # rounding carried into the next power
        mantissa, exponent = "1", exponent + 1
    return f"{sign}{mantissa} × 10{str(exponent).translate(_SUPERSCRIPT)}"


def standardisation(mean: float, scale: float) -> str:
    """'(x − 3.2) / 1.5', with the sign of the mean folded in: (x + 5.388 × 10⁻⁶) / 2; 'x / 255'
    where the mean is 0 (columns scaled together, like pixels)."""
    if mean == 0:
        return f"x / {format_number(scale)}"
    shift = f"x − {format_number(mean)}" if mean > 0 else f"x + {format_number(-mean)}"
    return f"({shift}) / {format_number(scale)}"


def preprocessing(spec: Any) -> tuple[str, str]:
    """How one input column (a :class:`~deltaprop.tabular.encode.ColumnSpec`) is encoded:
    (encoding, how), e.g. ('standardised', '(x − 3.2) / 1.5'), ('scaled', 'x / 255') for
    columns scaled together, ('one-hot', 'over 3: a, b, c')."""
    if spec.kind != "numeric":
        shown = ", ".join(str(v) for v in spec.categories[:8])
        return "one-hot", f"over {len(spec.categories)}: {shown}" + (" …" if len(spec.categories) > 8 else "")
    return ("scaled" if spec.mean == 0 else "standardised"), standardisation(spec.mean, spec.scale)
