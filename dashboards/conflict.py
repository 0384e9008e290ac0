"""Dashboard "Vigía — Conflict monitor": where violence, seizures and coca rise.

Filtered by ``$department`` (2-digit DIVIPOLA code; the alerts' ``dashboard_url``
opens this dashboard with ``var-department=<code>``), ``$municipality`` (coca
panels) and ``$source`` (event-time progress). The geomap places each department
with active alerts at its centroid (:mod:`dashboards.geo`).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common, dashboard, geomap, testdata
from grafana_foundation_sdk.models.common import FrameGeometrySourceMode
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig
from grafana_foundation_sdk.models.geomap import TooltipMode

from dashboards.geo import Centroid, to_csv
from dashboards.panels import (
    CENTROIDS,
    CONFLICT_UID,
    assemble,
    bar_panel,
    conflict_link,
    department_variable,
    label_variable,
    new_dashboard,
    query,
    stat_panel,
    table_panel,
    timeseries_panel,
)

DEPT = 'department=~"$department"'
#: Active alerts per department, keyed like the centroid lookup ("D05").
ALERTS_BY_DEPARTMENT_KEYED = (
    f'label_replace(sum by (department) (vigia_alerts_active{{{DEPT}}}) > 0, "key", "D$1", '
    '"department", "(.*)")'
)


def _picture() -> list:
    return [
        timeseries_panel(
            "Incidents in the current period by department",
            "short",
            query(f"sum by (department) (vigia_region_incidents{{{DEPT}}})", "{{department}}"),
        ),
        timeseries_panel(
            "Fatalities in the current period by department",
            "short",
            query(f"sum by (department) (vigia_region_fatalities{{{DEPT}}})", "{{department}}"),
        ),
        timeseries_panel(
            "Seizures (kg) in the current period by department and drug",
            "masskg",
            query(
                f"sum by (department, drug) (vigia_region_seizures_kg{{{DEPT}}})",
                "{{department}} {{drug}}",
            ),
        ),
        bar_panel(
            "Coca hectares: municipalities that concentrate most of it",
            "areaHA",
            query(
                'topk(15, vigia_region_coca_hectares{municipality=~"$municipality", '
                'municipality=~"${department}.*"})',
                "{{municipality}}",
                instant=True,
            ),
            "Top municipalities only (bounded cardinality); filtered by department prefix.",
        ),
    ]


def _geomap(centroids: list[Centroid]) -> geomap.Panel:
    markers = (
        common.MapLayerOptions()
        .type("markers")
        .name("Active alerts")
        .location(
            common.FrameGeometrySource()
            .mode(FrameGeometrySourceMode.COORDS)
            .latitude("latitude")
            .longitude("longitude")
        )
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": "Value", "fixed": "red"},
                    "size": {"field": "Value", "fixed": 8, "min": 8, "max": 40},
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                    "opacity": 0.6,
                    "text": {"field": "name", "mode": "field"},
                    "textConfig": {"fontSize": 10, "offsetY": -14, "textAlign": "center"},
                },
            }
        )
    )
    return (
        geomap.Panel()
        .title("Departments with active alerts")
        .description("Marker size: active alerts. Centroids: dashboards/department_centroids.csv.")
        .span(12)
        .height(12)
        .with_target(query(ALERTS_BY_DEPARTMENT_KEYED, ref="A", instant=True))
        .with_target(
            testdata.Dataquery()
            .ref_id("CENTROIDS")
            .datasource(CENTROIDS)
            .scenario_id("csv_content")
            .csv_content(to_csv(centroids))
        )
        .with_transformation(
            DataTransformerConfig(id_val="joinByField", options={"byField": "key", "mode": "inner"})
        )
        .view(geomap.MapViewConfig().id("coords").lat(4).lon(-74).zoom(5))
        .basemap(common.MapLayerOptions().type("default").name("Basemap"))
        .layers([markers])
        .tooltip(geomap.TooltipOptions().mode(TooltipMode.DETAILS))
        .data_links([conflict_link()])
    )


def _alerts(centroids: list[Centroid]) -> list:
    return [
        _geomap(centroids),
        table_panel(
            "Active alerts by department",
            query(f"sum by (department) (vigia_alerts_active{{{DEPT}}}) > 0", instant=True),
            links=[conflict_link()],
            description="Click a department to filter this dashboard on it.",
        ),
        stat_panel(
            "Active alerts by severity",
            "none",
            query(f"sum by (severity) (vigia_alerts_active{{{DEPT}}})", "{{severity}}"),
        ),
        table_panel(
            "Detections by detector and severity (in range)",
            query(
                "sum by (detector, severity) (increase(vigia_detections_total[$__range]))",
                instant=True,
            ),
        ),
        table_panel(
            "Alert transitions by rule and state (in range)",
            query(
                "sum by (rule, state) (increase(vigia_alert_transitions_total[$__range]))",
                instant=True,
            ),
        ),
        timeseries_panel(
            "Event time reached per source (watermark)",
            "dateTimeAsIso",
            query(
                'vigia_stream_watermark_timestamp_seconds{source=~"$source"} * 1000', "{{source}}"
            ),
            description="The newest event time the worker has processed for each source.",
        ),
    ]


def build(centroids: list[Centroid]) -> dashboard.Dashboard:
    board = (
        new_dashboard(
            "Vigía — Conflict monitor",
            CONFLICT_UID,
            "Incidents, fatalities, seizures and coca by department; detections and alerts.",
        )
        .with_variable(department_variable([(c.code, c.name) for c in centroids]))
        .with_variable(
            label_variable(
                "municipality", "Municipality", "vigia_region_coca_hectares", "municipality"
            )
        )
        .with_variable(
            label_variable("source", "Source", "vigia_stream_watermark_timestamp_seconds", "source")
        )
    )
    return assemble(
        board,
        [("Conflict picture", _picture()), ("Detections and alerts", _alerts(centroids))],
    )
