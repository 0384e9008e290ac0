"""Geocoding coverage on the bundled real data (the shares are stated in docs/normalization.md).

Minimums asserted here: UCDP GED ≥ 80 % of events at municipality level (the remaining ~19 %
are located by UCDP itself only to a department, a region or the country), police seizures
≥ 99.9 % and SIMCI coca 100 %.
"""

from collections import Counter

import pytest
from vigia.streams.geo import Geocoder
from vigia.streams.normalize import map_raw

from tests.streams.normalize.conftest import DATA, csv_rows, raw

FILES = {
    "ucdp": DATA / "ucdp" / "ucdp_ged_colombia_hdx.csv",
    "seizures": DATA / "datos_gov_co" / "policia_incautaciones_2019.csv",
    "coca": DATA / "coca" / "deteccion_cultivos_coca_hectareas_2001_2024.csv",
}


def _levels(source):
    geo = Geocoder()
    levels = Counter()
    for i, row in enumerate(csv_rows(FILES[source])):
        for event in map_raw(raw(source, str(i), row, "csv"), geo):
            levels[event.location.level.value] += 1
    return levels, geo


@pytest.mark.parametrize(
    ("source", "events", "minimum"),
    [("ucdp", 4632, 0.80), ("seizures", 16807, 0.999), ("coca", 319 * 24, 1.0)],
)
def test_municipality_share(source, events, minimum):
    levels, geo = _levels(source)
    assert sum(levels.values()) == events  # nothing dropped (HXL and TOTAL rows are not events)
    share = levels["municipality"] / events
    assert share >= minimum, (source, share, levels)
    # every non-municipality event was counted by the geocoder as department/country
    unresolved = geo.stats["department"] + geo.stats["country"]
    assert unresolved == levels["department"] + levels["country"]


def test_ucdp_events_located_to_a_municipality_by_ucdp_resolve():
    """where_prec 1-3 means UCDP placed the event within a municipality: ≥ 99.5 % resolve."""
    geo = Geocoder()
    fine = resolved = 0
    for i, row in enumerate(csv_rows(FILES["ucdp"])[1:]):
        if row["where_prec"] in ("1", "2", "3"):
            (event,) = map_raw(raw("ucdp", str(i), row, "csv"), geo)
            fine += 1
            resolved += event.location.municipality_code is not None
    assert fine == 3738
    assert resolved / fine >= 0.995, resolved
