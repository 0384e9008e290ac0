"""Remembered resolutions give what a fresh geocoder gives, and are counted every time."""

import pytest
from vigia.streams.geo import GeocodeOutcome, Geocoder

from vigia.schema import GeoPrecision

CASES = [
    {"code": "5,001,000", "department": "ANTIOQUIA", "municipality": "MEDELLÍN (CT)"},
    {"code": "05001", "department": "Cauca", "municipality": "Popayán"},  # the code wins
    {"code": "99999", "department": "Cauca", "municipality": "Popayán"},
    {"code": "99999", "department": "Nariño", "municipality": "Tumaco"},
    {"department": "Tolima department", "municipality": "Nowhere municipality"},
    {"municipality": "Granada"},
    {"department": "Chocó", "latitude": 5.69, "longitude": -76.66},
    {
        "department": "Chocó",
        "latitude": 5.69,
        "longitude": -76.66,
        "point_precision": GeoPrecision.EXACT,
        "place_name": "Quibdó town",
    },
    {"latitude": 4.6, "longitude": -74.1, "point_precision": GeoPrecision.MUNICIPALITY},
    {"latitude": 4.6, "longitude": -74.2, "point_precision": GeoPrecision.MUNICIPALITY},
    {"code": "05001", "latitude": 6.3, "longitude": -75.5, "point_precision": GeoPrecision.NEAR},
    {"code": "05001", "latitude": 6.3, "longitude": -75.6, "point_precision": GeoPrecision.NEAR},
    {"latitude": -0.0, "longitude": -75.0, "point_precision": GeoPrecision.EXACT},
    {"latitude": 0.0, "longitude": -75.0, "point_precision": GeoPrecision.EXACT},
    {"code": 5001},
    {"code": True},
    {},
]


def test_warm_answers_equal_cold_answers_and_are_all_counted():
    warm = Geocoder()
    for _ in range(3):
        for case in CASES:
            cold = Geocoder()
            expected = cold.resolve(**case)
            got = warm.resolve(**case)
            assert got[1] is expected[1]
            assert got[0].model_dump_json() == expected[0].model_dump_json(), case
    cold = Geocoder()
    for case in CASES * 3:
        cold._resolved.clear()  # no memory at all
        cold._code_munis.clear()
        cold.resolve(**case)
    assert warm.stats == cold.stats
    assert warm.unresolved == cold.unresolved


def test_the_sign_of_a_zero_coordinate_is_kept():
    geo = Geocoder()
    east, _ = geo.resolve(latitude=0.0, longitude=-75.0, point_precision=GeoPrecision.EXACT)
    west, _ = geo.resolve(latitude=-0.0, longitude=-75.0, point_precision=GeoPrecision.EXACT)
    assert '"latitude":0.0' in east.model_dump_json()
    assert '"latitude":-0.0' in west.model_dump_json()


@pytest.mark.parametrize("code", ["5,001,000", "05001", "5001"])
def test_resolve_code_is_resolve_when_the_code_names_a_municipality(code):
    a, b = Geocoder(), Geocoder()
    assert a.resolve_code(code) == b.resolve(code=code, department="Cauca", municipality="X")
    assert a.stats == b.stats == {"code": 1}


def test_resolve_code_counts_nothing_for_a_code_that_names_no_municipality():
    geo = Geocoder()
    assert geo.resolve_code("99999") is None
    assert geo.resolve_code("") is None
    assert not geo.stats
    location, outcome = geo.resolve(code="99999", department="Cauca", municipality="Popayán")
    assert outcome is GeocodeOutcome.NAME and location.municipality_code == "19001"
