"""Backtest outputs: detections as JSONL and CSV, a rich summary, an HTML report, labels.

The HTML report has one section per alerted region and, in it, one plot per alarmed
series (signal, period kind, detector): the counts, the detector's threshold for each
period, and the alarms — inline SVG, so it needs nothing but a browser.
"""

from __future__ import annotations

import csv
import html
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from vigia.streams.backtest.run import BacktestResult
from vigia.streams.counting.periods import FREQ, parse_label, period_label
from vigia.streams.detectors.base import SeriesContext

from vigia.charts import series_svg
from vigia.numbers import fmt_number
from vigia.schema import Detection

CSV_FIELDS = [
    "key",
    "detector",
    "signal",
    "level",
    "region_code",
    "region_name",
    "department",
    "period_kind",
    "period",
    "observed",
    "expected",
    "threshold",
    "score",
    "score_kind",
    "severity",
    "revision",
    "evidence",
]
#: Plots per region and municipalities in the report (every alerted department and the
#: country are shown; the rest is in the JSONL and CSV).
MAX_PLOTS_PER_REGION = 4
MAX_MUNICIPALITIES = 60
MAX_POINTS = 260


def write_detections(detections: list[Detection], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    jsonl, table = out / "detections.jsonl", out / "detections.csv"
    with jsonl.open("w", encoding="utf-8") as fh:
        for d in detections:
            fh.write(d.model_dump_json() + "\n")
    with table.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, CSV_FIELDS)
        writer.writeheader()
        for d in detections:
            writer.writerow(
                {
                    "key": d.key,
                    "detector": d.detector,
                    "signal": d.signal,
                    "level": d.region.level.value,
                    "region_code": d.region.code,
                    "region_name": d.region.name,
                    "department": d.region.department_name or "",
                    "period_kind": d.period.kind.value,
                    "period": d.period.label,
                    "observed": d.observed,
                    "expected": d.expected,
                    "threshold": d.threshold,
                    "score": d.score,
                    "score_kind": d.score_kind,
                    "severity": d.severity.value,
                    "revision": d.revision,
                    "evidence": " ".join(e.key for e in d.evidence),
                }
            )
    return jsonl, table


def summary_table(result: BacktestResult) -> Table:
    """Alarms per signal and detector, by severity."""
    counts: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d in result.alarms:
        counts[(d.signal, d.period.kind.value, d.detector)][d.severity.value] += 1
    table = Table(title=f"Backtest: {len(result.alarms)} alarms from {result.events} events")
    for column in ("signal", "period", "detector", "critical", "warning", "info"):
        table.add_column(
            column, justify="right" if column in ("critical", "warning", "info") else "left"
        )
    for (signal, kind, detector), by in sorted(counts.items()):
        table.add_row(
            signal, kind, detector, *(str(by.get(s, 0)) for s in ("critical", "warning", "info"))
        )
    return table


@dataclass
class Scores:
    precision: float
    recall: float
    true_positives: int
    alarmed: int
    labelled: int


