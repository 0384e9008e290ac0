"""The alert pages in a real browser: a dispatcher on the real broker serves detections
of the bundled UCDP backtest (``tests/alerts/data/ucdp_detections.jsonl``: a
municipality, a department and the country, made by ``vigia backtest`` on
``data/ucdp/ucdp_ged_colombia_hdx.csv`` for 2010-2018) and headless Chromium loads
the list and each page, follows links and submits the acknowledge form.

Screenshots of every page are kept as test artefacts in
``var/test-artifacts/browser/<test name>/`` (``VIGIA_TEST_ARTIFACTS`` moves the root), where
a CI job can collect them; each run replaces its test's folder.
Selenium blocks, so each browser step runs in a thread while the loop serves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from vigia.alerts.api import make_app
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.simulate import read_detections

from tests.alerts.kafka_support import produce_detections
from tests.alerts.web.browser import start_chromium
from vigia.schema import AlertState
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

DATA = Path(__file__).resolve().parents[1] / "data" / "ucdp_detections.jsonl"
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("VIGIA_TEST_ARTIFACTS") or REPO / "var" / "test-artifacts")
TOKEN = "browser-test-token"
RULES = """
receivers:
  - name: log
    sink: {type: jsonl, path: "%s"}
route: {receiver: log, group_by: [alertname], group_wait: 0s, group_interval: 1s}
rules:
  - name: conflict_rise
    select: {signals: ["fatalities*", "incidents*"]}
