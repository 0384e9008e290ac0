"""The event builders validate exactly like the model classes (values, fields set, errors)."""

import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError
from vigia.streams.normalize import build

from vigia.schema import (
    ConflictIncident,
    CultivationEstimate,
    DrugKind,
    DrugSeizure,
    Fatalities,
    GeoPrecision,
    IncidentCategory,
    Location,
    NewsArticle,
)

MEDELLIN = Location(
    department_code="05",
    department_name="ANTIOQUIA",
    municipality_code="05001",
    municipality_name="MEDELLÍN",
    latitude=6.25,
    longitude=-75.56,
    precision=GeoPrecision.MUNICIPALITY,
)


def _incident(**changes):
    fields = {
        "source": "ucdp",
        "source_id": "1",
        "event_date": dt.date(2019, 2, 3),
        "event_date_end": None,
        "location": MEDELLIN,
        "category": IncidentCategory.STATE_BASED,
        "actors": ["Government of Colombia", "ELN"],
        "fatalities": {"best": 3, "low": 2, "high": None},
        "notes": "Reuters",
    }
    fields.update(changes)
    return fields


def _old_way(fields):
    """What the mappers did before: Fatalities(**f), then the class."""
    fatalities = fields.get("fatalities")
    if isinstance(fatalities, dict):
        fields = {**fields, "fatalities": Fatalities(**fatalities)}
    return ConflictIncident(**fields)


def test_models_define_no_init_of_their_own():
    # The builders call the validator directly, which bypasses a custom __init__.
    for model in (ConflictIncident, DrugSeizure, CultivationEstimate, NewsArticle, Fatalities):
        assert model.__init__ is BaseModel.__init__


def test_incident_equals_the_class_built_one_field_for_field():
    fields = _incident()
    built, old = build.conflict_incident(fields), _old_way(fields)
    assert built == old and built.to_bytes() == old.to_bytes()
    assert built.model_fields_set == old.model_fields_set
    assert built.fatalities.model_fields_set == old.fatalities.model_fields_set == {
        "best", "low", "high",
    }  # fmt: skip


@pytest.mark.parametrize(
    "changes",
    [
        {"event_date_end": dt.date(2019, 1, 1)},  # model-level error quoting the whole input
        {"fatalities": {"best": 1, "low": 5}},  # the nested model's own check
        {"fatalities": {"best": -1}},
        {"category": "bombing"},
        {"source_id": ""},
    ],
)
def test_incident_errors_are_the_class_errors(changes):
    fields = _incident(**changes)
    with pytest.raises(ValidationError) as old:
        _old_way(fields)
    with pytest.raises(ValidationError) as built:
        build.conflict_incident(fields)
    assert str(built.value) == str(old.value)
    assert built.value.errors(include_context=False) == old.value.errors(include_context=False)


def test_seizure_and_cultivation_builders_match_the_classes():
    seizure = {
        "source": "seizures",
        "source_id": "7",
        "event_date": dt.date(2019, 2, 20),
        "location": MEDELLIN,
        "drug": DrugKind.COCA_BASE,
        "quantity_kg": 16.78,
        "original_quantity": "16,780 GRAMO",
    }
    assert build.drug_seizure(seizure).to_bytes() == DrugSeizure(**seizure).to_bytes()
    cultivation = {
        "source": "coca",
        "source_id": "05001:2019",
        "event_date": dt.date(2019, 12, 31),
        "location": MEDELLIN,
        "year": 2019,
        "hectares": 1.5,
    }
    built = build.cultivation_estimate(cultivation)
    assert built == CultivationEstimate(**cultivation)
    bad = {**cultivation, "location": Location(precision=GeoPrecision.COUNTRY)}
    with pytest.raises(ValidationError) as old:
        CultivationEstimate(**bad)
    with pytest.raises(ValidationError) as new:
        build.cultivation_estimate(bad)
    assert str(new.value) == str(old.value)
