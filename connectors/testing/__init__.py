"""The connector conformance suite, shipped with Vigía for plugin authors (a pytest plugin).

A plugin's whole test file::

    from vigia.connectors.testing import ConnectorConformance, Scenario

    class AcmeScenario(Scenario): ...          # a local server serving the real format

    class TestAcme(ConnectorConformance):
        scenario_class = AcmeScenario

What it checks (docs/connectors.md): the real-format fixture parses, pages checkpoint and
resume without duplicates, 500 and 429 (with Retry-After) are retried, 401/404 stop with an
error naming the instance; against a real broker, a crash between produce and commit leaves
every record exactly once and a malformed record goes to the dead-letter topic.

Installing ``vigia-ews[testing]`` brings pytest and pytest-httpserver; the fixtures the suite
needs (``isolated_settings`` on the broker named by ``VIGIA_KAFKA__BOOTSTRAP_SERVERS``) come
from :mod:`vigia.connectors.testing.plugin`, which pytest loads by its ``pytest11`` entry point.
"""

from vigia.connectors.testing.helpers import collect, fresh_metrics, metric
from vigia.connectors.testing.scenario import Scenario
from vigia.connectors.testing.suite import ConnectorConformance

__all__ = ["ConnectorConformance", "Scenario", "collect", "fresh_metrics", "metric"]
