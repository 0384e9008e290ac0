import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vigia.streams.normalize import MapperRegistry, MappingError, map_raw
from vigia.streams.normalize.fields import parse_date, parse_number

from tests.streams.normalize.conftest import raw


def test_unknown_source_is_a_mapping_error():
    with pytest.raises(MappingError, match="unknown source 'nope'"):
        map_raw(raw("nope", "1", {}))
    assert issubclass(MappingError, ValueError)


def test_the_built_in_sources_are_entry_points():
    built_in = {"acled", "coca", "eradication", "gdelt", "gdelt_doc", "homicides", "massacres",
                "rss", "seizures", "ucdp"}  # fmt: skip
    assert built_in <= set(MapperRegistry.load().names())  # plugins may add more


def test_text_payload_for_a_json_source_is_an_error():
    with pytest.raises(MappingError, match="payload must be an object"):
        map_raw(raw("ucdp", "1", "just text", "text"))


@pytest.mark.parametrize(
    ("text", "european", "value"),
    [
        ("16,780", False, 16780.0),
        ("195,361,819", False, 195361819.0),
        ("1,5", False, 1.5),
        ("2.5", False, 2.5),
        ("8.832,92", True, 8832.92),
        ("61,45", True, 61.45),
        ("1.088,88", True, 1088.88),
        ("12.5", True, 12.5),
    ],
)
def test_parse_number(text, european, value):
    assert parse_number(text, european=european) == pytest.approx(value)


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_us_and_european_renderings_parse_to_the_same_value(value):
    us = f"{value:,.2f}"
    eu = us.replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_number(us) == pytest.approx(float(value))
    assert parse_number(eu, european=True) == pytest.approx(float(value))


@given(st.dates())
def test_date_formats_agree(day):
    socrata = f"{day.month:02d}/{day.day:02d}/{day.year:04d} 12:00:00 AM"
    dijin = f"{day.day:02d}/{day.month:02d}/{day.year:04d}"
    if day.year >= 1000:
        assert parse_date(socrata) == parse_date(dijin) == parse_date(day.isoformat()) == day


_values = st.one_of(st.none(), st.text(max_size=12), st.integers(-5, 10**6).map(str))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(
        [
            "acled",
            "coca",
            "eradication",
            "gdelt",
            "gdelt_doc",
            "homicides",
            "massacres",
            "rss",
            "seizures",
            "ucdp",
        ]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "type_of_violence",
                "date_start",
                "best",
                "event_type",
                "event_date",
                "fatalities",
                "CLASE_BIEN",
                "FECHA_HECHO",
                "BIEN_UNIDAD_MEDIDA",
                "cantidad",
                "CODMPIO",
                "2020",
                "title",
                "link",
                "url",
                "pubDate",
                "seendate",
                "ActionGeo_CountryCode",
                "fecha_hecho",
                "latitude",
                "adm_2",
            ]
        ),
        _values,
    ),
)
def test_arbitrary_rows_either_map_or_raise_mapping_error(source, payload):
    try:
        events = map_raw(raw(source, "p", payload))
    except MappingError as exc:
        assert str(exc)
    else:
        assert isinstance(events, list)
