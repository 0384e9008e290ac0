"""The detectors file (``deploy/detectors.yaml``): which detectors judge which signal.

Shape (documented in ``docs/detectors.md``)::

    version: 1
    severity: {warning: {z: 3}, critical: {z: 5}}       # default policy, optional
    signals:
      incidents:                                         # exact signal name, or a glob
        periods: [week, month]                           # PeriodKind values
        levels: [municipality, department, country]      # RegionLevel values
        severity: {...}                                  # optional per-signal policy
        detectors:
          - {type: ears, name: ears_c2, method: C2, baseline: 7}
          - {type: farrington, periods: [week], levels: [department, country]}

A detector entry is ``type`` (an entry-point name), an optional ``name`` (unique
in the signal, default the type), optional ``periods``/``levels`` narrowing the
signal's, an optional ``severity`` policy, and the plugin's own ``Config``
fields. Signal keys may be globs
(``incidents.*``); an exact key wins, then the longest matching pattern.

Loading runs once at start-up (worker or backtest). Any error — YAML syntax,
unknown detector type, a bad parameter — raises :class:`DetectorsConfigError`
naming the file and the field (``signals.incidents.detectors.0.baseline: ...``).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from vigia.streams.detectors.base import Detector, DetectorResult, SeriesContext
from vigia.streams.detectors.registry import UnknownDetectorError, create_detector
from vigia.streams.detectors.severity import SeverityPolicy, suggest_severity

from vigia.errors import UserError
from vigia.schema import PeriodKind, RegionLevel, Severity

FREQ_BY_PERIOD: dict[PeriodKind, int] = {
    PeriodKind.DAY: 365,
    PeriodKind.WEEK: 52,
    PeriodKind.MONTH: 12,
    PeriodKind.YEAR: 1,
}


class DetectorsConfigError(ValueError, UserError):
    """The detectors file is invalid; ``problems`` holds ``(field path, message)`` pairs.

    A :class:`vigia.errors.UserError`: the command line prints it on one line, exit 2."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source, self.problems = source, problems
        lines = "\n".join(f"  {loc}: {msg}" for loc, msg in problems)
        super().__init__(f"invalid detectors file {source}:\n{lines}")


class DetectorSpec(BaseModel):
    """One detector instance; extra keys are the plugin's parameters."""

    model_config = ConfigDict(extra="allow")

    type: str
    name: str | None = None
    periods: list[PeriodKind] | None = None
    levels: list[RegionLevel] | None = None
    severity: SeverityPolicy | None = None
    _detector: Detector = PrivateAttr()

    @model_validator(mode="after")
    def _build(self) -> DetectorSpec:
        try:
            self._detector = create_detector(self.type, self.params)
        except UnknownDetectorError as exc:
            raise PydanticCustomError(
                "unknown_detector", "{msg}", {"msg": str(exc), "field": "type"}
            ) from None
        except ValidationError as exc:
            inner = [(".".join(map(str, e["loc"])) or "-", e["msg"]) for e in exc.errors()]
            raise PydanticCustomError(
                "detector_params",
                "invalid {type} parameters: {detail}",
                {
                    "type": self.type,
                    "detail": "; ".join(f"{f}: {m}" for f, m in inner),
                    "inner": inner,
                },
            ) from None
        if self.name is None:
            self.name = self.type
        return self

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def detector(self) -> Detector:
        return self._detector


class SignalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    periods: list[PeriodKind] = Field(min_length=1)
    levels: list[RegionLevel] = Field(default_factory=lambda: list(RegionLevel), min_length=1)
    detectors: list[DetectorSpec] = Field(min_length=1)
    severity: SeverityPolicy | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SignalConfig:
        names = [d.name for d in self.detectors]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"detector names must be unique in a signal: {', '.join(dupes)}")
        for i, spec in enumerate(self.detectors):
            if spec.periods and not set(spec.periods) <= set(self.periods):
                raise ValueError(f"detectors.{i}.periods must be a subset of the signal's periods")
            if spec.levels and not set(spec.levels) <= set(self.levels):
                raise ValueError(f"detectors.{i}.levels must be a subset of the signal's levels")
        return self

    def detectors_for(self, period: PeriodKind, level: RegionLevel) -> list[DetectorSpec]:
        if period not in self.periods or level not in self.levels:
            return []
        return [
            d
            for d in self.detectors
            if (d.periods is None or period in d.periods)
            and (d.levels is None or level in d.levels)
        ]


