"""Build an :class:`EvaluationPlan` from the detectors file (``deploy/detectors.yaml``).

Runs once at start-up of the worker or the backtest. Every signal the counting can
produce (:func:`~vigia.streams.counting.signals.all_signals`) is looked up in the file (exact
key, else the longest glob); each configured detector becomes a rule with its own
period kinds, levels, name and severity policy. History per period kind is the
longest any detector needs (:meth:`DetectorsFile.history_length`). Errors in the file
raise ``DetectorsConfigError`` naming the field; start-up stops.
"""

from __future__ import annotations

from pathlib import Path

from vigia.streams.counting.plan import DEFAULT_HISTORY, EvaluationPlan, SeriesRule
from vigia.streams.counting.signals import all_signals
from vigia.streams.detectors.config import DetectorsFile, load_detectors_file

from vigia.schema import PeriodKind


def plan_from_detectors(config: DetectorsFile, **plan_options) -> EvaluationPlan:
    rules: list[SeriesRule] = []
    history = dict(DEFAULT_HISTORY)
    needed: dict[PeriodKind, int] = {}
    for signal in all_signals():
        cfg = config.signal_config(signal)
        if cfg is None:
            continue
        for spec in cfg.detectors:
            kinds = tuple(spec.periods or cfg.periods)
            levels = tuple(spec.levels or cfg.levels)

            def severity(result, rule, _signal=signal, _name=spec.name):
                return config.suggest_severity(_signal, result, detector=_name)

            rules.append(
                SeriesRule(signal, kinds, levels, (spec.detector,), severity, (spec.name,))
            )
            for kind in kinds:
                n = config.history_length(signal, kind)
                if n:
                    needed[kind] = max(needed.get(kind, 0), n)
    for kind, n in needed.items():
        history[kind] = n
    return EvaluationPlan(rules=rules, history=history, **plan_options)


def load_plan(path: str | Path, **plan_options) -> EvaluationPlan:
    """The plan of a detectors file; raises ``DetectorsConfigError`` naming the bad field."""
    return plan_from_detectors(load_detectors_file(path), **plan_options)
