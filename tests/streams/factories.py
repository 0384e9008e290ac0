"""Small builders of canonical events and plans for the counting and worker tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from vigia.streams.counting.plan import EvaluationPlan, SeriesRule
from vigia.streams.detectors.base import Detector, DetectorConfig, DetectorResult, SeriesContext

from vigia.schema import (
    ConflictIncident,
    DrugKind,
    DrugSeizure,
    Fatalities,
    IncidentCategory,
    Location,
    PeriodKind,
    RegionLevel,
)


class AboveConfig(DetectorConfig):
    limit: float = 5.0


class Above(Detector):
    """Alarms when the evaluated period is above a fixed limit (needs one prior period)."""

    name = "above"
    Config = AboveConfig

    def evaluate(self, values: Sequence[float], context: SeriesContext) -> DetectorResult | None:
        if len(values) < 2:
            return None
        limit = self.config.limit
        return DetectorResult(
            alarm=values[-1] > limit,
            observed=values[-1],
            expected=sum(values[:-1]) / (len(values) - 1),
            threshold=limit,
            score_kind="none",
        )


def incident(
    source_id: str,
    day: dt.date | str,
    municipality: str = "05001",
    fatalities: int = 1,
    source: str = "ucdp",
    revision: dt.datetime | None = None,
    category: IncidentCategory = IncidentCategory.ONE_SIDED,
) -> ConflictIncident:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return ConflictIncident(
        source=source,
        source_id=source_id,
        event_date=day,
        location=Location(municipality_code=municipality, department_code=municipality[:2]),
        category=category,
        fatalities=Fatalities(best=fatalities),
        source_urls=[f"https://example.org/{source_id}"],
        source_revision=revision,
    )


def seizure(source_id: str, day: str, kg: float, municipality: str = "91001") -> DrugSeizure:
    return DrugSeizure(
        source="seizures",
        source_id=source_id,
        event_date=dt.date.fromisoformat(day),
        location=Location(municipality_code=municipality, department_code=municipality[:2]),
        drug=DrugKind.COCAINE,
        quantity_kg=kg,
    )


def simple_plan(limit: float = 5.0, lateness: int = 0, **kwargs) -> EvaluationPlan:
    rule = SeriesRule(
        signal="fatalities",
        kinds=(PeriodKind.WEEK,),
        levels=(RegionLevel.MUNICIPALITY, RegionLevel.DEPARTMENT, RegionLevel.COUNTRY),
        detectors=(Above({"limit": limit}),),
    )
    plan = EvaluationPlan(rules=[rule], **kwargs)
    plan.lateness_days["ucdp"] = lateness
    plan.lateness_days["acled"] = lateness
    return plan


def bundled_plan() -> EvaluationPlan:
    """Real detectors on the bundled data: massacres, seizure spikes, coca growth."""
    from vigia.streams.detectors.ears import Ears
    from vigia.streams.detectors.record_level import RecordLevel
    from vigia.streams.detectors.yoy_change import YoyChange

    dept_country = (RegionLevel.DEPARTMENT, RegionLevel.COUNTRY)
    return EvaluationPlan(
        rules=[
            SeriesRule(
                "fatalities",
                (PeriodKind.MONTH,),
                dept_country,
                (RecordLevel({"years": 3, "minimum": 50}),),
            ),
            SeriesRule(
                "seizures_kg.cocaine",
                (PeriodKind.WEEK,),
                (RegionLevel.DEPARTMENT,),
                (Ears({"method": "C1", "baseline": 7, "min_sigma": 1.0}),),
            ),
            SeriesRule(
                "coca_hectares",
                (PeriodKind.YEAR,),
                dept_country,
                (YoyChange({"min_relative": 0.3, "min_absolute": 1000}),),
            ),
        ]
    )
