"""Colombia's administrative geography, shipped as package data and shared by every stage.

* :mod:`vigia.geo.divipola` — DANE's DIVIPOLA codes, names and municipality centroids
  (the streams stage geocodes with them; the alert stage places evidence on its maps).
* :mod:`vigia.geo.outlines` — simplified department outlines for maps drawn without tiles.
"""

from vigia.geo.divipola import Department, Divipola, Municipality, load_divipola
from vigia.geo.outlines import Outline, load_outlines

__all__ = [
    "Department",
    "Divipola",
    "Municipality",
    "Outline",
    "load_divipola",
    "load_outlines",
]
