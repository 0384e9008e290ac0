"""Year-over-year growth, e.g. coca hectares per municipality (SIMCI census).

Compares the last value with the one ``freq`` periods earlier (the previous
year on a yearly series). It alarms when the value grew, is at least
``min_level`` (hectares), grew by at least ``min_relative`` (0.2 = +20 %) and by
at least ``min_absolute``. ``threshold`` is the smallest value meeting all three,
``score`` the relative growth (``None`` when last year was 0: growth from
nothing is judged on ``min_absolute`` and ``min_level`` alone).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field
from vigia.streams.detectors.base import Detector, DetectorConfig, DetectorResult, SeriesContext


class YoyChangeConfig(DetectorConfig):
    min_relative: float = Field(default=0.2, ge=0, description="0.2 = +20 %")
    min_absolute: float = Field(default=0.0, ge=0, description="in the signal's unit")
    min_level: float = Field(default=0.0, ge=0, description="current value at least this")


class YoyChange(Detector):
    """Relative and absolute growth against the same period a year earlier."""

    name = "yoy_change"
    Config = YoyChangeConfig
    config: YoyChangeConfig

    def history_length(self, freq: int) -> int:
        return max(freq, 1) + 1

    def evaluate(self, values: Sequence[float], context: SeriesContext) -> DetectorResult | None:
        cfg = self.config
        lag = max(context.freq, 1)
        if len(values) <= lag:
            return None
        cur, prev = float(values[-1]), float(values[-1 - lag])
        threshold = max(prev * (1 + cfg.min_relative), prev + cfg.min_absolute, cfg.min_level)
        growth = (cur - prev) / prev if prev > 0 else None
        return DetectorResult(
            alarm=cur > prev and cur >= threshold,
            observed=cur,
            expected=prev,
            threshold=threshold,
            score=growth,
            score_kind="growth",
            details={"absolute_change": cur - prev},
        )
