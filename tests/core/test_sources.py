import datetime as dt

import pytest

from vigia.sources import (
    DEFAULT_POLICIES,
    ConfigFileError,
    MappingSpec,
    SourcePolicy,
    read_sources,
)

FILE = """
instances:
  - name: acme_events
    type: http_json
    config: {source: acme, url: "https://api.acme.example/events"}
    mapping:
      model: incident
      fields: {event_date: occurred, category: {value: battle}}
    policy: {allowed_lateness_days: 3, trust_weight: 0.5, expected_cadence: 6h}
  - name: replay
    type: file_replay
    config: {source: ucdp, path: x.csv}
"""


def test_a_bare_string_is_a_path_and_required_fields_are_checked():
    spec = MappingSpec.model_validate(
        {"model": "seizure", "fields": {"event_date": "d", "drug": "k", "quantity_kg": "q"}}
    )
    assert spec.fields["drug"].path == "k"
    with pytest.raises(ValueError, match=r"needs fields \['quantity_kg'\]"):
        MappingSpec.model_validate({"model": "seizure", "fields": {"event_date": "d", "drug": "k"}})
    with pytest.raises(ValueError, match="not incident fields"):
        MappingSpec.model_validate(
            {"model": "incident", "fields": {"event_date": "d", "category": "c", "kg": "x"}}
        )
    with pytest.raises(ValueError, match="not a JMESPath expression"):
        MappingSpec.model_validate({"model": "news", "fields": {"url": "a[", "title": "t",
                                                                 "published_at": "p"}})  # fmt: skip


def test_today_s_values_are_the_defaults():
    ucdp, acled = DEFAULT_POLICIES["ucdp"], DEFAULT_POLICIES["acled"]
    assert (ucdp.allowed_lateness_days, ucdp.merge_priority, ucdp.exclusive) == (30, 0, True)
    assert acled.expected_cadence == dt.timedelta(days=10)
    assert DEFAULT_POLICIES["coca"].allowed_lateness_days == 0
    assert SourcePolicy().trust_weight == 1.0


def test_read_sources_merges_policy_overrides_into_the_source_defaults(tmp_path):
    path = tmp_path / "connectors.yaml"
    path.write_text(FILE)
    acme, replay = read_sources(path)
    assert (acme.source, acme.mapping.model) == ("acme", "incident")
    assert acme.policy.allowed_lateness_days == 3 and acme.policy.trust_weight == 0.5
    assert acme.policy.expected_cadence == dt.timedelta(hours=6)
    assert acme.overrides == {"allowed_lateness_days", "trust_weight", "expected_cadence"}
    assert replay.mapping is None and replay.policy == DEFAULT_POLICIES["ucdp"]
    assert read_sources(tmp_path / "missing.yaml") == []


def test_a_bad_block_names_the_instance_and_field(tmp_path):
    path = tmp_path / "connectors.yaml"
    path.write_text(FILE.replace("trust_weight: 0.5", "trust_weight: 7"))
    with pytest.raises(ConfigFileError, match=r"'acme_events': policy.trust_weight"):
        read_sources(path)
    path.write_text(FILE.replace("config: {source: acme, ", "config: {"))
    with pytest.raises(ConfigFileError, match=r"a mapping needs config\.source"):
        read_sources(path)
