"""Fixtures for the detector tests: real UCDP series and edge-case series."""

from __future__ import annotations

import pytest

from tests.streams.detectors.series import monthly, weekly

DEPARTMENTS = [
    "Antioquia department",
    "Cauca department",
    "Meta department",
    "Arauca department",
]


@pytest.fixture(scope="session")
def monthly_series() -> dict[str, list[float]]:
    """Monthly UCDP event counts 1989-2018 for four departments and the country."""
    out = {d.split()[0].lower(): monthly(d) for d in DEPARTMENTS}
    out["country"] = monthly(None)
    out["antioquia_deaths"] = monthly("Antioquia department", "deaths")
    return out


@pytest.fixture(scope="session")
def weekly_series() -> dict[str, list[float]]:
    """Ten years (1994-2004) of weekly UCDP event counts for two departments."""
    return {d.split()[0].lower(): weekly(d)[300:820] for d in DEPARTMENTS[:2]}


def edge_series(length: int, spike_at: int | None = None) -> dict[str, list[float]]:
    """All zeros, a single spike, a single spike on a flat level, a spike at the end."""
    mid = length // 2 if spike_at is None else spike_at
    return {
        "zeros": [0.0] * length,
        "spike": [0.0] * mid + [9.0] + [0.0] * (length - mid - 1),
        "level_spike": [2.0] * mid + [12.0] + [2.0] * (length - mid - 1),
        "late_spike": [1.0, 0.0, 2.0, 1.0] * (length // 4) + [15.0],
    }
