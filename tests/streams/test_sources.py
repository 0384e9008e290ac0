import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from vigia.streams.merge import IncidentMerger, MergeConfig
from vigia.streams.normalize import UnknownSource
from vigia.streams.sources import StreamSources

from tests.streams.merge.test_merger import D, inc

FILE = """
instances:
  - name: replay_ucdp
    type: file_replay
    config: {source: ucdp, path: x.csv}
    policy: {allowed_lateness_days: 45, merge_window_days: 3}
  - name: replay_gdelt
    type: file_replay
    config: {source: gdelt, path: y.csv}
    policy: {merge_priority: 0, expected_cadence: 1h}
"""


def test_policies_reach_counting_merging_and_staleness(tmp_path):
    path = tmp_path / "connectors.yaml"
    path.write_text(FILE)
    sources = StreamSources.load(path)
    assert sources.lateness_days() == {"ucdp": 45, "gdelt": 1}
    assert sources.max_silence() == {"replay_gdelt": dt.timedelta(hours=1)}
    config = sources.merge_config()
    # gdelt now shows its values first (priority 0 ties with UCDP's: name order)
    assert config.priority[:2] == ("gdelt", "ucdp") and config.window("ucdp") == 3
    merger = IncidentMerger(config)
    first = merger.observe(inc("acled", "A1"))
    later = merger.observe(inc("ucdp", "U1", D + dt.timedelta(days=3)))
    assert later.cluster_id == first.cluster_id  # UCDP's own window: 3 days
    assert MergeConfig().window("ucdp") == 1  # the default is today's


def test_a_configured_source_without_a_mapper_stops_the_start(tmp_path):
    path = tmp_path / "connectors.yaml"
    path.write_text(FILE.replace("source: gdelt", "source: acme"))
    with pytest.raises(UnknownSource, match="'acme'"):
        StreamSources.load(path)


def test_the_worker_command_refuses_a_source_without_a_mapper_in_one_line(tmp_path):
    path = tmp_path / "connectors.yaml"
    path.write_text(FILE.replace("source: gdelt", "source: acme"))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "vigia"), "worker", "--until-idle"],
        env={**os.environ, "VIGIA_CONNECTORS_FILE": str(path)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = (result.stdout + result.stderr).strip().splitlines()
    assert line.startswith("error: no mapper for source(s) 'acme'")


def test_trust_weights_of_sources_and_instances(tmp_path):
    from tests.alerts.factories import detection
    from vigia.schema import Detection

    path = tmp_path / "connectors.yaml"
    path.write_text(
        FILE
        + """
  - name: gdelt_second
    type: file_replay
    config: {source: gdelt, path: z.csv}
    policy: {trust_weight: 0.4}
  - name: gdelt_third
    type: file_replay
    config: {source: gdelt, path: w.csv}
    policy: {trust_weight: 0.7}
"""
    )
    sources = StreamSources.load(path)
    assert sources.trust_weight("gdelt") == 0.4  # two weights for one source: the lower
    assert sources.trust_weight("gdelt_third") == 0.7  # an instance: its own
    assert sources.trust_weight("ucdp") == 1.0  # configured without a weight: its default
    assert sources.trust_weight("acled") == 1.0  # not configured: its default
    made: list[Detection] = [detection(sources=["gdelt", "ucdp"]), detection(sources=[])]
    sources.stamp_trust(made)
    assert [d.source_trust for d in made] == [{"gdelt": 0.4, "ucdp": 1.0}, {}]


def test_the_assembly_applies_the_files_policies(tmp_path):
    from vigia.streams.assembly import StreamAssembly
    from vigia.streams.counting.plan import EvaluationPlan

    path = tmp_path / "connectors.yaml"
    path.write_text(FILE)
    sources = StreamSources.load(path)
    assembly = StreamAssembly.build(sources, EvaluationPlan(rules=[]))
    assert assembly.plan.lateness("ucdp") == 45 and assembly.plan.lateness("acled") == 14
    pipeline = assembly.country()
    assert pipeline.merger.config == sources.merge_config()
    assert pipeline.engine.plan is assembly.plan
    assert (
        StreamAssembly.build(sources, EvaluationPlan(rules=[]), merge=False).country().merger
        is None
    )
