"""Row: the bulk reader gives what get gives, and steps aside for values that are not text."""

import pytest
from vigia.streams.normalize import map_raw
from vigia.streams.normalize.row import Fields, Row

from tests.streams.normalize.conftest import raw

FIELDS = Fields("clase_bien", "cantidad", "fecha_hecho", "municipio", "absent")


@pytest.mark.parametrize(
    "payload",
    [
        {"\ufeffCLASE_BIEN": " BASE DE COCA ", "Cantidad": "16,780", "FECHA_HECHO": "  "},
        {"clase_bien": "x", "CLASE_BIEN ": "later wins", "municipio": ""},
        {"clase_bien": "a", "fecha_hecho": None, "other": 5},
        {},
    ],
)
def test_texts_are_what_get_reads(payload):
    row = Row(payload, "seizures")
    texts = row.texts(FIELDS)
    assert texts is not None
    assert {name: texts.get(name) for name in FIELDS.names} == {
        name: row.get(name) for name in FIELDS.names
    }


def test_a_later_column_cleaning_to_the_same_name_wins():
    row = Row({"clase_bien": "first", "\ufeffCLASE_BIEN ": "second"}, "seizures")
    assert row.get("clase_bien") == row.texts(FIELDS)["clase_bien"] == "second"
    assert row.data == {"clase_bien": "second"}


def test_texts_step_aside_when_a_read_value_is_not_text():
    row = Row({"clase_bien": "a", "cantidad": 12}, "seizures")
    assert row.texts(FIELDS) is None
    assert row.get("cantidad") == "12"
    # a value that is not read does not matter
    assert Row({"clase_bien": "a", "other": 12}, "s").texts(FIELDS) == {"clase_bien": "a"}


def test_clean_payload_is_its_own_data():
    payload = {"id": "1", "year": "2019"}
    assert Row(payload, "ucdp").data is payload
    assert Row({"ID": "1"}, "ucdp").data == {"id": "1"}


def test_a_row_with_numbers_maps_like_the_same_row_as_text(ucdp_rows):
    row = dict(ucdp_rows[1])
    typed = {**row, "best": int(row["best"]), "latitude": float(row["latitude"])}
    assert map_raw(raw("ucdp", "1", typed)) == map_raw(raw("ucdp", "1", row))
    bad = {**row, "best": [1]}
    with pytest.raises(ValueError, match=r"field 'best' = '\[1\]': not a number"):
        map_raw(raw("ucdp", "1", bad))
