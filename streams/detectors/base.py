"""The detector plugin contract.

A detector looks at one regularly spaced count series for one (signal, region)
— oldest first, the **last value is the period being evaluated**, missing
periods already filled with zeros — and says whether that last value is an
alarm. Detectors are pure: no I/O, no clock, no Kafka, so the stream worker and
the offline backtest call the same code and tests call it directly.

Plugins subclass :class:`Detector`, declare a pydantic ``Config`` and register
under the entry-point group ``vigia.detectors``.

When hooks run and what failure does:

* ``__init__(config)`` runs once when the detectors file is loaded; an invalid
  config fails start-up with the field named (pydantic ``ValidationError``).
* ``evaluate(values, context)`` runs each time a period closes (its watermark
  passed) or is revised by late data. It returns ``None`` when the history is
  too short to judge; an exception is a bug: the worker logs it, counts it in a
  metric and skips that (signal, region, period) without stopping.
* ``evaluate_many(batch)`` runs instead when the worker judges many series at once
  (every period a batch of events closed): the same answers as ``evaluate`` on each
  item, which is what the default does. A detector whose cost is mostly per call
  (numpy on short arrays) overrides it to judge the batch in a few vectorised calls.
  If it raises, the worker judges the batch again item by item, so only the series
  whose ``evaluate`` raises is skipped.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict


class SeriesContext(NamedTuple):
    """What a detector may need to know about the series besides its values.

    ``freq`` is the number of periods per year (365 daily, 52 weekly, 12 monthly,
    1 yearly) so seasonal detectors can find the same season in past years.
    Immutable; a named tuple rather than a frozen dataclass because the worker
    builds one per evaluated bucket and this is four times cheaper to build.
    """

    freq: int
    signal: str = ""
    region_code: str = ""


class DetectorResult(BaseModel):
    """A detector's verdict on the last value of a series."""

    model_config = ConfigDict(extra="forbid")

    alarm: bool
    observed: float
    expected: float | None = None
    threshold: float | None = None  # the upper bound the observation was compared with
    score: float | None = None
    score_kind: Literal["z", "p_value", "ratio", "cusum", "rank", "growth", "none"] = "none"
    details: dict[str, Any] = {}

    @property
    def finite(self) -> bool:
        return all(
            v is None or math.isfinite(v) for v in (self.expected, self.threshold, self.score)
        )


class DetectorConfig(BaseModel):
    """Base of every detector ``Config``: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Detector(ABC):
    """A spike detector. Subclasses set ``name`` and ``Config`` and implement ``evaluate``."""

    name: ClassVar[str]
    Config: ClassVar[type[DetectorConfig]] = DetectorConfig

    def __init__(self, config: DetectorConfig | dict[str, Any] | None = None) -> None:
        if config is None or isinstance(config, dict):
            config = self.Config.model_validate(config or {})
        self.config = config

    @property
    def params(self) -> dict[str, Any]:
        """The parameters a detection reports (the validated config)."""
        return self.config.model_dump(mode="json")

    def history_length(self, freq: int) -> int | None:
        """How many trailing values ``evaluate`` needs to judge (``None``: all it is given).

        Runs when the worker sizes its per-series history; a detector given fewer
        values returns ``None`` from ``evaluate``, given more it ignores the older ones
        unless this is ``None``.
        """
        return None

    def gate_length(self, freq: int) -> int | None:
        """How many trailing values an optional ``cannot_alarm(values, context)`` reads.

        A detector may define ``cannot_alarm``: ``True`` when the values rule an alarm
        out, so the evaluator skips ``evaluate`` (unless it must revise an emitted
        detection). The evaluator hands it only this many values when that spares
        building the whole history; the default is :meth:`history_length`.
        """
        return self.history_length(freq)

    @abstractmethod
    def evaluate(self, values: Sequence[float], context: SeriesContext) -> DetectorResult | None:
        """Judge ``values[-1]`` against ``values[:-1]``; ``None`` when history is too short."""

    def evaluate_many(
        self, batch: Sequence[tuple[Sequence[float], SeriesContext]]
    ) -> list[DetectorResult | None]:
        """``evaluate`` of every (values, context) of ``batch``, in order."""
        return [self.evaluate(values, context) for values, context in batch]

    def evaluate_series(
        self, values: Sequence[float], context: SeriesContext, start: int = 0
    ) -> list[DetectorResult | None]:
        """Evaluate every prefix ``values[:i+1]`` for ``i >= start`` (backtests, R comparisons)."""
        return [self.evaluate(values[: i + 1], context) for i in range(start, len(values))]
