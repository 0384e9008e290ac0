"""Offline geocoding to DIVIPOLA: codes, names (with aliases and fuzzy near-misses) and points.

:meth:`Geocoder.resolve` never raises on an unknown place and never drops it: what cannot be
resolved to a municipality stays at department level, or at country level, and the outcome is
counted in :attr:`Geocoder.stats` (outcome name → count) so the worker can export it as a metric.

Order of evidence, best first:

1. a DIVIPOLA code (5-digit municipality, 8-digit populated centre, 2-digit department; with or
   without separators; retired codes mapped to their successor);
2. a municipality name, within the department when one is known (exact key, alias, then
   rapidfuzz ``ratio`` ≥ ``fuzzy_cutoff`` among that department's names only);
3. coordinates → nearest municipality centroid (inside the known department if any), only inside
   Colombia's bounding box and within ``max_point_km`` of a centroid;
4. a department name or code → department level;
5. otherwise country level.

Centroids are polygon centroids (DANE), so a nearest-centroid answer is an approximation of
point-in-polygon; it is only used when the source gives no usable name.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process
from vigia.streams.geo.names import (
    DEPARTMENT_ALIASES,
    LOCAL_ALIASES,
    MUNICIPALITY_ALIASES,
    RETIRED_CODES,
    place_key,
)

from vigia.geo.divipola import Divipola, load_divipola
from vigia.schema import GeoPrecision, Location

if TYPE_CHECKING:
    from vigia.streams.geo.places import PlaceFinder

_DIGITS = re.compile(r"\D")
_PARENS_INNER = re.compile(r"\(([^)]+)\)")
# Colombia including San Andrés y Providencia; anything outside is "not in Colombia".
_BBOX = (-4.3, 16.6, -82.0, -66.8)  # lat min, lat max, lon min, lon max
_EARTH_KM = 6371.0
#: Remembered resolutions per geocoder; emptied when full so a stream of new points cannot
#: grow it (an entry with its own point holds a Location: about 1.4 kB, so at most ~30 MB).
_RESOLVED_SIZE = 20_000
_UNSEEN = object()


class GeocodeOutcome(StrEnum):
    """How a place was resolved; the first five reach municipality level."""

    CODE = "code"
    NAME = "name"
    ALIAS = "alias"
    FUZZY = "fuzzy"
    POINT = "point"
    DEPARTMENT = "department"
    COUNTRY = "country"

    @property
    def municipality_level(self) -> bool:
        return self not in (GeocodeOutcome.DEPARTMENT, GeocodeOutcome.COUNTRY)


class Geocoder:
    """DIVIPOLA lookups built once (about 30 ms); each :meth:`resolve` is a few dict hits."""

    def __init__(
        self,
        divipola: Divipola | None = None,
        *,
        fuzzy_cutoff: float = 88.0,
        max_point_km: float = 250.0,
    ) -> None:
        self.divipola = divipola or load_divipola()
        self.fuzzy_cutoff = fuzzy_cutoff
        self.max_point_km = max_point_km
        #: Outcome name → number of resolutions; read by the worker's metrics collector.
        self.stats: Counter[str] = Counter()
        #: Place names that stayed above municipality level (bounded, for diagnosis).
        self.unresolved: Counter[str] = Counter()
        munis = self.divipola.municipalities
        self._by_dept_key: dict[tuple[str, str], str] = {}
        by_key: dict[str, list[str]] = {}
        for m in munis.values():
            key = place_key(m.name)
            self._by_dept_key[(m.department_code, key)] = m.code
            by_key.setdefault(key, []).append(m.code)
        #: Names that identify one municipality in the whole country.
        self._unique_key = {k: v[0] for k, v in by_key.items() if len(v) == 1}
        self.ambiguous_keys = {k: tuple(v) for k, v in by_key.items() if len(v) > 1}
        self._dept_key = {place_key(d.name): d.code for d in self.divipola.departments.values()}
        self._dept_key.update(DEPARTMENT_ALIASES)
        self._dept_choices = list(self._dept_key)
        self._dept_munis: dict[str, list[str]] = {}
        for dept, key in self._by_dept_key:
            self._dept_munis.setdefault(dept, []).append(key)
        self._name_cache: dict[tuple[str | None, str], tuple[str | None, GeocodeOutcome]] = {}
        self._points = _PointIndex(self.divipola)
        self._locations: dict[tuple, Location] = {}
        self._resolved: dict[tuple, tuple[Location, GeocodeOutcome]] = {}
        self._code_munis: dict[str, str | None] = {}

    # -- single lookups -------------------------------------------------------------------

    def municipality_code(self, code: str | int | None) -> str | None:
        """A 5-digit municipality code from a 5- or 8-digit code in any punctuation, or None."""
        if code is None:
            return None
        digits = _DIGITS.sub("", str(code))
        if not digits or len(digits) > 8:
            return None
        muni = digits.zfill(5) if len(digits) <= 5 else digits.zfill(8)[:5]
        muni = RETIRED_CODES.get(muni, muni)
        return muni if muni in self.divipola.municipalities else None

    def department_code(self, name_or_code: str | None) -> str | None:
        """A 2-digit department code from a code or a name in any of its spellings, or None."""
        if not name_or_code:
            return None
        text = str(name_or_code).strip()
        if text.isdigit() and len(text) <= 2:
            code = text.zfill(2)
            return code if code in self.divipola.departments else None
        return _department_from_key(self, place_key(text))

    def match_name(self, name: str, department: str | None = None) -> tuple[str | None, str]:
        """(municipality code or None, outcome name) for a municipality name; cached."""
        key = place_key(name)
        cached = self._name_cache.get((department, key))
        if cached is None:
            cached = self._match_uncached(key, department)
            inner = _PARENS_INNER.search(name) if cached[0] is None else None
            if inner:  # "Puerto Yuca municipality (Puerto Rico)": try the name in brackets
                retry = self._match_uncached(place_key(inner.group(1)), department)
                cached = retry if retry[0] else cached
            if len(self._name_cache) < 200_000:
                self._name_cache[(department, key)] = cached
        return cached[0], cached[1].value

    def _match_uncached(self, key: str, dept: str | None) -> tuple[str | None, GeocodeOutcome]:
        if not key:
            return None, GeocodeOutcome.COUNTRY
        if dept:
            code = self._by_dept_key.get((dept, key))
            if code:
                return code, GeocodeOutcome.NAME
            alias = MUNICIPALITY_ALIASES.get(key) or LOCAL_ALIASES.get(key)
            if alias and alias.startswith(dept):
                return alias, GeocodeOutcome.ALIAS
            choices = self._dept_munis.get(dept, ())
            if len(key) >= 5 and choices:
                hit = process.extractOne(
                    key, choices, scorer=fuzz.ratio, score_cutoff=self.fuzzy_cutoff
                )
                if hit:
                    return self._by_dept_key[(dept, hit[0])], GeocodeOutcome.FUZZY
            return None, GeocodeOutcome.DEPARTMENT
        code = self._unique_key.get(key)
        if code:
            return code, GeocodeOutcome.NAME
        alias = MUNICIPALITY_ALIASES.get(key)
        if alias:
            return alias, GeocodeOutcome.ALIAS
        return None, GeocodeOutcome.COUNTRY

    def nearest(self, lat: float, lon: float, department: str | None = None) -> str | None:
        """The municipality whose centroid is nearest, if the point is in Colombia."""
        if not (_BBOX[0] <= lat <= _BBOX[1] and _BBOX[2] <= lon <= _BBOX[3]):
            return None
        return self._points.nearest(lat, lon, department, self.max_point_km)

    # -- the full resolution -------------------------------------------------------------

    def resolve(
        self,
        *,
        code: str | int | None = None,
        department: str | None = None,
        municipality: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        point_precision: GeoPrecision | None = None,
        place_name: str | None = None,
    ) -> tuple[Location, GeocodeOutcome]:
        """Resolve what a source gives about a place; counts the outcome in :attr:`stats`.

        The Locations returned are shared between calls about the same place: treat them as
        read-only.

        ``point_precision`` says how good the coordinates are (EXACT or NEAR keeps them in
        the Location and lets them place the event; None means "do not use the point to pick a
        municipality"; pass MUNICIPALITY to use a municipality-level point such as GDELT's).
        """
        # The answer depends only on the arguments (and this geocoder's fixed tables), so it
        # is remembered: per municipality when the code names one (no name or point can change
        # the answer then), else per argument tuple. The point is part of the key only when it
        # is used. Only text or missing values are remembered (1 == True as a key, not as a
        # code), and no point on a zero coordinate (0.0 == -0.0 as a key, not in the Location).
        key: tuple | None = None
        if (
            (code is None or type(code) is str)
            and (department is None or type(department) is str)
            and (municipality is None or type(municipality) is str)
            and (place_name is None or type(place_name) is str)
        ):
            muni = None if code is None else self._code_munis.get(code, _UNSEEN)
            if muni is _UNSEEN:
                muni = self._remember_code(code)
            if muni is not None:
                key = (muni, place_name)
            else:
                key = (None, place_name, code, department, municipality)
            if latitude is not None and longitude is not None and point_precision is not None:
                key = (
                    (*key, latitude, longitude, point_precision) if latitude and longitude else None
                )
        known = None if key is None else self._resolved.get(key)
        if known is None:
            known = self._resolve(
                code, department, municipality, latitude, longitude, point_precision, place_name
            )
            if key is not None:
                self._remember(key, known)
        location, outcome = known
        self.stats[outcome._value_] += 1
        if location.municipality_code is None and len(self.unresolved) < 10_000:
            label = municipality or place_name or department
            if label:
                self.unresolved[label] += 1
        return known

    def resolve_code(
        self, code: str, place_name: str | None = None
    ) -> tuple[Location, GeocodeOutcome] | None:
        """``resolve(code=code, place_name=place_name, <any names>)`` when ``code`` names a
        municipality, counted in :attr:`stats` the same way; None, with nothing counted, when it
        does not (then call :meth:`resolve` with the names). For sources without a point."""
        if type(code) is not str or not (place_name is None or type(place_name) is str):
            return None
        muni = self._code_munis.get(code, _UNSEEN)
        if muni is _UNSEEN:
            muni = self._remember_code(code)
        if muni is None:
            return None
        known = self._resolved.get((muni, place_name))
        if known is None:
            known = self._resolve(code, None, None, None, None, None, place_name)
            self._remember((muni, place_name), known)
        self.stats[known[1]._value_] += 1
        return known

    def _remember_code(self, code: str) -> str | None:
        muni = self.municipality_code(code)
        if len(self._code_munis) >= _RESOLVED_SIZE:
            self._code_munis.clear()
        self._code_munis[code] = muni
        return muni

    def _remember(self, key: tuple, known: tuple[Location, GeocodeOutcome]) -> None:
        if len(self._resolved) >= _RESOLVED_SIZE:
            self._resolved.clear()
        self._resolved[key] = known

    def _resolve(
        self, code, department, municipality, latitude, longitude, point_precision, place_name
    ) -> tuple[Location, GeocodeOutcome]:
        dept = self.department_code(department) if department else None
        muni: str | None = None
        outcome = GeocodeOutcome.COUNTRY
        if code is not None:
            muni = self.municipality_code(code)
            if muni:
                outcome = GeocodeOutcome.CODE
            elif not dept:
                dept = self.department_code(_DIGITS.sub("", str(code))[:2] or None)
        if muni and dept and not muni.startswith(dept):
            dept = None  # the code is better evidence than a conflicting department name
        if not muni and municipality:
            muni, how = self.match_name(municipality, dept)
            outcome = GeocodeOutcome(how) if muni else outcome
        has_point = latitude is not None and longitude is not None
        if not muni and has_point and point_precision is not None:
            muni = self.nearest(float(latitude), float(longitude), dept)
            outcome = GeocodeOutcome.POINT if muni else outcome
        if muni:
            dept = muni[:2]
        elif dept:
            outcome = GeocodeOutcome.DEPARTMENT
        keep_point = has_point and point_precision in (GeoPrecision.EXACT, GeoPrecision.NEAR)
        if keep_point:
            location = _build_location(
                self.divipola, muni, dept, latitude, longitude, True, point_precision, place_name
            )
            return location, outcome
        # Without a point the Location depends only on these three: share one instance.
        cache_key = (muni, dept, place_name)
        location = self._locations.get(cache_key)
        if location is None:
            location = _build_location(
                self.divipola, muni, dept, None, None, False, None, place_name
            )
            if len(self._locations) < 100_000:
                self._locations[cache_key] = location
        return location, outcome

    def location(
        self, *, municipality_code: str | None = None, department_code: str | None = None
    ) -> Location:
        """The Location of a known (valid) code, at its centroid; not counted in :attr:`stats`."""
        dept = municipality_code[:2] if municipality_code else department_code
        return _build_location(
            self.divipola, municipality_code, dept, None, None, False, None, None
        )

    @cached_property
    def places(self) -> PlaceFinder:
        """The free-text place finder over this geocoder's names (built on first use)."""
        from vigia.streams.geo.places import PlaceFinder

        return PlaceFinder(self)


def _department_from_key(geo: Geocoder, key: str) -> str | None:
    if not key:
        return None
    code = geo._dept_key.get(key)
    if code:
        return code
    hit = process.extractOne(key, geo._dept_choices, scorer=fuzz.ratio, score_cutoff=88)
    return geo._dept_key[hit[0]] if hit else None


def _build_location(divipola, muni, dept, lat, lon, keep_point, point_precision, place_name):
    if muni:
        m = divipola.municipalities[muni]
        d = divipola.departments[m.department_code]
        if keep_point:
            return Location(
                department_code=d.code,
                department_name=d.name,
                municipality_code=m.code,
                municipality_name=m.name,
                latitude=float(lat),
                longitude=float(lon),
                precision=point_precision,
                place_name=place_name,
            )
        return Location(
            department_code=d.code,
            department_name=d.name,
            municipality_code=m.code,
            municipality_name=m.name,
            latitude=m.latitude,
            longitude=m.longitude,
            precision=GeoPrecision.MUNICIPALITY,
            place_name=place_name,
        )
    if dept:
        d = divipola.departments[dept]
        return Location(
            department_code=d.code,
            department_name=d.name,
            latitude=d.latitude,
            longitude=d.longitude,
            precision=GeoPrecision.DEPARTMENT,
            place_name=place_name,
        )
    return Location(precision=GeoPrecision.COUNTRY, place_name=place_name)


class _PointIndex:
    """Centroids as numpy arrays, overall and per department (equirectangular distance)."""

    def __init__(self, divipola: Divipola) -> None:
        munis = list(divipola.municipalities.values())
        self.codes = np.array([m.code for m in munis])
        self.lat = np.radians([m.latitude for m in munis])
        self.lon = np.radians([m.longitude for m in munis])
        self.dept = np.array([m.department_code for m in munis])
        self._dept_idx = {d: np.flatnonzero(self.dept == d) for d in divipola.departments}

    def nearest(self, lat: float, lon: float, dept: str | None, max_km: float) -> str | None:
        return _nearest_cached(self, round(lat, 4), round(lon, 4), dept, max_km)

    def _nearest(self, lat: float, lon: float, dept: str | None, max_km: float) -> str | None:
        idx = self._dept_idx.get(dept) if dept else None
        lats = self.lat if idx is None else self.lat[idx]
        lons = self.lon if idx is None else self.lon[idx]
        phi, lam = math.radians(lat), math.radians(lon)
        x = (lons - lam) * math.cos(phi)
        y = lats - phi
        d2 = x * x + y * y
        best = int(np.argmin(d2))
        if math.sqrt(float(d2[best])) * _EARTH_KM > max_km:
            return None
        return str(self.codes[best if idx is None else idx[best]])


@lru_cache(maxsize=65536)
def _nearest_cached(index: _PointIndex, lat, lon, dept, max_km):
    return index._nearest(lat, lon, dept, max_km)


@lru_cache(maxsize=1)
def default_geocoder() -> Geocoder:
    """The process-wide geocoder (built on first use, then shared)."""
    return Geocoder()
