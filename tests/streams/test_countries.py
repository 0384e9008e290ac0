"""Many countries, one model of place: routing keys from each source's own codes, and
region codes that carry their country so two countries never collide."""

from __future__ import annotations

import pytest
from vigia.connectors.sources.gdelt_parser import parse_export
from vigia.streams.backtest.readers import read_records
from vigia.streams.backtest.relabel import relabel
from vigia.streams.counting.signals import country_of_code, level_of_code, region_codes
from vigia.streams.normalize import map_raw
from vigia.streams.normalize.errors import MappingError

from tests.conftest import DATA
from vigia.countries import (
    UnknownCountry,
    country_of_payload,
    from_iso3,
    partition_for,
    to_iso3,
)
from vigia.schema import RawRecord, RegionLevel

GDELT = DATA / "gdelt" / "20191024143000.export.CSV"
UCDP = DATA / "ucdp" / "ucdp_ged_colombia_hdx.csv"


@pytest.mark.parametrize(
    ("code", "system", "iso3"),
    [
        (100, "gw", "COL"),  # UCDP country_id: Gleditsch–Ward
        ("101", "gw", "VEN"),
        ("130", "gw", "ECU"),
        ("CO", "fips", "COL"),  # GDELT ActionGeo_CountryCode: FIPS 10-4
        ("PM", "fips", "PAN"),  # FIPS differs from ISO (PA is Paraguay in FIPS)
        ("UK", "fips", "GBR"),
        ("170", "iso_numeric", "COL"),  # ACLED iso
        ("COL", "iso3", "COL"),
    ],
)
def test_source_codes_become_iso3(code, system, iso3):
    assert to_iso3(code, system) == iso3
    assert to_iso3(from_iso3(iso3, system), system) == iso3


def test_an_unknown_code_is_an_error_not_a_guess():
    with pytest.raises(UnknownCountry):
        to_iso3("XX", "fips")


def test_every_record_of_a_country_goes_to_one_partition():
    assert len({partition_for("COL", 6) for _ in range(3)}) == 1
    assert partition_for("COL", 1) == 0
    assert {partition_for(c, 6) for c in ("COL", "VEN", "ECU", "PER", "MEX", "GTM")} == set(
        range(6)
    )


def test_the_real_gdelt_export_routes_and_places_every_country_apart():
    rows = [r for r in parse_export(GDELT.read_text("utf-8"), countries=()) if isinstance(r, dict)]
    seen: dict[str, set[str]] = {}
    for row in rows:
        fips = row["ActionGeo_CountryCode"]
        try:
            country = country_of_payload("gdelt", row)
        except UnknownCountry:  # GDELT's own non-country codes ("OS": oceans)
            record = RawRecord(
                connector="g", connector_type="gdelt_events", source="gdelt",
                source_id=row["GLOBALEVENTID"], payload=row, payload_format="tsv",
            )  # fmt: skip
            with pytest.raises(MappingError, match="unknown fips country code"):
                map_raw(record)
            continue
        if not fips:
            assert country is None
            continue
        assert country == to_iso3(fips, "fips")
        record = RawRecord(
            connector="g", connector_type="gdelt_events", source="gdelt",
            source_id=row["GLOBALEVENTID"], payload=row, payload_format="tsv", country=country,
        )  # fmt: skip
        for event in map_raw(record):
            codes = region_codes(event.location)
            seen.setdefault(event.location.country, set()).update(codes)
            if country == "COL":
                assert event.location.country == "CO"
            else:
                # A Venezuelan or Ecuadorian event never lands in a Colombian municipality.
                assert event.location.country != "CO"
                assert not any(code[:1].isdigit() for code in codes)
    assert len(seen) > 10  # material conflict in many countries, each kept apart
    for country, codes in seen.items():
        assert {country_of_code(code) for code in codes} == {country}
    everywhere = [code for codes in seen.values() for code in codes]
    assert len(everywhere) == len(set(everywhere))  # no region code in two countries


def test_a_border_point_across_in_venezuela_stays_in_venezuela():
    rows = [r for r in parse_export(GDELT.read_text("utf-8"), countries=("VE",))]
    (row,) = [r for r in rows if isinstance(r, dict)][:1]
    # San Antonio del Táchira, Venezuela: 1 km from Cúcuta, Colombia.
    row = {**row, "ActionGeo_Lat": "7.8145", "ActionGeo_Long": "-72.4431", "ActionGeo_Type": "4",
           "ActionGeo_FullName": "San Antonio del Tachira, Tachira, Venezuela",
           "EventRootCode": "19", "EventCode": "190", "QuadClass": "4"}  # fmt: skip
    record = RawRecord(
        connector="g", connector_type="gdelt_events", source="gdelt", source_id="1",
        payload=row, payload_format="tsv", country="VEN",
    )  # fmt: skip
    (event,) = map_raw(record)
    assert event.location.country == "VE"
    assert event.location.department_code == "VE-S"  # Táchira, ISO 3166-2
    assert level_of_code(event.location.department_code) is RegionLevel.DEPARTMENT


def test_a_relabelled_ucdp_event_counts_in_its_new_country_only():
    original, home = next(
        (r, events[0])
        for r in read_records(UCDP)
        if (events := map_raw(r)) and events[0].location.municipality_code
    )
    (abroad,) = map_raw(relabel(original, "ECU"))
    assert home.location.country == "CO" and home.location.municipality_code
    assert abroad.location.country == "EC"
    assert set(region_codes(abroad.location)).isdisjoint(region_codes(home.location))
