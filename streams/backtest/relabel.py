"""Bundled Colombian records relabelled to other countries, for scale tests and benches.

The bundled real data is Colombian; to see many countries flow through many
partitions, a record is copied into another country: the fields its source names the
country by (UCDP ``country_id``/``country``, GDELT ``ActionGeo_CountryCode``) and its
routing ``country`` are changed, and its id gets the country as a suffix so copies in
different countries stay distinct. Places keep their Colombian names, which match no
subdivision of the new country, so the copies count at country level there.
"""

from __future__ import annotations

import pycountry

from vigia.countries import from_iso3
from vigia.schema import RawRecord


def relabel(record: RawRecord, country: str) -> RawRecord:
    """``record`` as if it happened in ``country`` (ISO3); Colombia leaves it unchanged."""
    if country == "COL":
        return record
    payload = record.payload
    if isinstance(payload, dict):
        payload = dict(payload)
        if "country_id" in payload:
            payload["country_id"] = from_iso3(country, "gw")
            payload["country"] = pycountry.countries.get(alpha_3=country).name
            payload["id"] = f"{payload.get('id')}-{country}"
        for name in ("ActionGeo_CountryCode", "actiongeo_countrycode"):
            if name in payload:
                payload[name] = from_iso3(country, "fips")
    return record.model_copy(
        update={
            "payload": payload,
            "source_id": f"{record.source_id}-{country}",
            "country": country,
        }
    )
