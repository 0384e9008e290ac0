import pytest
from hypothesis import given
from hypothesis import strategies as st
from vigia.streams.geo import GeocodeOutcome, Geocoder, default_geocoder, place_key

from vigia.schema import GeoPrecision, RegionLevel


@pytest.fixture
def geo():
    return Geocoder()  # fresh counters per test


def test_default_geocoder_is_shared():
    assert default_geocoder() is default_geocoder()
    assert len(default_geocoder().divipola.municipalities) == 1121
    assert len(default_geocoder().divipola.departments) == 33


@pytest.mark.parametrize(
    "code", ["05001", "5001", "5,001", "05001000", "5,001,000", "05.001.000", 5001]
)
def test_codes_in_any_punctuation(geo, code):
    loc, outcome = geo.resolve(code=code)
    assert outcome is GeocodeOutcome.CODE
    assert (loc.municipality_code, loc.municipality_name, loc.department_name) == (
        "05001", "Medellín", "Antioquia",
    )  # fmt: skip
    assert loc.precision is GeoPrecision.MUNICIPALITY and loc.latitude is not None


def test_retired_code_maps_to_successor(geo):
    assert geo.municipality_code("94663") == "94343"
    assert geo.municipality_code("99999") is None


@pytest.mark.parametrize(
    ("department", "name", "code"),
    [
        ("ANTIOQUIA", "MEDELLÍN", "05001"),
        ("antioquia", "medellin", "05001"),
        ("AMAZONAS", "LETICIA (CT)", "91001"),
        ("Bogotá, D.C.", "Bogotá, D.C.", "11001"),
        ("BOGOTÁ. D.C.", "BOGOTA DC", "11001"),
        ("Bogotá department", "Bogotá municipality", "11001"),
        ("Tolima  department", "Ibagué municipality", "73001"),
        ("Norte de Santander department", "Cúcuta municipality", "54001"),
        ("Antioquia department", "Medellín Medellín municipality", "05001"),
        ("Meta", "Granada", "50313"),
        ("Antioquia", "Granada", "05313"),
        ("Cundinamarca department", "San Juan de Río Seco municipality", "25662"),  # fuzzy
        (None, "Barrancabermeja", "68081"),  # unique in the country
    ],
)
def test_names(geo, department, name, code):
    loc, outcome = geo.resolve(department=department, municipality=name)
    assert loc.municipality_code == code
    assert outcome.municipality_level


def test_fuzzy_is_counted_and_constrained_to_the_department(geo):
    _, outcome = geo.resolve(department="Cesar", municipality="Aguachia")
    assert outcome is GeocodeOutcome.FUZZY
    # "San Gil" exists only in Santander: in Norte de Santander it must not be guessed.
    loc, outcome = geo.resolve(department="Norte de Santander", municipality="San Gil")
    assert outcome is GeocodeOutcome.DEPARTMENT
    assert loc.level is RegionLevel.DEPARTMENT and loc.department_code == "54"
    assert geo.stats == {"fuzzy": 1, "department": 1}


def test_ambiguous_name_without_department_stays_at_country_level(geo):
    loc, outcome = geo.resolve(municipality="Granada")
    assert outcome is GeocodeOutcome.COUNTRY and loc.level is RegionLevel.COUNTRY
    assert geo.unresolved["Granada"] == 1


def test_unknown_place_keeps_its_department(geo):
    loc, outcome = geo.resolve(
        department="Antioquia department", municipality="Urabá region", place_name="Urabá"
    )
    assert outcome is GeocodeOutcome.DEPARTMENT
    assert (loc.department_code, loc.department_name, loc.municipality_code) == (
        "05", "Antioquia", None,
    )  # fmt: skip
    assert loc.precision is GeoPrecision.DEPARTMENT and loc.place_name == "Urabá"


def test_nothing_known_is_country_level_not_dropped(geo):
    loc, outcome = geo.resolve(municipality="Somewhere", department="Atlantis")
    assert outcome is GeocodeOutcome.COUNTRY
    assert loc.country == "CO" and loc.level is RegionLevel.COUNTRY


def test_code_beats_a_conflicting_department_name(geo):
    loc, _ = geo.resolve(code="11,001,000", department="CUNDINAMARCA", municipality="BOGOTÁ D.C.")
    assert (loc.department_code, loc.municipality_code) == ("11", "11001")


def test_points(geo):
    loc, outcome = geo.resolve(latitude=6.25, longitude=-75.57, point_precision=GeoPrecision.EXACT)
    assert outcome is GeocodeOutcome.POINT and loc.municipality_code == "05001"
    assert (loc.latitude, loc.longitude, loc.precision) == (6.25, -75.57, GeoPrecision.EXACT)
    # Madrid is not in Colombia; without any other clue the event stays at country level.
    loc, outcome = geo.resolve(latitude=40.4, longitude=-3.7, point_precision=GeoPrecision.EXACT)
    assert outcome is GeocodeOutcome.COUNTRY and loc.municipality_code is None


def test_point_is_searched_inside_the_known_department(geo):
    # Near the Antioquia/Córdoba border: constrained to Córdoba it must land in Córdoba.
    code = geo.nearest(7.9, -75.9, department="23")
    assert code and code.startswith("23")


def test_department_level_point_is_not_used_for_a_municipality(geo):
    loc, _ = geo.resolve(department="Meta", latitude=3.5, longitude=-73.0, point_precision=None)
    assert loc.level is RegionLevel.DEPARTMENT


@given(
    st.sampled_from(sorted({m.name for m in default_geocoder().divipola.municipalities.values()}))
)
def test_place_key_ignores_case_accents_and_ct(name):
    key = place_key(name)
    assert place_key(name.lower()) == key
    assert place_key(f"{name} (CT)") == key
    assert place_key(f"{name.title()} municipality") == key
    assert place_key(key) == key


@given(st.sampled_from(sorted(default_geocoder().divipola.municipalities)))
def test_every_municipality_resolves_by_its_own_name_and_department(code):
    geo = default_geocoder()
    muni = geo.divipola.municipalities[code]
    dept = geo.divipola.departments[muni.department_code]
    loc, _ = geo.resolve(department=dept.name, municipality=muni.name)
    assert loc.municipality_code == code
