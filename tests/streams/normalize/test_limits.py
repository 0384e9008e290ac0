"""Findings 3 and 4: absurd values and oversized records become dead letters, with the
limit in the reason, instead of infinite counts or batches the broker rejects."""

from __future__ import annotations

import datetime as dt

import pytest
from vigia.streams.normalize import MappingError, map_raw
from vigia.streams.normalize.limits import MappingLimits

from tests.streams.normalize.conftest import FIXTURES, csv_rows, json_fixture, raw
from vigia.schema import REASON_CHARS, DeadLetter


@pytest.fixture
def seizure_row():
    return csv_rows(FIXTURES / "policia_incautaciones_sample.csv")[0]


@pytest.fixture
def acled_row():
    return json_fixture("acled_api_response.json")["data"][0]


def _quantity(row: dict, text: str) -> dict:
    key = next(k for k in row if k.lower().startswith("cantidad") or "cantidad" in k.lower())
    return row | {key: text}


@pytest.mark.parametrize(
    ("quantity", "unit", "why"),
    [
        ("1e306", "TONELADAS", "kg per seizure"),  # was inf: infinite department counts
        ("9" * 40, "KILOGRAMO", "kg per seizure"),
        ("2,000", "TONELADAS", "kg per seizure"),  # 2,000 t: plausible number, absurd seizure
        ("5", "LITRO?", "unknown unit"),
    ],
)
def test_absurd_seizures_are_refused_with_the_limit(seizure_row, quantity, unit, why) -> None:
    row = _quantity(seizure_row, quantity)
    unit_key = next(k for k in row if "unidad" in k.lower())
    with pytest.raises(MappingError, match=why):
        map_raw(raw("seizures", "1", row | {unit_key: unit}, "csv"))


def test_a_plausible_seizure_passes(seizure_row) -> None:
    (event,) = map_raw(raw("seizures", "1", seizure_row, "csv"))
    assert event.quantity_kg == pytest.approx(16.78)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("fatalities", "1e308", "over 10000 per event"),
        ("fatalities", "12000", "over 10000 per event"),
        ("event_date", "0001-01-01", "outside 1946-01-01"),
        ("event_date", "9999-12-31", "outside 1946-01-01"),
        ("event_date", "2024-03-01xyz", "not a date"),  # trailing garbage was accepted
    ],
)
def test_acled_implausible_values(acled_row, field, value, why) -> None:
    with pytest.raises(MappingError, match=why):
        map_raw(raw("acled", "COL1", acled_row | {field: value}))


def test_limits_are_configurable(acled_row, monkeypatch) -> None:
    row = acled_row | {"fatalities": "12000"}
    (event,) = map_raw(raw("acled", "COL1", row), limits=MappingLimits(max_fatalities=20_000))
    assert event.fatalities.best == 12_000
    monkeypatch.setenv("VIGIA_LIMITS__MAX_FATALITIES", "20000")
    assert MappingLimits().max_fatalities == 20_000


def test_tomorrow_passes_and_the_day_after_does_not(acled_row) -> None:
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    later = (today + dt.timedelta(days=3)).isoformat()
    assert map_raw(raw("acled", "COL1", acled_row | {"event_date": tomorrow}))
    with pytest.raises(MappingError, match="outside"):
        map_raw(raw("acled", "COL1", acled_row | {"event_date": later}))


def test_a_huge_rss_summary_is_capped_with_the_cap_in_the_reason() -> None:
    item = {
        "link": "https://noticias.example/articulo",
        "title": "Combates en el Catatumbo",
        "summary": "x" * 1_400_000,  # the 1.4 MB article that stopped every source
        "published": "2024-03-01T10:00:00Z",
    }
    with pytest.raises(MappingError) as caught:
        map_raw(raw("rss", "https://noticias.example/articulo", item))
    reason = str(caught.value)
    assert "summary" in reason and "1400000 characters, over 20000" in reason
    assert len(reason) < 400  # the value is shortened in the reason, not repeated whole


def test_dead_letter_reasons_are_capped_but_originals_kept() -> None:
    letter = DeadLetter(
        stage="normalize",
        component="t",
        reason="bad value " + "y" * 50_000,
        error_type="MappingError",
        original=b"z" * 50_000,
    )
    assert len(letter.reason) <= REASON_CHARS and letter.reason.endswith("characters]")
    assert len(letter.original) == 50_000
    assert DeadLetter.from_bytes(letter.to_bytes()).reason == letter.reason