def read_labels(path: Path) -> set[tuple[str, str]]:
    """A CSV with columns ``region`` (DIVIPOLA code or CO) and ``period`` (a period label)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"region", "period"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: labels need columns region and period; missing {missing}")
        return {(row["region"].strip(), row["period"].strip()) for row in reader}


def score(detections: Iterable[Detection], labels: set[tuple[str, str]]) -> Scores:
    alarmed = {(d.region.code, d.period.label) for d in detections if d.alarm}
    hits = len(alarmed & labels)
    return Scores(
        precision=hits / len(alarmed) if alarmed else 0.0,
        recall=hits / len(labels) if labels else 0.0,
        true_positives=hits,
        alarmed=len(alarmed),
        labelled=len(labels),
    )


def _plot(result: BacktestResult, rule_detector, detections: list[Detection]) -> str:
    """One series with its thresholds and alarms around the alarmed periods."""
    first = detections[0]
    kind, code, signal = first.period.kind, first.region.code, first.signal
    alarm_indexes = sorted(parse_label(d.period.label)[1] for d in detections)
    end = alarm_indexes[-1] + max(2, FREQ[kind] // 4)
    start = max(end - MAX_POINTS + 1, alarm_indexes[0] - FREQ[kind] * 2)
    evaluator = result.engine.evaluator
    context = SeriesContext(freq=FREQ[kind], signal=signal, region_code=code)
    values, thresholds = [], []
    for index in range(start, end + 1):
        series = evaluator.series(signal, code, kind, index)
        values.append(series[-1] if series else 0.0)
        needs = rule_detector.history_length(context.freq) if rule_detector else None
        verdict = None
        if rule_detector is not None and series:
            verdict = rule_detector.evaluate(series[-needs:] if needs else series, context)
        thresholds.append(verdict.threshold if verdict is not None else None)
    labels = [period_label(kind, i) for i in range(start, end + 1)]
    alarms = [i - start for i in alarm_indexes if start <= i <= end]
    title = f"{signal} · {kind.value} · {first.detector}"
    return series_svg(title, labels, values, thresholds, alarms)


def write_html(result: BacktestResult, out: Path, title: str = "Vigía backtest") -> Path:
    """The report: per alerted region, plots of its alarmed series."""
    rules = {}
    for rule in result.engine.plan.rules:
        for i, detector in enumerate(rule.detectors):
            rules[(rule.signal, rule.name_of(i))] = detector
    by_region: dict[str, dict[tuple, list[Detection]]] = defaultdict(lambda: defaultdict(list))
    for d in result.alarms:
        by_region[d.region.code][(d.signal, d.period.kind.value, d.detector)].append(d)

    def weight(code: str) -> tuple:
        groups = by_region[code]
        critical = sum(d.severity.value == "critical" for g in groups.values() for d in g)
        return (
            -len(code) if code == "CO" else len(code),
            -critical,
            -sum(len(g) for g in groups.values()),
            code,
        )

    ranked_regions = sorted(by_region, key=weight)
    shown = [c for c in ranked_regions if len(c) != 5]
    shown += [c for c in ranked_regions if len(c) == 5][:MAX_MUNICIPALITIES]

    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}section{margin-bottom:2em}"
        "svg{margin:.5em 1em .5em 0;border:1px solid #ddd}</style>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{result.records} records, {result.events} events, {len(result.alarms)} alarms "
        f"in {len(by_region)} regions; {len(result.dead_letters)} dead letters.</p>",
    ]
    for code in shown:
        groups = by_region[code]
        region = next(iter(groups.values()))[0].region
        name = region.name + (
            f" ({region.department_name})" if region.level.value == "municipality" else ""
        )
        alarms = sum(len(g) for g in groups.values())
        parts.append(
            f"<section id='region-{code}'><h2>{html.escape(name)} · {code} · "
            f"{region.level.value} · {alarms} alarms</h2>"
        )
        ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))[:MAX_PLOTS_PER_REGION]
        for (signal, _kind, detector), detections in ranked:
            detections.sort(key=lambda d: d.period.start)
            parts.append(_plot(result, rules.get((signal, detector)), detections))
            top = max(detections, key=lambda d: d.observed)
            evidence = "; ".join(
                html.escape(f"{e.event_date} {e.summary or e.key}"[:140]) for e in top.evidence[:3]
            )
            parts.append(
                f"<p>Largest: {top.period.label} observed {top.observed:g}"
                f" (threshold {fmt_number(top.threshold)}),"
                f" {top.severity.value}. {evidence}</p>"
            )
        parts.append("</section>")
    path = out / "report.html"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def write_summary_json(result: BacktestResult, out: Path) -> Path:
    path = out / "summary.json"
    path.write_text(
        json.dumps(
            {
                "records": result.records,
                "events": result.events,
                "alarms": len(result.alarms),
                "dead_letters": len(result.dead_letters),
                "out_of_scope": result.out_of_scope,
                "unresolved": result.unresolved,
                "periods_evaluated": result.periods_evaluated,
                "seconds": round(result.seconds, 3),
            },
            indent=2,
        )
    )
    return path
