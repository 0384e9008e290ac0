"""The worker's faust adapter: fails loudly, naming what is missing, when a faust upgrade
removes an internal it relies on."""

from __future__ import annotations

import faust
import pytest
from vigia.streams.worker import faust_adapter
from vigia.streams.worker.faust_adapter import (
    BulkConsumer,
    FaustAssumptionBroken,
    check_assumptions,
)


async def _noop(*args, **kwargs) -> None:
    return None


def test_the_installed_faust_has_every_internal_the_adapter_uses():
    check_assumptions()
    app = faust.App("t-adapter", broker="kafka://127.0.0.1:9", autodiscover=False)
    faust_adapter.install_bulk_consumer(app, ["t.raw.x"], lambda batch: None)
    consumer = app.transport.create_consumer(
        callback=_noop, on_partitions_revoked=_noop, on_partitions_assigned=_noop
    )
    assert isinstance(consumer, BulkConsumer)
    check_assumptions(consumer)  # the attributes faust's __init__ sets


def test_a_missing_internal_is_named(monkeypatch):
    from faust.transport.drivers.aiokafka import Consumer

    owner = next(c for c in Consumer.__mro__ if "_wait_next_records" in vars(c))
    monkeypatch.delattr(owner, "_wait_next_records")
    with pytest.raises(FaustAssumptionBroken, match=r"Consumer\._wait_next_records"):
        check_assumptions()


def test_faust_is_pinned_to_the_minor_version_the_adapter_was_written_against():
    import tomllib
    from importlib.metadata import version

    from tests.conftest import REPO

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in deps if d.startswith("faust-streaming")]
    assert "==0.15." in pin or "~=0.15." in pin, pin
    assert version("faust-streaming").startswith("0.15.")


def test_skipped_offsets_are_the_markers_and_aborted_records_between_records():
    from vigia.streams.worker.faust_adapter import skipped_offsets

    assert skipped_offsets(None, [0, 1, 2, 7, 8]) == [(3, 6)]
    assert skipped_offsets(2, [4, 5, 9]) == [(3, 3), (6, 8)]
    assert skipped_offsets(3, [4, 5]) == []
