import datetime as dt

import pytest
from vigia.streams.normalize import MapperRegistry, MappingError, UnknownSource, map_raw

from tests.streams.normalize.conftest import raw
from vigia.schema import DrugKind, IncidentCategory
from vigia.sources import MappingSpec, SourcePolicy, SourceSpec

INCIDENTS = {
    "model": "incident",
    "fields": {
        "event_date": {"path": "occurred", "format": "%d/%m/%Y"},
        "category": {"path": "kind", "table": {"attack": "violence_against_civilians"}},
        "fatalities": "deaths",
        "actors": "who[].name",
        "notes": "title",
    },
    "location": {"code": "place.divipola", "place_name": "place.name"},
    "country": "place.country",
}
ROW = {
    "occurred": "03/05/2024", "kind": "attack", "deaths": "3", "title": "Ataque",
    "who": [{"name": "ELN"}], "place": {"divipola": "05001", "country": "co", "name": "Medellín"},
}  # fmt: skip


def registry(**mappings) -> MapperRegistry:
    specs = [
        SourceSpec(f"{name}_instance", "http_json", name, MappingSpec.model_validate(m),
                   SourcePolicy())
        for name, m in mappings.items()
    ]  # fmt: skip
    return MapperRegistry.load(specs)


def test_an_incident_by_configuration():
    (event,) = map_raw(raw("acme", "1", ROW), registry=registry(acme=INCIDENTS))
    assert event.key == "acme:1" and event.event_date == dt.date(2024, 5, 3)
    assert event.category is IncidentCategory.VIOLENCE_AGAINST_CIVILIANS
    assert (event.fatalities.best, event.actors, event.notes) == (3, ["ELN"], "Ataque")
    assert event.location.municipality_name == "Medellín"


def test_another_country_is_out_of_scope_and_errors_name_the_rule():
    reg = registry(acme=INCIDENTS)
    abroad = {**ROW, "place": {**ROW["place"], "country": "VE"}}
    assert map_raw(raw("acme", "2", abroad), registry=reg) == []
    with pytest.raises(MappingError, match=r"acme:3: fields.category \(path 'kind'\): 'boom'"):
        map_raw(raw("acme", "3", {**ROW, "kind": "boom"}), registry=reg)
    with pytest.raises(MappingError, match=r"fields.fatalities \(path 'deaths'\): 'many'"):
        map_raw(raw("acme", "4", {**ROW, "deaths": "many"}), registry=reg)
    with pytest.raises(MappingError, match=r"fields.event_date .*'2024-05-03'"):
        map_raw(raw("acme", "5", {**ROW, "occurred": "2024-05-03"}), registry=reg)


def test_constants_units_and_defaults_for_a_seizure():
    spec = {
        "model": "seizure",
        "fields": {
            "event_date": "day",
            "drug": {"value": "cocaine"},
            "quantity_kg": {"path": "pounds", "scale": 0.4536},
        },
        "location": {"department": "dept", "municipality": "town"},
    }
    row = {"day": "2024-01-02", "pounds": 10, "dept": "NARIÑO", "town": "TUMACO"}
    (event,) = map_raw(raw("acme_kg", "1", row), registry=registry(acme_kg=spec))
    assert event.drug is DrugKind.COCAINE and event.quantity_kg == pytest.approx(4.536)
    assert event.location.municipality_code == "52835"


def test_a_configured_mapping_wins_over_an_entry_point_and_unknown_sources_fail_at_start():
    reg = registry(ucdp=INCIDENTS)
    (event,) = map_raw(raw("ucdp", "9", ROW), registry=reg)
    assert event.notes == "Ataque"  # the configured mapper, not the UCDP one
    with pytest.raises(UnknownSource, match=r"'nope'.*'mapping:' block"):
        reg.require(["ucdp", "nope"])
    reg.require(["ucdp", "acled", "seizures"])  # all known: no error
    with pytest.raises(MappingError, match=r"unknown source 'nope' \(record nope:1\)"):
        map_raw(raw("nope", "1", ROW), registry=reg)
