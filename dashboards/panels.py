"""Shared pieces of every dashboard: datasources, template variables, panel helpers.

Every Prometheus target gets an explicit ``refId`` and every panel an explicit id,
so the generated JSON is stable and Grafana never renumbers it. Queries use the
template variables ``$source`` (connector instance), ``$department`` (2-digit
DIVIPOLA code, the label the metrics and the alerts carry) and ``$municipality``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DataSourceRef,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="vigia-prometheus")
CENTROIDS = DataSourceRef(type_val="grafana-testdata-datasource", uid="vigia-centroids")

OVERVIEW_UID = "vigia-overview"
CONFLICT_UID = "vigia-conflict"
DELIVERY_UID = "vigia-delivery"
CONFLICT_PATH = f"/d/{CONFLICT_UID}/vigia-conflict-monitor"

Builder = cogbuilder.Builder


def query(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False) -> Builder:
    target = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(PROMETHEUS)
    if legend:
        target = target.legend_format(legend)
    if instant:
        target = target.instant().format(PromQueryFormat.TABLE)
    return target


def label_variable(name: str, label: str, metric: str, label_name: str) -> Builder:
    """A multi-value variable listing a label's values, with All meaning ``.*``."""
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(PROMETHEUS)
        .query(f"label_values({metric}, {label_name})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def source_variable() -> Builder:
    return label_variable(
        "source", "Source", "vigia_connector_records_total", "connector"
    ).description("Connector instance (one per configured source)")


def department_variable(departments: list[tuple[str, str]]) -> Builder:
    """Departments by name, valued by DIVIPOLA code (what the metrics and alert links use)."""
    values = ",".join(f"{name.replace(',', '')} : {code}" for code, name in departments)
    return (
        dashboard.CustomVariable("department")
        .label("Department")
        .description("2-digit DIVIPOLA code; CO is the national level")
        .values(values)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def conflict_link(title: str = "Conflict monitor for this department") -> Builder:
    """A data link to the Conflict monitor filtered on the row's department."""
    return (
        dashboard.DashboardLink(title)
        .type(DashboardLinkType.LINK)
        .url(f"{CONFLICT_PATH}?var-department=${{__data.fields.department}}&${{__url_time_range}}")
    )


def dashboard_links() -> list[Builder]:
    return [
        dashboard.DashboardLink("Vigía")
        .type(DashboardLinkType.DASHBOARDS)
        .tags(["vigia"])
        .as_dropdown(False)
        .include_vars(True)
        .keep_time(True)
    ]


def new_dashboard(title: str, uid: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["vigia"])
        .editable()
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("utc")
        .links(dashboard_links())
    )


def assemble(board: dashboard.Dashboard, sections: list[tuple[str, list[Builder]]]):
    """Add each titled row and its panels in order (ids are numbered by the generator)."""
    for title, panels in sections:
        board = board.with_row(dashboard.Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    return board


def timeseries_panel(title: str, unit: str, *targets: Builder, description: str = "") -> Builder:
    panel = timeseries.Panel().title(title).datasource(PROMETHEUS).unit(unit).span(12).height(8)
    if description:
        panel = panel.description(description)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def stat_panel(title: str, unit: str, *targets: Builder, description: str = "") -> Builder:
    panel = stat.Panel().title(title).datasource(PROMETHEUS).unit(unit).span(6).height(5)
    if description:
        panel = panel.description(description)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def bar_panel(title: str, unit: str, target: Builder, description: str = "") -> Builder:
    panel = (
        bargauge.Panel().title(title).datasource(PROMETHEUS).unit(unit).span(12).height(8)
    ).with_target(target)
    return panel.description(description) if description else panel


def table_panel(title: str, target: Builder, *, links: list[Builder] = (), description: str = ""):
    panel = table.Panel().title(title).datasource(PROMETHEUS).span(12).height(8).with_target(target)
    if links:
        panel = panel.data_links(list(links))
    return panel.description(description) if description else panel
