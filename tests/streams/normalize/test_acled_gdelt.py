import datetime as dt

import pytest
from vigia.streams.normalize import MappingError, map_raw

from tests.streams.normalize.conftest import FIXTURES, json_fixture, raw
from vigia.formats.gdelt import COLUMNS as GDELT_COLUMNS
from vigia.schema import GeoPrecision, IncidentCategory, RegionLevel


@pytest.fixture
def acled_events():
    rows = json_fixture("acled_api_response.json")["data"]
    return [e for r in rows for e in map_raw(raw("acled", r["event_id_cnty"], r))]


def test_acled_rows_map_with_categories_and_revision(acled_events):
    assert [e.category for e in acled_events] == [
        IncidentCategory.BATTLE,
        IncidentCategory.VIOLENCE_AGAINST_CIVILIANS,
        IncidentCategory.EXPLOSION_REMOTE_VIOLENCE,
        IncidentCategory.PROTEST,
    ]
    first = acled_events[0]
    assert first.key == "acled:COL90001"
    assert first.fatalities.best == 3
    assert first.source_revision == dt.datetime(2025, 3, 11, tzinfo=dt.UTC)
    assert first.actors == ["ELN: National Liberation Army", "FARC-EMBF: Frente 33"]


def test_acled_places(acled_events):
    tibu, bogota, argelia, antioquia = (e.location for e in acled_events)
    assert tibu.municipality_code == "54810"  # "Tibu" without accent
    assert tibu.precision is GeoPrecision.EXACT
    assert bogota.municipality_code == "11001"  # "Bogota, D.C."
    assert bogota.precision is GeoPrecision.NEAR
    assert argelia.municipality_code == "19050"  # Argelia in Cauca, not Antioquia/Valle
    assert (argelia.latitude, argelia.longitude) == (2.2797, -77.1192)
    assert antioquia.level is RegionLevel.DEPARTMENT and antioquia.department_code == "05"


def test_acled_associated_actors_split(acled_events):
    assert "Social leaders (Colombia)" in acled_events[1].actors


def test_acled_unknown_event_type_is_an_error():
    row = dict(json_fixture("acled_api_response.json")["data"][0], event_type="Bombings")
    with pytest.raises(MappingError, match=r"event_type.*Bombings"):
        map_raw(raw("acled", "x", row))


def test_acled_non_numeric_fatalities_is_an_error():
    row = dict(json_fixture("acled_api_response.json")["data"][0], fatalities="three")
    with pytest.raises(MappingError, match=r"fatalities.*three"):
        map_raw(raw("acled", "x", row))


def _gdelt_lines(name):
    return (FIXTURES / name).read_text("utf-8").splitlines()


def test_real_gdelt_rows_map_in_their_own_country():
    # 6 Colombian rows (not material conflict: out of scope) and 2 foreign root-19 rows,
    # which count in their own country (never in a Colombian region).
    lines = _gdelt_lines("gdelt_export_sample.tsv")
    assert len(lines) == 8
    foreign = 0
    for line in lines:
        cells = dict(zip(GDELT_COLUMNS, line.split("\t"), strict=True))
        events = map_raw(raw("gdelt", cells["GLOBALEVENTID"], cells))
        if cells["ActionGeo_CountryCode"] == "CO":
            assert events == []
        else:
            (event,) = events
            assert event.location.country not in ("CO", "")
            assert not (event.location.municipality_code or "x")[:1].isdigit()
            foreign += 1
    assert foreign == 2


def test_gdelt_material_conflict_in_colombia_maps():
    fight, other = (
        map_raw(raw("gdelt", line.split("\t")[0], line, "tsv"))[0]
        for line in _gdelt_lines("gdelt_export_derived_colombia.tsv")
    )
    assert fight.category is IncidentCategory.FIGHT
    assert other.category is IncidentCategory.OTHER_MATERIAL_CONFLICT
    assert fight.location.department_code == "73"  # "Ecopetrol, Tolima, Colombia"
    assert fight.location.level is RegionLevel.MUNICIPALITY
    assert fight.location.precision is GeoPrecision.NEAR
    assert fight.source_revision == dt.datetime(2019, 10, 24, 14, 30, tzinfo=dt.UTC)
    assert fight.source_urls and fight.source_urls[0].startswith("http")


def test_gdelt_dict_and_line_forms_agree():
    line = _gdelt_lines("gdelt_export_derived_colombia.tsv")[0]
    cells = dict(zip(GDELT_COLUMNS, line.split("\t"), strict=True))
    assert map_raw(raw("gdelt", "1", cells)) == map_raw(raw("gdelt", "1", line, "tsv"))


def test_gdelt_short_line_is_an_error():
    with pytest.raises(MappingError, match="61 columns"):
        map_raw(raw("gdelt", "1", "1\t2\t3", "tsv"))
