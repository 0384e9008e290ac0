"""Highest level in ``years`` years, above a minimum.

"30-day fatalities not seen in 3 years, at least 100" on a daily series is
``{window: 30, years: 3, minimum: 100}``: the current total is the sum of the
last ``window`` periods; it alarms when it is at least ``minimum`` and higher
than every ``window``-period total ending in the ``years * freq`` periods before
(the record to beat is the ``threshold``). With ``window: 1`` on a yearly series
it is "the most hectares in N years". The detector needs the whole look-back:
shorter histories give no verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field
from vigia.streams.detectors.base import Detector, DetectorConfig, DetectorResult, SeriesContext


class RecordLevelConfig(DetectorConfig):
    years: float = Field(default=3, gt=0, description="look-back in years")
    window: int = Field(default=1, ge=1, description="periods summed into one level")
    minimum: float = Field(default=0.0, ge=0, description="levels below never alarm")


class RecordLevel(Detector):
    """Record over the look-back; ``score`` is ``current / previous record``."""

    name = "record_level"
    Config = RecordLevelConfig
    config: RecordLevelConfig

    def _lookback(self, freq: int) -> int:
        return max(1, round(self.config.years * max(freq, 1)))

    def history_length(self, freq: int) -> int:
        return self._lookback(freq) + self.config.window

    def gate_length(self, freq: int) -> int:
        return self.config.window

    def cannot_alarm(self, values: Sequence[float], context: SeriesContext) -> bool:
        """True when the current level is clearly below ``minimum`` (the evaluator then skips
        the look-back unless it must revise an emitted detection). The margin keeps a sum
        rounded differently from ``evaluate``'s from ever deciding."""
        cfg = self.config
        if cfg.minimum <= 0:
            return False
        current = sum(values[-cfg.window :])
        return current < cfg.minimum * (1 - 1e-9) - 1e-9

    def evaluate(self, values: Sequence[float], context: SeriesContext) -> DetectorResult | None:
        cfg = self.config
        x = np.asarray(values, dtype=float)
        if len(x) < self.history_length(context.freq):
            return None
        sums = np.convolve(x, np.ones(cfg.window), mode="valid")  # sums[i] ends at i+window-1
        current = float(sums[-1])
        record = float(sums[-1 - self._lookback(context.freq) : -1].max())
        return DetectorResult(
            alarm=current >= cfg.minimum and current > record,
            observed=current,
            expected=record,
            threshold=max(record, cfg.minimum),
            score=current / record if record > 0 else None,
            score_kind="ratio",
            details={"years": cfg.years, "window": cfg.window},
        )
