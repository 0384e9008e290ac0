"""The GDELT 2.0 Events export: 61 tab-separated columns, no header.

The connectors' parser (:mod:`vigia.connectors.sources.gdelt_parser`) splits export files
into rows by these columns; the stream stage's mapper (:mod:`vigia.streams.normalize.gdelt`)
accepts a row as a dict or as the raw line and names its cells by them.
"""

from __future__ import annotations

_ACTOR = (
    "Code", "Name", "CountryCode", "KnownGroupCode", "EthnicCode", "Religion1Code",
    "Religion2Code", "Type1Code", "Type2Code", "Type3Code",
)  # fmt: skip
_GEO = ("Type", "FullName", "CountryCode", "ADM1Code", "ADM2Code", "Lat", "Long", "FeatureID")

#: The export columns, in file order.
COLUMNS: tuple[str, ...] = (
    *("GLOBALEVENTID", "SQLDATE", "MonthYear", "Year", "FractionDate"),
    *(f"Actor1{c}" for c in _ACTOR),
    *(f"Actor2{c}" for c in _ACTOR),
    *("IsRootEvent", "EventCode", "EventBaseCode", "EventRootCode", "QuadClass"),
    *("GoldsteinScale", "NumMentions", "NumSources", "NumArticles", "AvgTone"),
    *(f"Actor1Geo_{c}" for c in _GEO),
    *(f"Actor2Geo_{c}" for c in _GEO),
    *(f"ActionGeo_{c}" for c in _GEO),
    *("DATEADDED", "SOURCEURL"),
)
WIDTH = len(COLUMNS)  # 61

#: Positions the connector filters on before building a row's dict (cheap rejection).
ACTION_COUNTRY = COLUMNS.index("ActionGeo_CountryCode")  # 53 (column 54, 1-based)
ROOT_CODE = COLUMNS.index("EventRootCode")
