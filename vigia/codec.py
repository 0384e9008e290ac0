"""Faust codecs for the wire contracts, so agents receive typed models.

``value_serializer=codec_for(ConflictIncident)`` on a faust topic makes the
agent iterate :class:`~vigia.schema.ConflictIncident` objects. Bytes that are
not the model raise :class:`UndecodableRecord`, whose message names the model
and the reason (bad UTF-8, bad JSON, or the failing fields); faust wraps it in
``ValueDecodeError`` and the stream layer routes the record to the dead-letter
topic.
"""

from __future__ import annotations

from typing import Any

from faust.serializers import codecs
from pydantic import BaseModel, ValidationError

from vigia import schema


class UndecodableRecord(ValueError):
    """Bytes that cannot be decoded into the expected model."""

    def __init__(self, model: type[BaseModel], reason: str) -> None:
        super().__init__(f"cannot decode {model.__name__}: {reason}")
        self.model = model
        self.reason = reason


def describe_validation_error(error: ValidationError) -> str:
    """One line per failing field: ``field.path: message``."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "<root>"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def decode(model: type[BaseModel], data: bytes | str) -> Any:
    """Decode UTF-8 JSON into ``model``; raises :class:`UndecodableRecord` with the reason."""
    if type(data) is bytes:
        # pydantic reads UTF-8 bytes itself (and rejects invalid UTF-8); only a failure
        # takes the slower path below, which words the reason.
        try:
            return model.model_validate_json(data)
        except ValidationError:
            pass
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UndecodableRecord(model, f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        if any(item["type"] == "json_invalid" for item in exc.errors()):
            raise UndecodableRecord(model, f"invalid JSON: {exc.errors()[0]['msg']}") from exc
        raise UndecodableRecord(model, describe_validation_error(exc)) from exc


class PydanticCodec(codecs.Codec):
    """A faust codec that turns bytes into one pydantic model and back."""

    def __init__(
        self, model: type[BaseModel], children: tuple[Any, ...] | None = None, **kwargs: Any
    ) -> None:
        self.model = model
        # faust's clone() rebuilds a codec from its kwargs, so the model travels in them.
        super().__init__(children=children, model=model, **kwargs)

    def _loads(self, s: bytes) -> Any:
        return decode(self.model, s)

    def _dumps(self, obj: Any) -> bytes:
        if isinstance(obj, BaseModel):
            return obj.model_dump_json().encode("utf-8")
        if isinstance(obj, dict):
            # A dict reaching a typed topic must still be a valid model.
            return self.model.model_validate(obj).model_dump_json().encode("utf-8")
        raise TypeError(f"{self.model.__name__} codec cannot encode {type(obj).__name__}")


_MODELS: dict[str, type[BaseModel]] = {
    "vigia.raw": schema.RawRecord,
    "vigia.incident": schema.ConflictIncident,
    "vigia.seizure": schema.DrugSeizure,
    "vigia.cultivation": schema.CultivationEstimate,
    "vigia.news": schema.NewsArticle,
    "vigia.detection": schema.Detection,
    "vigia.dead_letter": schema.DeadLetter,
    "vigia.connector_offset": schema.ConnectorOffset,
}


def codec_for(model: type[BaseModel]) -> PydanticCodec:
    return PydanticCodec(model)


def register_codecs() -> None:
    """Register every wire model under a name (``value_serializer="vigia.incident"``)."""
    for name, model in _MODELS.items():
        codecs.register(name, PydanticCodec(model))


register_codecs()
