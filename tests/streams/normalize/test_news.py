import datetime as dt

import pytest
from vigia.streams.normalize import MappingError, map_raw

from tests.streams.normalize.conftest import json_fixture, raw
from vigia.schema import GeoPrecision, NewsArticle


@pytest.fixture
def items():
    return json_fixture("news_items.json")


def test_rss_item_with_places(items):
    (article,) = map_raw(raw("rss", "1", items["rss"][0], "rss"))
    assert isinstance(article, NewsArticle)
    assert article.location.municipality_code == "52835"
    assert [p.municipality_code for p in article.places_mentioned] == ["52835"]
    # 03:30 UTC on 4 March is still 3 March in Colombia
    assert article.published_at == dt.datetime(2025, 3, 4, 3, 30, tzinfo=dt.UTC)
    assert article.event_date == dt.date(2025, 3, 3)
    assert article.summary == 'Las autoridades confirmaron el hecho en la vereda "La Balsa".'
    assert article.domain == "example.org"


def test_rss_department_and_municipality(items):
    (article,) = map_raw(raw("rss", "2", items["rss"][1], "rss"))
    assert article.places_mentioned[0].municipality_code == "54810"


def test_rss_without_places_is_country_level(items):
    (article,) = map_raw(raw("rss", "3", items["rss"][2], "rss"))
    assert article.places_mentioned == []
    assert article.location.precision is GeoPrecision.COUNTRY


def test_connector_shaped_rss_payload(items):
    item = items["rss"][1]
    payload = {
        "title": item["title"], "link": item["link"], "id": item["guid"],
        "published": item["pubDate"], "updated": None, "summary": item["description"],
        "author": None, "tags": [], "feed_title": "Example", "feed_url": "https://example.org/rss",
    }  # fmt: skip
    (article,) = map_raw(raw("rss", "tibu-1", payload, "rss"))
    assert article.published_at == dt.datetime(2025, 3, 4, 19, 0, tzinfo=dt.UTC)


def test_gdelt_doc_article(items):
    (article,) = map_raw(raw("gdelt_doc", "a", items["gdelt_doc"][0]))
    assert article.published_at == dt.datetime(2025, 3, 6, 6, 34, tzinfo=dt.UTC)
    assert article.location.municipality_code == "19050"
    assert article.language == "Spanish"


def test_missing_title_and_bad_date_are_errors(items):
    with pytest.raises(MappingError, match="title"):
        map_raw(raw("rss", "x", dict(items["rss"][0], title="  ")))
    with pytest.raises(MappingError, match=r"pubdate.*not a date"):
        map_raw(raw("rss", "x", dict(items["rss"][0], pubDate="yesterday")))
