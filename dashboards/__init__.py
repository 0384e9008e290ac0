"""Vigía's Grafana dashboards, generated as code with ``grafana-foundation-sdk``.

``python -m dashboards.generate`` writes the three dashboards' JSON next to this
package (``dashboards/*.json``, mounted by docker-compose at
``/var/lib/grafana/dashboards``) and the department centroid lookup the geomap
uses. The JSON is committed; ``tests/observability/test_dashboards.py`` checks it
equals what the generator produces, and the live test runs every panel's PromQL
against a real Prometheus scraping a pipeline run.

Modules: :mod:`.panels` (datasources, variables, panel helpers), :mod:`.geo`
(centroids), :mod:`.overview`, :mod:`.conflict`, :mod:`.delivery` (one dashboard
each), :mod:`.generate` (writes the files).
"""
