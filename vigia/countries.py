"""Countries: the routing key of every record, and the codes sources use for them.

Country is the partition key of Vigía: merging and counting never cross a border, so
all records of one country go to one partition of every raw and canonical topic
(:func:`partition_for`), and a worker owning that partition owns the country's state.

Sources name countries in their own code systems; :func:`to_iso3` turns each into
ISO 3166-1 alpha-3 from published tables (``vigia/data/country_codes.csv``, see its
``ATTRIBUTION.md``) checked against ``pycountry``:

* ACLED ``iso`` — ISO 3166-1 numeric;
* UCDP ``country_id`` — Gleditsch–Ward state numbers;
* GDELT ``ActionGeo_CountryCode`` — FIPS 10-4;
* datos.gov.co and the coca census — Colombia (``COL``).
"""

from __future__ import annotations

import csv
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

import pycountry
from kafka.partitioner.default import murmur2

CodeSystem = Literal["iso3", "iso2", "iso_numeric", "fips", "gw"]

#: The routing key of records whose country is unknown (they still go to one partition).
UNKNOWN = "ZZZ"


class UnknownCountry(ValueError):
    """A country code that no table knows."""


@cache
def _tables() -> dict[str, dict[str, str]]:
    text = resources.files("vigia").joinpath("data", "country_codes.csv").read_text("utf-8")
    tables: dict[str, dict[str, str]] = {"iso2": {}, "fips": {}, "gw": {}}
    for row in csv.DictReader(text.splitlines()):
        for system in tables:
            if row[system]:
                tables[system].setdefault(row[system], row["iso3"])
    return tables


@cache
def to_iso3(code: str | int, system: CodeSystem) -> str:
    """``to_iso3(100, "gw") == "COL"``; raises :class:`UnknownCountry` for an unknown code."""
    value = str(code).strip().upper()
    if system == "gw" or system == "iso_numeric":
        value = value.split(".")[0].lstrip("0") or "0"
    if system == "iso3":
        found = value if pycountry.countries.get(alpha_3=value) else None
    elif system == "iso_numeric":
        country = pycountry.countries.get(numeric=value.zfill(3))
        found = country.alpha_3 if country else None
    else:
        found = _tables()[system].get(value)
    if found is None:
        raise UnknownCountry(f"unknown {system} country code {code!r}")
    return found


def from_iso3(iso3: str, system: CodeSystem) -> str:
    """The code of an ISO3 country in another system (``from_iso3("COL", "gw") == "100"``)."""
    if system == "iso3":
        return iso3
    if system == "iso_numeric":
        country = pycountry.countries.get(alpha_3=iso3)
        if country is None:
            raise UnknownCountry(f"unknown ISO 3166-1 alpha-3 code {iso3!r}")
        return country.numeric.lstrip("0")
    for code, value in _tables()[system].items():
        if value == iso3:
            return code
    raise UnknownCountry(f"no {system} code for {iso3!r}")


@lru_cache(maxsize=1024)
def iso2_of(iso3: str) -> str:
    """ISO 3166-1 alpha-2 of an alpha-3 code (``COL`` → ``CO``); cached: a mapper asks once
    per record, and pycountry's lookup costs as much as the rest of a seizure row's map."""
    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        raise UnknownCountry(f"unknown ISO 3166-1 alpha-3 code {iso3!r}")
    return country.alpha_2


@lru_cache(maxsize=1024)
def iso3_of_alpha2(iso2: str) -> str:
    country = pycountry.countries.get(alpha_2=iso2.upper())
    if country is None:
        raise UnknownCountry(f"unknown ISO 3166-1 alpha-2 code {iso2!r}")
    return country.alpha_3


@lru_cache(maxsize=4096)
def partition_for(country: str | None, partitions: int) -> int:
    """The partition of a country's records: Kafka's default partitioner on the key
    ``country`` (murmur2), so any Kafka client keyed by country agrees. Cached:
    kafka-python's murmur2 is pure Python, and the worker routes every record it writes."""
    if partitions <= 1:
        return 0
    key = (country or UNKNOWN).encode()
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def country_filter(countries: list[str] | Literal["all"]) -> frozenset[str] | None:
    """A connector's ``countries:`` setting as a set of ISO3 codes (``None``: all)."""
    if countries == "all":
        return None
    return frozenset(to_iso3(c, "iso3") for c in countries)


#: Where each source family names a record's country, and in which code system.
SOURCE_COUNTRY_FIELDS: dict[str, tuple[tuple[str, ...], CodeSystem]] = {
    "acled": (("iso",), "iso_numeric"),
    "ucdp": (("country_id",), "gw"),
    "gdelt": (("ActionGeo_CountryCode", "actiongeo_countrycode"), "fips"),
}


def country_of_payload(source: str, payload: object) -> str | None:
    """The ISO3 country a source record names in its own fields, if it names one.

    ``None`` when the source has no country field or the record leaves it empty; raises
    :class:`UnknownCountry` for a code no table knows.
    """
    rule = SOURCE_COUNTRY_FIELDS.get(source.split(":", 1)[0])
    if rule is None or not isinstance(payload, dict):
        return None
    fields, system = rule
    for name in fields:
        value = payload.get(name)
        if value not in (None, ""):
            return to_iso3(value, system)
    return None


def fips_filter(countries: list[str] | str) -> tuple[str, ...]:
    """FIPS 10-4 codes of ``countries`` for GDELT's prefilter (empty: all)."""
    if countries == "all":
        return ()
    return tuple(from_iso3(c, "fips") for c in countries)
