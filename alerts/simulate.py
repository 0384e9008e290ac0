"""Replay detections through the engine on a simulated clock (``vigia rules test``).

Like ``amtool config routes test`` but for the whole path: for each detection,
which rules concern it and whether they fire, the alert transition, the routes and
groups it lands in; for each flush, who is notified with which alerts, and which
alerts were inhibited or silenced. No broker, no sinks: pure logic only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vigia.alerts.clock import ManualClock
from vigia.alerts.engine import AlertEngine, Outgoing
from vigia.alerts.rules_file import AlertingConfig
from vigia.alerts.silences import Silence

from vigia.codec import UndecodableRecord, decode
from vigia.schema import Detection


@dataclass
class DetectionStep:
    line: int
    detection: Detection
    rules: list[tuple[str, bool]]  # (rule, fires)
    transitions: list[tuple[str, str, str, list[str]]]  # (rule, fingerprint, state, receivers)


@dataclass
class FlushStep:
    at: dt.datetime
    outgoing: Outgoing


@dataclass
class SimulationReport:
    detections: list[DetectionStep] = field(default_factory=list)
    flushes: list[FlushStep] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def notifications(self) -> list[Outgoing]:
        return [f.outgoing for f in self.flushes if f.outgoing.notification is not None]


def read_detections(path: Path) -> tuple[list[tuple[int, Detection]], list[str]]:
    """Detections of a JSONL file with their line numbers, and one error per bad line."""
    found, errors = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append((number, decode(Detection, line)))
        except UndecodableRecord as exc:
            errors.append(f"line {number}: {exc}")
    return found, errors


def simulate(
    config: AlertingConfig,
    detections: Iterable[tuple[int, Detection]],
    silences: Iterable[Silence] = (),
    start: dt.datetime | None = None,
) -> SimulationReport:
    """Each detection arrives at its ``detected_at``; groups flush on the simulated clock."""
    detections = sorted(detections, key=lambda item: item[1].detected_at)
    first = detections[0][1].detected_at if detections else dt.datetime.now(dt.UTC)
    clock = ManualClock(start or first)
    engine = AlertEngine(config, clock)
    for silence in silences:
        engine.put_silence(silence)
    report = SimulationReport()
    route_receiver = {r.path: r.opts.receiver for r in engine.route.walk()}

    last_muted: dict[tuple[str, str], dict[str, str]] = {}

    def news(o: Outgoing) -> bool:
        """A flush is worth reporting unless it only repeats the same muted alerts."""
        key = (o.receiver, o.group_key)
        repeated = o.notification is None and o.entry is None and last_muted.get(key) == o.muted
        last_muted[key] = o.muted
        return not repeated

    def flush_until(when: dt.datetime) -> None:
        while (deadline := engine.next_deadline()) is not None and deadline <= when:
            clock.set(deadline)
            report.flushes += [FlushStep(clock(), o) for o in engine.flush_due() if news(o)]
        clock.set(when)

    for line, detection in detections:
        flush_until(detection.detected_at)
        rules = [(h.rule, h.firing) for h in engine.rules.evaluate(detection)]
        transitions = [
            (
                t.alert.rule,
                t.alert.fingerprint,
                t.alert.state.value,
                [route_receiver[p] for p in t.routes],
            )
            for t in engine.ingest(detection)
        ]
        report.detections.append(DetectionStep(line, detection, rules, transitions))
    longest_wait = max(r.opts.group_wait for r in engine.route.walk())
    flush_until(clock() + longest_wait)
    return report


def report_json(report: SimulationReport) -> str:
    return json.dumps(
        {
            "detections": [
                {
                    "line": s.line,
                    "key": s.detection.key,
                    "rules": [{"rule": r, "fires": f} for r, f in s.rules],
                    "transitions": [
                        {"rule": r, "fingerprint": fp, "state": st, "receivers": rc}
                        for r, fp, st, rc in s.transitions
                    ],
                }
                for s in report.detections
            ],
            "notifications": [
                {
                    "at": f.at.isoformat(),
                    "receiver": f.outgoing.receiver,
                    "group": f.outgoing.group_key,
                    "sent": f.outgoing.notification is not None,
                    "alerts": [
                        {
                            "fingerprint": a.fingerprint,
                            "region": a.labels.get("region"),
                            "state": a.state.value,
                        }
                        for a in (f.outgoing.notification.alerts if f.outgoing.notification else [])
                    ],
                    "muted": f.outgoing.muted,
                }
                for f in report.flushes
            ],
            "errors": report.errors,
        },
        indent=2,
    )
