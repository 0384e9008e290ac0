import datetime as dt
from collections import defaultdict

import pytest
from vigia.streams.normalize import MappingError, map_raw

from tests.streams.normalize.conftest import DATA, FIXTURES, csv_rows, json_fixture, raw
from vigia.schema import DrugKind, RegionLevel


@pytest.fixture
def seizure_rows():
    return csv_rows(FIXTURES / "policia_incautaciones_sample.csv")


def _seize(row, source="seizures", sid="1"):
    return map_raw(raw(source, sid, row, "csv"))


def test_bom_header_and_total_row(seizure_rows):
    assert "CLASE_BIEN" in seizure_rows[0]  # BOM stripped by utf-8-sig
    assert seizure_rows[-1]["CLASE_BIEN"] == "TOTAL"
    assert _seize(seizure_rows[-1]) == []
    events = [e for i, r in enumerate(seizure_rows[:-1]) for e in _seize(r, sid=str(i))]
    assert len(events) == 8
    assert all(e.location.level is RegionLevel.MUNICIPALITY for e in events)


def test_leticia_thousands_separator_and_ct_suffix(seizure_rows):
    (s,) = _seize(seizure_rows[0])
    assert s.drug is DrugKind.COCA_BASE
    assert s.quantity_kg == pytest.approx(16.78)
    assert s.original_quantity == "16,780 GRAMO"
    assert s.location.municipality_code == "91001"
    assert s.event_date == dt.date(2019, 2, 20)  # MM/DD/YYYY hh:mm:ss AM


def test_classes_and_seven_digit_codes(seizure_rows):
    kinds = [_seize(r)[0].drug for r in seizure_rows[1:5]]
    assert kinds == [DrugKind.MARIJUANA, DrugKind.BASUCO, DrugKind.COCAINE, DrugKind.HEROIN]
    assert _seize(seizure_rows[1])[0].location.municipality_code == "05002"  # "5,002,000"


def test_bogota_filed_under_cundinamarca_goes_to_the_district(seizure_rows):
    row = next(r for r in seizure_rows if r["MUNICIPIO_HECHO"].startswith("BOGOT"))
    assert row["DEPTO_HECHO"] == "CUNDINAMARCA"
    (s,) = _seize(row)
    assert (s.location.department_code, s.location.municipality_code) == ("11", "11001")


def test_soda_rows():
    dijin, mindefensa = json_fixture("socrata_police_rows.json")["seizures_soda"]
    (s,) = map_raw(raw("seizures", "r1", dijin))
    assert (s.drug, s.quantity_kg, s.event_date) == (DrugKind.COCAINE, 2.5, dt.date(2025, 3, 4))
    assert s.location.municipality_code == "05001"
    soda = "https://www.datos.gov.co/resource/26zg-9p9r.json?$limit=1000"
    (m,) = map_raw(raw("seizures", "r2", mindefensa).model_copy(update={"fetch_url": soda}))
    assert (m.drug, m.quantity_kg, m.location.municipality_code) == (
        DrugKind.COCAINE, 1250.5, "52835",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("unit", "qty", "kg"),
    [
        ("KILOGRAMO", "3", 3.0),
        ("LIBRA", "2", 1.0),
        ("UNIDAD", "40", 0.0),
        ("Gramos", "1,500", 1.5),
        ("gramo", "2.5", 0.0025),
    ],
)
def test_units(seizure_rows, unit, qty, kg):
    row = dict(seizure_rows[0], BIEN_UNIDAD_MEDIDA=unit)
    row["Droga Incautada/ Cantidad"] = qty
    assert _seize(row)[0].quantity_kg == pytest.approx(kg)


def test_unknown_unit_and_class_are_errors(seizure_rows):
    with pytest.raises(MappingError, match=r"bien_unidad_medida.*BARRIL.*unknown unit"):
        _seize(dict(seizure_rows[0], BIEN_UNIDAD_MEDIDA="BARRIL"))
    with pytest.raises(MappingError, match=r"clase_bien.*VEHICULO"):
        _seize(dict(seizure_rows[0], CLASE_BIEN="VEHICULO"))
    with pytest.raises(MappingError, match="not a non-negative number"):
        _seize(dict(seizure_rows[0], **{"Droga Incautada/ Cantidad": "-4"}))


def test_coca_rows_one_estimate_per_year():
    rows = csv_rows(FIXTURES / "coca_hectareas_sample.csv")
    tumaco = next(r for r in rows if r["CODMPIO"] == "52835")
    estimates = map_raw(raw("coca", "52835", tumaco, "csv"))
    assert len(estimates) == 24
    assert len({e.key for e in estimates}) == 24
    by_year = {e.year: e for e in estimates}
    assert by_year[2020].hectares == pytest.approx(8832.92)  # "8.832,92"
    assert by_year[2001].hectares == pytest.approx(1421.36)
    assert by_year[2020].key == "coca:52835:2020"
    assert by_year[2020].event_date == dt.date(2020, 12, 31)


def test_coca_empty_is_zero_and_retired_code_maps_to_successor():
    rows = csv_rows(FIXTURES / "coca_hectareas_sample.csv")
    mapiripana = next(r for r in rows if r["CODMPIO"] == "94663")
    estimates = map_raw(raw("coca", "94663", mapiripana, "csv"))
    assert estimates[0].hectares == 0.0 and estimates[0].year == 2001
    assert {e.location.municipality_code for e in estimates} == {"94343"}
    assert estimates[0].key == "coca:94663:2001"


def test_coca_real_file_totals_match_published_simci_figures():
    totals = defaultdict(float)
    for row in csv_rows(DATA / "coca" / "deteccion_cultivos_coca_hectareas_2001_2024.csv"):
        for e in map_raw(raw("coca", row["CODMPIO"], row, "csv")):
            totals[e.year] += e.hectares
    published = {2010: 61811, 2016: 146140, 2020: 142784, 2021: 204257, 2024: 261386}
    for year, hectares in published.items():
        assert totals[year] == pytest.approx(hectares, abs=1.0), year


def test_police_sources():
    rows = json_fixture("socrata_police_rows.json")
    (massacre,) = map_raw(raw("massacres", "m1", rows["massacres"][0]))
    assert massacre.category.value == "one_sided" and massacre.sub_type == "massacre"
    assert massacre.fatalities.best == 5 and massacre.location.municipality_code == "52835"
    (homicide,) = map_raw(raw("homicides", "h1", rows["homicides"][0]))
    assert homicide.category.value == "violence_against_civilians"
    assert homicide.sub_type == "homicide:arma de fuego"
    assert homicide.event_date == dt.date(2025, 3, 4)  # dd/mm/yyyy
    (erad,) = map_raw(raw("eradication", "e1", rows["eradication"][0]))
    assert (erad.source, erad.hectares, erad.year) == ("eradication", 12.5, 2025)


@pytest.mark.parametrize("value", ["inf", "1e400"])
def test_infinite_quantity_is_a_mapping_error(seizure_rows, value):
    with pytest.raises(MappingError, match="not a finite number"):
        _seize(dict(seizure_rows[0], **{"Droga Incautada/ Cantidad": value}))
