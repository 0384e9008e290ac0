"""Canonical events built from a dict of field values, validated exactly as ``Model(**fields)``.

A mapper calls one of these once per event it returns. Each runs the model's own pydantic
validator (``Model.__pydantic_validator__.validate_python``): the same fields, validators,
values and :class:`pydantic.ValidationError` as calling the class, without the keyword
round trip through ``BaseModel.__init__``, which is about a quarter of the cost of building an
event. This holds while the models in :mod:`vigia.schema` define no ``__init__`` of their own
(``tests/streams/normalize/test_build.py`` checks that).

``fatalities`` may be given as a dict of the keywords the mapper would pass to
:class:`~vigia.schema.Fatalities`: the validator builds the same object, cheaper. A
ValidationError quotes its input, though, so when validation fails the event is built again
the old way (``Fatalities(**f)``, then the class) to raise exactly the error it always raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from vigia.schema import (
    ConflictIncident,
    CultivationEstimate,
    DrugSeizure,
    Fatalities,
    NewsArticle,
)


def _validator(model: type) -> Callable[[dict[str, Any]], Any]:
    return model.__pydantic_validator__.validate_python


_incident = _validator(ConflictIncident)
drug_seizure: Callable[[dict[str, Any]], DrugSeizure] = _validator(DrugSeizure)
cultivation_estimate: Callable[[dict[str, Any]], CultivationEstimate] = _validator(
    CultivationEstimate
)
news_article: Callable[[dict[str, Any]], NewsArticle] = _validator(NewsArticle)


def conflict_incident(fields: dict[str, Any]) -> ConflictIncident:
    """The incident of ``fields``; ``fields["fatalities"]`` may be a dict of Fatalities keywords."""
    try:
        return _incident(fields)
    except ValidationError:
        fatalities = fields.get("fatalities")
        if type(fatalities) is dict:
            fields = {**fields, "fatalities": Fatalities(**fatalities)}
        return ConflictIncident(**fields)
