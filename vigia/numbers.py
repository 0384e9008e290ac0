"""Numbers as people read them in alerts, reports and logs: one formatter for all.

Counts print without decimals; other values keep enough significant digits that a small
expected value or p-value is never shown as 0 (``0.015``, ``5.2e-07``), while everyday
values get two decimals (``16.91``).
"""

from __future__ import annotations

import math


def fmt_number(value: float | None) -> str:
    """``14``, ``1,234``, ``16.91``, ``0.50``, ``0.015``, ``5.2e-07``; ``–`` for none/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if float(value).is_integer():
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude < 0.001:
        return f"{value:.1e}"  # two significant digits: p = 5.2e-07
    if magnitude < 1:
        # two significant digits, at least two decimals: 0.50, 0.015, 0.0015
        decimals = max(2, 1 - math.floor(math.log10(magnitude)))
        return f"{value:.{decimals}f}"
    return f"{value:,.2f}"
