"""Every bundled connector type runs the shared conformance suite."""

from vigia.connectors.testing import ConnectorConformance

from tests.connectors import scenarios as s


class TestUcdpGed(ConnectorConformance):
    scenario_class = s.UcdpScenario


class TestAcled(ConnectorConformance):
    scenario_class = s.AcledScenario


class TestGdeltEvents(ConnectorConformance):
    scenario_class = s.GdeltEventsScenario


class TestRss(ConnectorConformance):
    scenario_class = s.RssScenario


class TestGdeltDoc(ConnectorConformance):
    scenario_class = s.GdeltDocScenario


class TestSocrata(ConnectorConformance):
    scenario_class = s.SocrataScenario


class TestCocaCultivation(ConnectorConformance):
    scenario_class = s.CocaScenario


class TestFileReplay(ConnectorConformance):
    scenario_class = s.FileReplayScenario


class TestHttpJson(ConnectorConformance):
    scenario_class = s.HttpJsonScenario
