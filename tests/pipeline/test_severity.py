"""Severity on the bundled 30-year replay means something (issue 16, part 4).

The backtest's detections (the same the demo's worker emits) go through the shipped
``deploy/rules.yaml`` in the alert engine, as the demo's dispatcher applies them: an alert
is one (rule, signal, region, period), its severity the highest its detections gave.
"""

from __future__ import annotations

from collections import Counter

import pytest
from vigia.alerts.clock import ManualClock
from vigia.alerts.engine import AlertEngine
from vigia.alerts.rules_file import load_config
from vigia.streams.backtest.readers import read_records
from vigia.streams.normalize import map_raw

from tests.conftest import DATA, REPO
from vigia.schema import Severity

#: The conflict data span 1989–2018: at most one critical alert per department (or the
#: country) per five years, on average over the replay.
YEARS = 30


@pytest.fixture(scope="module")
def alerts(bundled_replay):
    engine = AlertEngine(load_config(REPO / "deploy" / "rules.yaml"), ManualClock())
    for detection in sorted(bundled_replay.detections, key=lambda d: d.detected_at):
        engine.ingest(detection)
    return list(engine.alerts.values())


def test_critical_is_rare_warning_is_the_working_level_and_info_exists(alerts):
    by_severity = Counter(a.severity for a in alerts)
    assert len(alerts) > 500
    assert by_severity[Severity.CRITICAL] <= 0.10 * len(alerts), by_severity
    assert by_severity[Severity.CRITICAL] >= 5  # rare, not absent
    assert by_severity.most_common(1)[0][0] == Severity.WARNING, by_severity
    assert by_severity[Severity.INFO] > 0, by_severity


def test_at_most_one_critical_alert_per_department_per_five_years(alerts):
    per_department = Counter(
        a.labels["department"] for a in alerts if a.severity == Severity.CRITICAL
    )
    assert per_department, "no critical alert at all"
    worst = per_department.most_common(1)[0]
    assert worst[1] <= YEARS / 5, per_department


def test_the_detections_critical_share_is_small_too(bundled_replay):
    alarms = bundled_replay.alarms
    by_severity = Counter(d.severity for d in alarms)
    assert by_severity[Severity.CRITICAL] <= 0.05 * len(alarms), by_severity
    assert by_severity[Severity.INFO] > 0 and by_severity[Severity.WARNING] > 0


def _largest_located_events_1997_2005():
    """The list tests/streams/backtest/test_backtest.py checks alarms for: the four
    deadliest UCDP events of 1997–2005 placed in a department (Ituango 2002, Bojayá 2002,
    Puerto Rico (Caquetá) 1998, Mitú 1998)."""
    events = [e for r in read_records(DATA / "ucdp" / "ucdp_ged_colombia_hdx.csv")
              for e in map_raw(r)]  # fmt: skip
    located = [
        e for e in events if 1997 <= e.event_date.year <= 2005 and e.location.department_code
    ]
    return sorted(located, key=lambda e: -e.fatalities.best)[:4]


def test_the_largest_atrocities_stay_critical(bundled_replay, alerts):
    largest = _largest_located_events_1997_2005()
    assert {e.location.municipality_name for e in largest} >= {"Bojayá", "Ituango", "Mitú"}
    critical = [
        d
        for d in bundled_replay.alarms
        if d.signal == "fatalities" and d.severity == Severity.CRITICAL
    ]
    for event in largest:
        codes = {event.location.department_code, event.location.municipality_code}
        covering = [
            d
            for d in critical
            if d.region.code in codes and d.period.start <= event.event_date < d.period.end
        ]
        assert covering, f"no critical fatalities detection for {event.key}"
        assert any(event.key in {e.key for e in d.evidence} for d in covering), event.key
    # Those the shipped rules alert on (a 30-day fatality record) are critical alerts.
    records = {
        (a.labels["region"], a.labels["period"]): a.severity
        for a in alerts
        if a.rule == "fatalities_record"
    }
    for region, day in [("27", "2002-05-02"), ("27099", "2002-05-02"), ("05", "2002-09-20"),
                        ("97001", "1998-11-01")]:  # fmt: skip
        assert records[(region, day)] == Severity.CRITICAL, (region, day)


def test_the_2021_coca_surge_is_a_critical_alert(alerts):
    national = {
        a.labels["period"]: a.severity
        for a in alerts
        if a.rule == "coca_cultivation_growth" and a.labels["region"] == "CO"
    }
    assert national["2021"] == Severity.CRITICAL
    # 2014 and 2016 (the boom) are the only other critical national rises
    assert sorted(p for p, s in national.items() if s == Severity.CRITICAL) == [
        "2014",
        "2016",
        "2021",
    ]
