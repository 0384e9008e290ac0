"""Charts as inline SVG, drawn without a plotting library, for every stage that shows them.

* :func:`series_svg` — a time series with its threshold, expected level and alarms (the
  backtest report, alert pages, e-mail pictures).
* :func:`region_map_svg` — department outlines with a highlighted region and points.

The SVG is self-contained (``xmlns``, fonts named, no CSS from outside), so the same
string is inlined in HTML and converted to PNG for e-mail.
"""

from vigia.charts.map import MapPoint, region_map_svg
from vigia.charts.series import series_svg

__all__ = ["MapPoint", "region_map_svg", "series_svg"]