class DetectorsFile(BaseModel):
    """The whole file; ask it for the detectors of a (signal, period kind, level)."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    severity: SeverityPolicy = Field(default_factory=SeverityPolicy)
    signals: dict[str, SignalConfig] = Field(min_length=1)

    @field_validator("signals")
    @classmethod
    def _names(cls, value: dict[str, SignalConfig]) -> dict[str, SignalConfig]:
        for key in value:
            if not key or key != key.strip():
                raise ValueError(f"bad signal name {key!r}")
        return value

    def signal_config(self, signal: str) -> SignalConfig | None:
        """The entry for ``signal``: exact key, else the longest glob that matches."""
        if signal in self.signals:
            return self.signals[signal]
        matches = [k for k in self.signals if fnmatch.fnmatchcase(signal, k)]
        return self.signals[max(matches, key=len)] if matches else None

    def specs_for(self, signal: str, period: PeriodKind | str, level: RegionLevel | str):
        cfg = self.signal_config(signal)
        return [] if cfg is None else cfg.detectors_for(PeriodKind(period), RegionLevel(level))

    def detectors_for(
        self, signal: str, period: PeriodKind | str, level: RegionLevel | str
    ) -> list[Detector]:
        """Detector instances (shared, stateless) to run; ``[]`` when none is configured."""
        return [spec.detector for spec in self.specs_for(signal, period, level)]

    def context(
        self, signal: str, period: PeriodKind | str, region_code: str = ""
    ) -> SeriesContext:
        return SeriesContext(
            freq=FREQ_BY_PERIOD[PeriodKind(period)], signal=signal, region_code=region_code
        )

    def history_length(
        self, signal: str, period: PeriodKind | str, level: RegionLevel | str | None = None
    ) -> int | None:
        """Periods of history the worker must keep for the series (``None``: unbounded).

        ``0`` when no detector runs on it; ``level=None`` covers every level.
        """
        cfg = self.signal_config(signal)
        if cfg is None:
            return 0
        kind = PeriodKind(period)
        levels = cfg.levels if level is None else [RegionLevel(level)]
        specs = {id(s): s for lv in levels for s in cfg.detectors_for(kind, lv)}.values()
        needs = [s.detector.history_length(FREQ_BY_PERIOD[kind]) for s in specs]
        return None if any(n is None for n in needs) else max(needs, default=0)

    def severity_policy(self, signal: str, detector: str | None = None) -> SeverityPolicy:
        """The detector's own policy, else the signal's, else the file's default."""
        cfg = self.signal_config(signal)
        if cfg is None:
            return self.severity
        spec = next((d for d in cfg.detectors if d.name == detector), None)
        if spec is not None and spec.severity is not None:
            return spec.severity
        return cfg.severity or self.severity

    def suggest_severity(
        self, signal: str, result: DetectorResult, detector: str | None = None
    ) -> Severity:
        """Severity for ``result`` of the detector instance named ``detector`` on ``signal``."""
        return suggest_severity(result, self.severity_policy(signal, detector))


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        ctx = err.get("ctx") or {}
        if err["type"] == "detector_params":
            out += [(f"{loc}.{field}", f"{msg} ({ctx['type']})") for field, msg in ctx["inner"]]
        elif err["type"] == "unknown_detector":
            out.append((f"{loc}.type", ctx["msg"]))
        else:
            out.append((loc or "-", err["msg"]))
    return out


def parse_detectors(data: Any, source: str = "<data>") -> DetectorsFile:
    """Validate already-parsed YAML/JSON data; errors as :class:`DetectorsConfigError`."""
    try:
        return DetectorsFile.model_validate(data)
    except ValidationError as exc:
        raise DetectorsConfigError(source, _problems(exc)) from None


def load_detectors_file(path: str | Path) -> DetectorsFile:
    """Read and validate ``deploy/detectors.yaml`` (or another file of that shape)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DetectorsConfigError(str(path), [("-", str(exc))]) from None
    return parse_detectors(data, str(path))
