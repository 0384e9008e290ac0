"""Wire contracts: every model round-trips through JSON; bad payloads name their fields."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from vigia import schema
from vigia.codec import UndecodableRecord, codec_for, decode

UTC = dt.UTC


def make_location(**overrides):
    values = dict(
        country="CO",
        department_code="05",
        department_name="ANTIOQUIA",
        municipality_code="05001",
        municipality_name="MEDELLÍN",
        latitude=6.25,
        longitude=-75.56,
        precision=schema.GeoPrecision.MUNICIPALITY,
    )
    values.update(overrides)
    return schema.Location(**values)


def make_detection(**overrides):
    values = dict(
        detector="ears",
        params={"method": "C2", "alpha": 0.001},
        signal="incidents",
        region=schema.Region(level="department", code="05", name="ANTIOQUIA"),
        period=schema.Period(
            kind="month", start=dt.date(1998, 1, 1), end=dt.date(1998, 2, 1), label="1998-01"
        ),
        observed=12,
        expected=3.2,
        threshold=7.9,
        score=4.1,
        score_kind="z",
        evidence=[
            schema.EvidenceItem(
                key="ucdp:123", source="ucdp", event_date=dt.date(1998, 1, 4), fatalities=9
            )
        ],
        sources=["ucdp"],
    )
    values.update(overrides)
    return schema.Detection(**values)


EXAMPLES = [
    schema.RawRecord(
        connector="ucdp_replay",
        connector_type="file_replay",
        source="ucdp",
        source_id="123",
        payload={"id": "123", "best": "4"},
        payload_format="csv",
        event_time=dt.datetime(1998, 1, 4, tzinfo=UTC),
    ),
    schema.ConflictIncident(
        source="ucdp",
        source_id="123",
        event_date=dt.date(1998, 1, 4),
        category=schema.IncidentCategory.ONE_SIDED,
        actors=["AUC", "Civilians"],
        fatalities=schema.Fatalities(best=9, low=9, high=12),
        location=make_location(),
        source_urls=["https://ucdp.uu.se/event/123"],
        source_revision=dt.datetime(2019, 5, 1, tzinfo=UTC),
    ),
    schema.DrugSeizure(
        source="seizures",
        source_id="incautacion_2019:1",
        event_date=dt.date(2019, 1, 1),
        drug=schema.DrugKind.COCAINE,
        quantity_kg=16.78,
        original_quantity="16,780 GRAMO",
        location=make_location(),
    ),
    schema.CultivationEstimate(
        source="coca",
        source_id="52835:2021",
        event_date=dt.date(2021, 12, 31),
        year=2021,
        hectares=15083.0,
        location=make_location(department_code="52", municipality_code="52835"),
    ),
    schema.NewsArticle(
        source="rss",
        source_id="https://insightcrime.org/news/x",
        event_date=dt.date(2026, 2, 20),
        url="https://insightcrime.org/news/x",
        title="Clan del Golfo",
        published_at=dt.datetime(2026, 2, 20, 6, 34, tzinfo=UTC),
        language="en",
        domain="insightcrime.org",
        places_mentioned=[make_location()],
    ),
    make_detection(),
    schema.DeadLetter(
        stage="normalize",
        component="map_raw",
        reason="bad",
        error_type="MappingError",
        original=b"\xff\x00raw",
    ),
    schema.ConnectorOffset(connector="ucdp_api", cursor={"page": 3, "date": "2024-01-01"}),
    schema.Alert(
        fingerprint="abc",
        rule="violence-spike",
        state=schema.AlertState.FIRING,
        severity=schema.Severity.CRITICAL,
        detection=make_detection(),
        starts_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize("model", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_model_round_trips_through_json(model):
    data = model.to_bytes()
    assert json.loads(data)["schema_version"] == schema.SCHEMA_VERSION
    again = type(model).from_bytes(data)
    assert again == model
    assert decode(type(model), data) == model


def test_dead_letter_keeps_original_bytes_exactly():
    letter = schema.DeadLetter(
        stage="connector", component="x", reason="r", error_type="E", original=b"\x00\xff\xfe"
    )
    assert schema.DeadLetter.from_bytes(letter.to_bytes()).original == b"\x00\xff\xfe"


@given(
    best=st.integers(min_value=0, max_value=10_000),
    extra=st.integers(min_value=0, max_value=100),
    lat=st.floats(min_value=-4.3, max_value=13.5),
    lon=st.floats(min_value=-81.8, max_value=-66.8),
    text=st.text(max_size=40),
)
def test_incident_round_trips_for_any_values(best, extra, lat, lon, text):
    incident = schema.ConflictIncident(
        source="acled",
        source_id="COL1",
        event_date=dt.date(2025, 1, 1),
        category="battle",
        sub_type=text,
        notes=text,
        actors=[text],
        fatalities=schema.Fatalities(best=best, low=best, high=best + extra),
        location=schema.Location(latitude=lat, longitude=lon, precision="exact"),
    )
    assert schema.ConflictIncident.from_bytes(incident.to_bytes()) == incident


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"category": "not-a-category"}, "category"),
        ({"fatalities": {"best": -1}}, "fatalities.best"),
        ({"event_date": "yesterday"}, "event_date"),
        ({"location": {"municipality_code": "5001"}}, "location.municipality_code"),
        ({"location": {"country": "Colombia"}}, "location.country"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_incident_is_rejected_naming_the_field(payload, field):
    base = json.loads(EXAMPLES[1].to_bytes())
    for key, value in payload.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    with pytest.raises(ValidationError) as info:
        schema.ConflictIncident.model_validate(base)
    locations = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert field in locations


def test_location_rejects_a_municipality_outside_its_department():
    with pytest.raises(ValidationError, match="not in department"):
        make_location(department_code="11")


def test_fatalities_must_be_ordered():
    with pytest.raises(ValidationError, match="low"):
        schema.Fatalities(best=1, low=5)


def test_cultivation_needs_a_municipality():
    with pytest.raises(ValidationError, match="municipality_code"):
        schema.CultivationEstimate(
            source="coca", source_id="x", event_date=dt.date(2021, 12, 31), year=2021, hectares=1
        )


def test_detection_key_is_stable():
    detection = make_detection()
    assert detection.key == "ears:incidents:department:05:1998-01"
    assert make_detection(observed=99, revision=2).key == detection.key


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{not json", "invalid JSON"),
        (b'{"best": "many"}', "best:"),
    ],
)
def test_codec_names_why_bytes_are_undecodable(data, reason):
    codec = codec_for(schema.Fatalities)
    with pytest.raises(UndecodableRecord) as info:
        codec.loads(data)
    assert reason in str(info.value)
    assert "Fatalities" in str(info.value)


def test_codec_encodes_models_and_validates_dicts():
    codec = codec_for(schema.Fatalities)
    assert codec.loads(codec.dumps(schema.Fatalities(best=2))) == schema.Fatalities(best=2)
    with pytest.raises(ValidationError):
        codec.dumps({"best": -3})


def test_detection_carries_trust_weights_and_old_records_still_decode():
    trusted = make_detection(sources=["ucdp", "acled"], source_trust={"ucdp": 1, "acled": 0.6})
    assert schema.Detection.from_bytes(trusted.to_bytes()).source_trust == {
        "ucdp": 1.0,
        "acled": 0.6,
    }
    old = json.loads(make_detection().to_bytes())
    del old["source_trust"]  # a detection published before the field existed
    assert schema.Detection.model_validate(old).source_trust == {}
    with pytest.raises(ValidationError, match=r"source_trust\.acled"):
        make_detection(source_trust={"acled": 1.5})  # a weight is 0–1
