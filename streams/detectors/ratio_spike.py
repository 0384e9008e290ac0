"""ElastAlert2's spike rule on a count series.

The *current* window is the last ``timeframe`` periods, the *reference* window
the ``timeframe`` periods just before it; each is summed. As in ElastAlert2's
``SpikeRule.find_matches``: nothing fires when ``cur < threshold_cur`` or
``ref < threshold_ref``; a spike up is ``cur >= ref * spike_height``, a spike
down ``cur <= ref / spike_height``; ``spike_type`` picks which ones alarm. With
a zero reference any current count is a spike up, so set ``threshold_ref`` (or
``threshold_cur``) to keep near-empty series quiet — ElastAlert's advice too.
``observed`` is the current window's sum, ``expected`` the reference's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field
from vigia.streams.detectors.base import Detector, DetectorConfig, DetectorResult, SeriesContext


class RatioSpikeConfig(DetectorConfig):
    timeframe: int = Field(default=1, ge=1, description="periods in each window")
    spike_height: float = Field(default=2.0, gt=0)
    spike_type: Literal["up", "down", "both"] = "up"
    threshold_cur: float = Field(default=0.0, ge=0)
    threshold_ref: float = Field(default=0.0, ge=0)


class RatioSpike(Detector):
    """Current vs reference window; ``score`` is ``cur / ref`` (``None`` when ``ref == 0``)."""

    name = "ratio_spike"
    Config = RatioSpikeConfig
    config: RatioSpikeConfig

    def history_length(self, freq: int) -> int:
        return 2 * self.config.timeframe

    def gate_length(self, freq: int) -> int:
        return self.config.timeframe

    def cannot_alarm(self, values: Sequence[float], context: SeriesContext) -> bool:
        """True when the current window is under ``threshold_cur`` (``evaluate`` then
        reports ``gated`` and never fires): the evaluator skips it unless it must
        revise an emitted detection."""
        cfg = self.config
        return cfg.threshold_cur > 0 and float(sum(values[-cfg.timeframe :])) < cfg.threshold_cur

    def evaluate(self, values: Sequence[float], context: SeriesContext) -> DetectorResult | None:
        cfg = self.config
        tf = cfg.timeframe
        if len(values) < 2 * tf:
            return None
        cur = float(sum(values[-tf:]))
        ref = float(sum(values[-2 * tf : -tf]))
        gated = cur < cfg.threshold_cur or ref < cfg.threshold_ref
        up = cur >= ref * cfg.spike_height
        down = cur <= ref / cfg.spike_height
        fired = not gated and (
            (up and cfg.spike_type in ("up", "both"))
            or (down and cfg.spike_type in ("down", "both"))
        )
        if cfg.spike_type == "down":
            threshold = ref / cfg.spike_height
        else:
            threshold = max(ref * cfg.spike_height, cfg.threshold_cur)
        return DetectorResult(
            alarm=fired,
            observed=cur,
            expected=ref,
            threshold=threshold,
            score=cur / ref if ref > 0 else None,
            score_kind="ratio",
            details={"direction": "up" if up else "down" if down else "none", "gated": gated},
        )
