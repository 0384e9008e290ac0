"""Waiting for many acknowledgements at once (``wait_acknowledged``)."""

from __future__ import annotations

import asyncio

import pytest
from vigia.alerts.batch_producer import wait_acknowledged


async def test_waits_for_every_future_and_raises_the_first_failure_in_order() -> None:
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(4)]
    waiting = asyncio.ensure_future(wait_acknowledged(futures))
    futures[0].set_result(None)
    futures[2].set_exception(ValueError("later in the list"))
    await asyncio.sleep(0)
    futures[1].set_exception(KeyError("first in the list"))
    await asyncio.sleep(0)
    assert not waiting.done()  # one still pending: the failure waits for it
    futures[3].set_result(None)
    with pytest.raises(KeyError, match="first in the list"):
        await waiting
    # every failure was observed: no "exception was never retrieved" at collection
    assert all(f.done() for f in futures)


async def test_nothing_to_wait_for() -> None:
    await wait_acknowledged([])
