import datetime as dt

import pytest
from vigia.streams.normalize import MappingError, map_raw

from tests.streams.normalize.conftest import raw
from vigia.schema import DatePrecision, GeoPrecision, IncidentCategory, RegionLevel


def _by_id(rows):
    return {r["id"]: r for r in rows if r["id"]}


def _map(row):
    return map_raw(raw("ucdp", row["id"] or "hxl", row, "csv"))


def test_every_fixture_row_maps_and_the_hxl_row_is_skipped(ucdp_rows):
    assert ucdp_rows[0]["year"] == "#date+year"
    assert _map(ucdp_rows[0]) == []
    events = [e for row in ucdp_rows[1:] for e in _map(row)]
    assert len(events) == len(ucdp_rows) - 1 == 14
    assert {e.category for e in events} == {
        IncidentCategory.STATE_BASED,
        IncidentCategory.NON_STATE,
        IncidentCategory.ONE_SIDED,
    }
    assert all(e.key == f"ucdp:{e.source_id}" for e in events)


def test_fields_of_a_two_day_non_state_event(ucdp_rows):
    (event,) = _map(_by_id(ucdp_rows)["222009"])
    assert event.category is IncidentCategory.NON_STATE
    assert event.event_date == dt.date(1998, 12, 27)
    assert event.event_date_end == dt.date(1998, 12, 29)
    assert event.date_precision is DatePrecision.WEEK
    assert event.actors == ["AUC", "FARC"]
    assert event.fatalities.best == 38
    assert event.source_urls[0] == "https://ucdp.uu.se/event/222009"
    assert "Colombia rebels kill 30" in event.notes
    # where_prec 4: "Córdoba department" only → department level, at its centroid
    assert event.location.level is RegionLevel.DEPARTMENT
    assert event.location.department_code == "23"
    assert event.location.precision is GeoPrecision.DEPARTMENT


@pytest.mark.parametrize(
    ("event_id", "code"),
    [
        ("220905", "05001"),  # "Medellín Medellín municipality"
        ("119663", "11001"),  # "Bogotá municipality" in "Bogotá department"
        ("119203", "73001"),  # "Tolima  department" (two spaces), Ibagué
        ("222656", "52835"),  # "Tumaco" → San Andrés de Tumaco
        ("220573", "50711"),  # "Vista Hermosa" → VISTAHERMOSA
        ("222511", "50590"),  # "Puerto Yuca municipality (Puerto Rico)"
    ],
)
def test_ucdp_place_forms_resolve_to_municipality(ucdp_rows, event_id, code):
    (event,) = _map(_by_id(ucdp_rows)[event_id])
    assert event.location.municipality_code == code
    assert event.location.department_code == code[:2]


def test_exact_point_is_kept_with_its_precision(ucdp_rows):
    row = _by_id(ucdp_rows)["221032"]
    assert row["where_prec"] == "1"
    (event,) = _map(row)
    assert event.location.precision is GeoPrecision.EXACT
    assert event.location.latitude == pytest.approx(float(row["latitude"]))
    assert event.location.municipality_code is not None


def test_country_wide_event_stays_at_country_level(ucdp_rows):
    row = _by_id(ucdp_rows)["222791"]
    assert row["where_prec"] == "6"
    (event,) = _map(row)
    assert event.location.level is RegionLevel.COUNTRY
    assert event.location.place_name == "Colombia"


def test_contradictory_high_is_clamped_to_best(ucdp_rows):
    row = _by_id(ucdp_rows)["220004"]
    assert (row["low"], row["best"], row["high"]) == ("3", "3", "2")
    (event,) = _map(row)
    assert (event.fatalities.low, event.fatalities.best, event.fatalities.high) == (3, 3, 3)


def test_api_form_dates_and_version_revision(ucdp_rows):
    row = dict(_by_id(ucdp_rows)["222009"])
    row["date_start"] = "1998-12-27T00:00:00"
    row["date_end"] = "1998-12-29T00:00:00"
    (event,) = map_raw(raw("ucdp", "222009", row, revision="24.1"))
    assert event.event_date == dt.date(1998, 12, 27)
    assert event.source_revision is None  # a version label is not a time


def test_bad_type_of_violence_names_field_and_value(ucdp_rows):
    row = dict(_by_id(ucdp_rows)["222009"], type_of_violence="7")
    with pytest.raises(MappingError, match=r"type_of_violence.*'7'"):
        map_raw(raw("ucdp", "222009", row))


def test_bad_date_names_field(ucdp_rows):
    row = dict(_by_id(ucdp_rows)["222009"], date_start="29/02/1998x")
    with pytest.raises(MappingError, match="date_start"):
        map_raw(raw("ucdp", "222009", row))


@pytest.mark.parametrize("value", ["inf", "1e400", "Infinity"])
def test_infinite_fatalities_are_a_mapping_error(ucdp_rows, value):
    """JSON has no infinity and int() of it overflows: a dead letter, not a crashed batch."""
    row = dict(_by_id(ucdp_rows)["222009"], best=value)
    with pytest.raises(MappingError, match=r"best.*not a finite number"):
        map_raw(raw("ucdp", "222009", row))
