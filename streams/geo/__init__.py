"""Offline geocoding to DIVIPOLA (Colombia's administrative codes), pure and Kafka-free.

Use :func:`default_geocoder` (built once per process) or build a :class:`Geocoder`;
:func:`find_places` finds municipalities and departments named in free text (news).
"""

from vigia.streams.geo.geocoder import GeocodeOutcome, Geocoder, default_geocoder
from vigia.streams.geo.names import fold, place_key

from vigia.geo.divipola import Department, Divipola, Municipality, load_divipola

__all__ = [
    "Department",
    "Divipola",
    "GeocodeOutcome",
    "Geocoder",
    "Municipality",
    "default_geocoder",
    "fold",
    "load_divipola",
    "place_key",
]
