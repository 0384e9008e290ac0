"""What the analyst sees: alert pages, their charts and maps, and the offline preview.

* :mod:`~vigia.alerts.web.pictures` — an alert's series chart and region map (SVG, PNG).
* :mod:`~vigia.alerts.web.i18n` — Spanish and English, chosen by ``?lang=`` or
  ``Accept-Language``.
* :mod:`~vigia.alerts.web.pages` — server-rendered HTML of one alert and of the list.
* :mod:`~vigia.alerts.web.routes` — the aiohttp routes ``/alerts`` and ``/alerts/<id>``
  with the acknowledge and silence forms, mounted on the API by ``vigia alerts serve``.
* :mod:`~vigia.alerts.web.preview` — ``vigia alerts preview``: pages of a detections file.
"""
