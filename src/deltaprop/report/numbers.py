"""Numbers as the command prints them and the report shows them."""


def format_metric(v):
    """A metric as the command prints it and the report shows it: 4 decimals (4 digits past 1e5)."""
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1e5 else f"{v:.4g}"
    return str(v)
