"""Instance YAML: validated at start-up, errors name the file, the instance and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from vigia.connectors.errors import ConfigError
from vigia.connectors.instances import build_instance, load_instances, parse_schedule, select
from vigia.connectors.sources.file_replay import FileReplayConfig

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "deploy" / "connectors.yaml"


def test_the_shipped_instances_validate_and_cover_the_required_sources():
    specs = {s.name: s for s in load_instances(SHIPPED)}
    feeds = {s.config.url for s in specs.values() if s.type == "rss"}
    assert "https://insightcrime.org/feed/" in feeds
    assert "https://www.eltiempo.com/rss/justicia_conflicto-y-narcotrafico.xml" in feeds
    assert "https://verdadabierta.com/feed/" in feeds
    socrata = {s.config.dataset: s.config.source for s in specs.values() if s.type == "socrata"}
    assert socrata == {"26zg-9p9r": "seizures", "nxbk-nikm": "seizures", "g228-vp9d": "seizures",
                       "p72f-qcvk": "eradication", "m8fd-ahd9": "homicides",
                       "u8eq-92tb": "massacres"}  # fmt: skip
    replays = {str(s.config.path): s.config.source for s in specs.values()
               if s.type == "file_replay"}  # fmt: skip
    assert replays == {
        "data/ucdp/ucdp_ged_colombia_hdx.csv": "ucdp",
        "data/datos_gov_co/policia_incautaciones_2019.csv": "seizures",
        "data/coca/deteccion_cultivos_coca_hectareas_2001_2024.csv": "coca",
        "data/gdelt/20191024143000.export.CSV": "gdelt",
    }
    for path in replays:
        assert (REPO / path).is_file()
    assert {s.type for s in specs.values()} >= {"acled", "ucdp_ged", "gdelt_events", "rss",
                                                "gdelt_doc", "socrata", "coca_cultivation",
                                                "file_replay"}  # fmt: skip


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connectors.yaml"
    path.write_text(text)
    return path


def test_a_bad_field_is_named_with_file_instance_and_path(tmp_path):
    path = _write(
        tmp_path,
        """
instances:
  - name: ok_feed
    type: rss
    config: {url: "https://example.org/feed"}
  - name: coca
    type: socrata
    config: {source: coca, dataset: not-an-id, page_size: 0}
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_instances(path)
    message = str(caught.value)
    assert str(path) in message and "instances[1] 'coca'" in message
    assert "config.dataset" in message and "config.page_size" in message


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ({"name": "x", "type": "nope", "config": {}}, "unknown connector type 'nope'"),
        ({"name": "x", "config": {}}, "field 'type' is required"),
        ({"name": "Bad Name", "type": "rss", "config": {"url": "u"}}, "name"),
        ({"name": "x", "type": "rss", "config": {"url": "u", "extra": 1}}, "config.extra"),
        ({"name": "x", "type": "rss", "schedule": "often", "config": {"url": "u"}}, "schedule"),
        ({"name": "x", "type": "acled", "config": {"username": "env:U", "password": "hunter2"}},
         "config.password"),
    ],
)  # fmt: skip
def test_invalid_instances_are_rejected_with_the_field(instance, expected):
    with pytest.raises(ConfigError, match=expected):
        build_instance(instance)


def test_duplicate_names_and_unknown_selections_are_errors(tmp_path):
    path = _write(
        tmp_path,
        """
instances:
  - {name: a, type: rss, config: {url: "https://e.org/1"}}
  - {name: a, type: rss, config: {url: "https://e.org/2"}}
""",
    )
    with pytest.raises(ConfigError, match="'a' is used twice"):
        load_instances(path)
    specs = [build_instance({"name": "a", "type": "rss", "enabled": False, "config": {"url": "u"}})]
    assert select(specs, []) == []
    assert select(specs, ["a"]) == specs
    with pytest.raises(ConfigError, match="no such connector instance: b"):
        select(specs, ["b"])


def test_schedules():
    assert parse_schedule("once") is None and parse_schedule(None) is None
    assert parse_schedule("15m") == 900 and parse_schedule("6h") == 21600
    assert parse_schedule("1d") == 86400 and parse_schedule(30) == 30
    with pytest.raises(ValueError):
        parse_schedule("0s")


def test_file_replay_needs_exactly_one_location():
    with pytest.raises(ValueError, match="exactly one of 'path' or 'url'"):
        FileReplayConfig(source="ucdp")


def test_http_json_templates_may_only_use_since():
    base = {"source": "x", "url": "https://e.org", "params": {"q": "{unknown}"}}
    with pytest.raises(ConfigError, match=r"only \{since\} may be templated"):
        build_instance({"name": "x", "type": "http_json", "config": base})
    ok = build_instance({"name": "x", "type": "http_json",
                         "config": {**base, "params": {"after": "{since}"}}})  # fmt: skip
    assert ok.config.params == {"after": "{since}"}