"""


@pytest.fixture
async def served(isolated_settings, tmp_path, request):
    options = AlertsSettings(idle_seconds=1, poll_ms=50, drain_seconds=0)
    config = parse_config(RULES % (tmp_path / "alerts.jsonl"))
    dispatcher = AlertDispatcher(isolated_settings, config, alerts_settings=options)
    await dispatcher.start()
    detections = [d for _, d in read_detections(DATA)[0]]
    produce_detections(isolated_settings, Topics(isolated_settings.kafka.topic_prefix), detections)
    for _ in range(200):
        await dispatcher.step()
        if len(dispatcher.engine.alerts) == len(detections):
            break
    assert len(dispatcher.engine.alerts) == 3
    server = TestServer(make_app(dispatcher, SecretStr(TOKEN)))
    await server.start_server()
    browser = await asyncio.to_thread(start_chromium, tmp_path / "chromium-profile")
    try:
        shots = ARTIFACTS / "browser" / request.node.name
        shutil.rmtree(shots, ignore_errors=True)
        yield dispatcher, str(server.make_url("")).rstrip("/"), browser, shots
    finally:
        await asyncio.to_thread(browser.quit)
        await server.close()
        await dispatcher.close()


def _shot(browser, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    return path


async def test_list_pages_charts_maps_and_links(served) -> None:
    dispatcher, base, browser, shots = served

    def visit_all() -> list[dict]:
        browser.get(f"{base}/alerts?lang=en")
        _shot(browser, shots, "list")
        links = [
            a.get_attribute("href") for a in browser.find_elements(By.CLASS_NAME, "alert-link")
        ]
        seen = []
        for i, href in enumerate(links):
            browser.get(href)
            _shot(browser, shots, f"alert-{i}")
            seen.append(
                {
                    "url": browser.current_url,
                    "alarm": len(
                        browser.find_elements(By.CSS_SELECTOR, "svg.series-chart circle.alarm")
                    ),
                    "series": len(
                        browser.find_elements(By.CSS_SELECTOR, "svg.series-chart polyline.series")
                    ),
                    "outlines": len(
                        browser.find_elements(By.CSS_SELECTOR, "svg.region-map path.department")
                    ),
                    "points": len(
                        browser.find_elements(By.CSS_SELECTOR, "svg.region-map circle.evidence")
                    ),
                    "rows": len(browser.find_elements(By.CLASS_NAME, "evidence-row")),
                    "sources": [
                        a.get_attribute("href")
                        for a in browser.find_elements(By.CLASS_NAME, "source-link")
                    ],
                    "history": len(browser.find_elements(By.CSS_SELECTOR, "#history tr")) - 1,
                }
            )
        # the list's link back works from a page
        browser.find_element(By.ID, "all-alerts").click()
        seen.append({"back": browser.find_element(By.ID, "total").text})
        return seen

    seen = await asyncio.to_thread(visit_all)
    *pages, back = seen
    assert len(pages) == 3
    assert back == {"back": "3 alerts"}
    for page in pages:
        assert page["url"].split("/alerts/")[1] in dispatcher.engine.alerts
        assert page["alarm"] == 1 and page["series"] >= 1, page
        assert page["outlines"] >= 1 and page["points"] >= 1, page
        assert page["rows"] == page["points"], page  # every UCDP event is placed
        assert page["sources"] and all(
            s.startswith("https://ucdp.uu.se/event/") for s in page["sources"]
        )
        assert page["history"] == 1


async def test_a_short_id_opens_its_alert_page(served) -> None:
    # `vigia alerts list` prints 12 characters of each id: pasted in the URL, they open the page
    dispatcher, base, browser, _ = served
    fingerprint = sorted(dispatcher.engine.alerts)[0]

    def visit(short: str) -> tuple[str, str]:
        browser.get(f"{base}/alerts/{short}?lang=es")
        return browser.current_url, browser.find_element(By.TAG_NAME, "body").text

    url, text = await asyncio.to_thread(visit, fingerprint[:12])
    assert url == f"{base}/alerts/{fingerprint}?lang=es"
    assert "Historial de revisiones" in text
    url, text = await asyncio.to_thread(visit, "zzzz")
    assert url.endswith("/alerts/zzzz?lang=es") and "No existe esa alerta" in text


async def test_spanish_by_query_and_by_accept_language(served) -> None:
    _, base, browser, shots = served

    def read() -> tuple[str, str, str]:
        browser.get(f"{base}/alerts?lang=es")
        spanish = browser.find_element(By.TAG_NAME, "h1").text
        _shot(browser, shots, "list-es")
        browser.find_element(By.ID, "switch-language").click()
        english = browser.find_element(By.TAG_NAME, "h1").text
        return spanish, english, browser.find_element(By.TAG_NAME, "html").get_attribute("lang")

    spanish, english, lang = await asyncio.to_thread(read)
    assert (spanish, english, lang) == ("Alertas", "Alerts", "en")


async def test_ack_form_is_refused_without_the_token_and_works_with_it(served) -> None:
    dispatcher, base, browser, shots = served
    fingerprint = sorted(dispatcher.engine.alerts)[0]

    def submit(token: str | None) -> tuple[str, str]:
        browser.get(f"{base}/alerts/{fingerprint}?lang=en")
        form = browser.find_element(By.ID, "ack-form")
        form.find_element(By.NAME, "by").send_keys("analyst@example.org")
        form.find_element(By.NAME, "comment").send_keys("checked the UCDP events")
        if token is not None:
            form.find_element(By.NAME, "token").send_keys(token)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _shot(browser, shots, f"ack-{'with' if token else 'without'}-token")
        return browser.find_element(By.ID, "flash").text, browser.find_element(
            By.ID, "summary"
        ).text

    flash, _ = await asyncio.to_thread(submit, None)
    assert flash.startswith("Refused")
    flash, _ = await asyncio.to_thread(submit, "wrong-token")
    assert flash.startswith("Refused")
    assert dispatcher.engine.alerts[fingerprint].state is AlertState.FIRING

    flash, summary = await asyncio.to_thread(submit, TOKEN)
    assert flash == "Acknowledged."
    assert summary.startswith("[ACKNOWLEDGED]")
    alert = dispatcher.engine.alerts[fingerprint]
    assert alert.state is AlertState.ACKNOWLEDGED
    assert alert.acknowledged_by == "analyst@example.org"
    assert len(dispatcher.engine.revisions.versions(fingerprint)) == 2


async def test_silence_form_needs_the_token_and_silences_the_alerts_region(served) -> None:
    dispatcher, base, browser, shots = served
    fingerprint = sorted(dispatcher.engine.alerts)[1]
    alert = dispatcher.engine.alerts[fingerprint]

    def submit(token: str | None) -> str:
        browser.get(f"{base}/alerts/{fingerprint}?lang=es")
        form = browser.find_element(By.ID, "silence-form")
        form.find_element(By.NAME, "by").send_keys("ana")
        form.find_element(By.NAME, "comment").send_keys("operativo conocido")
        duration = form.find_element(By.NAME, "duration")
        duration.clear()
        duration.send_keys("2h")
        if token is not None:
            form.find_element(By.NAME, "token").send_keys(token)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _shot(browser, shots, f"silence-{'with' if token else 'without'}-token")
        return browser.find_element(By.ID, "flash").text

    assert (await asyncio.to_thread(submit, None)).startswith("Rechazado")
    assert dispatcher.engine.silencer.by_id == {}
    assert (await asyncio.to_thread(submit, TOKEN)).startswith("Silenciada hasta")
    (silence,) = dispatcher.engine.silencer.by_id.values()
    assert silence.created_by == "ana"
    assert silence.ends_at - silence.starts_at == dt.timedelta(hours=2)
    now = dispatcher.engine.clock()
    assert dispatcher.engine.silencer.muting(alert.labels, now)


async def test_list_filters_by_department_and_severity(served) -> None:
    _, base, browser, shots = served

    def filtered() -> tuple[str, str, list[str]]:
        browser.get(f"{base}/alerts?lang=en")
        Select(browser.find_element(By.NAME, "department")).select_by_value("81")
        browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
        by_department = browser.find_element(By.ID, "total").text
        _shot(browser, shots, "list-department-81")
        browser.get(f"{base}/alerts?lang=en&severity=warning&signal=fatalities")
        regions = [
            row.find_elements(By.TAG_NAME, "td")[3].text
            for row in browser.find_elements(By.CLASS_NAME, "alert-row")
        ]
        return by_department, browser.current_url, regions

    by_department, url, regions = await asyncio.to_thread(filtered)
    assert by_department == "1 alerts"
    assert "severity=warning" in url
    assert sorted(regions) == ["Colombia", "Meta"]
