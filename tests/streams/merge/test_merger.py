import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vigia.streams.geo import default_geocoder
from vigia.streams.merge import IncidentMerger, MergeConfig, MergerState

from vigia.schema import (
    ConflictIncident,
    Fatalities,
    IncidentCategory,
    Location,
    NewsArticle,
)

D = dt.date(2025, 3, 4)
TIBU = "54810"


def loc(code: str | None = TIBU, dept: str | None = None) -> Location:
    geo = default_geocoder()
    if code:
        return geo.location(municipality_code=code)
    return geo.location(department_code=dept) if dept else Location()


def inc(source, sid, day=D, *, code=TIBU, dept=None, cat=IncidentCategory.BATTLE, deaths=3,
        rev=None, url=None) -> ConflictIncident:  # fmt: skip
    return ConflictIncident(
        source=source, source_id=sid, event_date=day, location=loc(code, dept), category=cat,
        fatalities=Fatalities(best=deaths), source_revision=rev,
        source_urls=[url or f"https://{source}.example/{sid}"],
    )  # fmt: skip


def news(sid, day=D, code=TIBU) -> NewsArticle:
    when = dt.datetime.combine(day, dt.time(12), dt.UTC)
    return NewsArticle(
        source="rss", source_id=sid, event_date=day, location=loc(code),
        url=f"https://news.example/{sid}", title="Combates en Tibú", published_at=when,
        places_mentioned=[loc(code)],
    )  # fmt: skip


def test_three_sources_one_incident():
    m = IncidentMerger()
    first = m.observe(inc("acled", "A1", D))
    assert first.status == "new"
    assert first.incidents == {first.cluster_id: first.incidents[first.cluster_id]}
    assert first.incidents[first.cluster_id].key == "acled:A1"
    second = m.observe(
        inc("ucdp", "U1", D - dt.timedelta(days=1), cat=IncidentCategory.STATE_BASED, deaths=4)
    )
    assert second.status == "merged" and second.cluster_id == first.cluster_id
    merged = second.incidents[first.cluster_id]
    # UCDP has priority: its values are shown, ACLED corroborates
    assert merged.key == "ucdp:U1" and merged.fatalities.best == 4
    assert merged.corroborated_by == ["acled:A1"]
    # the counted incident moved from ACLED's (day, battle) to UCDP's (day-1, state_based)
    assert merged.event_date == D - dt.timedelta(days=1)
    assert merged.category is IncidentCategory.STATE_BASED
    third = m.observe(inc("gdelt", "G1", D + dt.timedelta(days=1), cat=IncidentCategory.FIGHT))
    assert third.status == "merged"
    final = third.incidents[first.cluster_id]
    assert final.corroborated_by == ["acled:A1", "gdelt:G1"]
    assert len(final.corroborated_by) + 1 == 3  # sources reporting it
    assert final.fatalities.best == 4  # corroboration does not change the counted values
    assert set(final.source_urls) >= {"https://acled.example/A1", "https://gdelt.example/G1"}


def test_no_merge_across_municipality_window_group_or_same_exclusive_source():
    m = IncidentMerger()
    base = m.observe(inc("acled", "A1")).cluster_id
    assert m.observe(inc("ucdp", "U1", code="54001")).cluster_id != base  # other town
    assert m.observe(inc("ucdp", "U2", D + dt.timedelta(days=2))).cluster_id != base  # window
    protest = inc("ucdp", "U3", cat=IncidentCategory.PROTEST)
    assert m.observe(protest).cluster_id != base  # unrest vs violence
    assert m.observe(inc("acled", "A2")).cluster_id != base  # two ACLED events = two incidents
    assert m.observe(inc("gdelt", "G1")).cluster_id == base
    assert m.observe(inc("gdelt", "G2")).cluster_id == base  # GDELT repeats itself


def test_department_level_incidents_are_not_merged():
    m = IncidentMerger()
    a = m.observe(inc("acled", "A1", code=None, dept="54"))
    b = m.observe(inc("ucdp", "U1", code=None, dept="54"))
    assert a.cluster_id != b.cluster_id
    assert b.incidents[b.cluster_id].location.department_code == "54"


def test_window_is_configurable():
    m = IncidentMerger(MergeConfig(window_days=3))
    a = m.observe(inc("acled", "A1"))
    assert m.observe(inc("ucdp", "U1", D + dt.timedelta(days=3))).cluster_id == a.cluster_id


def test_redelivery_changes_nothing():
    m = IncidentMerger()
    rev = dt.datetime(2025, 3, 11, tzinfo=dt.UTC)
    m.observe(inc("acled", "A1", rev=rev))
    m.observe(inc("ucdp", "U1"))
    snapshot = json.dumps(m.state.__dict__, sort_keys=True, default=str)
    again = m.observe(inc("acled", "A1", rev=rev))
    again_no_rev = m.observe(inc("ucdp", "U1"))
    assert (again.status, again_no_rev.status) == ("duplicate", "duplicate")
    assert not again.changed and again.incidents == {}
    assert json.dumps(m.state.__dict__, sort_keys=True, default=str) == snapshot


def test_revision_replaces_values_and_reports_buckets():
    m = IncidentMerger()
    r1 = dt.datetime(2025, 3, 11, tzinfo=dt.UTC)
    r2 = dt.datetime(2025, 3, 18, tzinfo=dt.UTC)
    cid = m.observe(inc("acled", "A1", deaths=3, rev=r1)).cluster_id
    out = m.observe(inc("acled", "A1", deaths=7, rev=r2))
    assert out.status == "revised" and out.cluster_id == cid
    assert out.incidents[cid].fatalities.best == 7
    assert list(out.incidents) == [cid]
    # an older revision arriving late is ignored
    stale = m.observe(inc("acled", "A1", deaths=1, rev=r1))
    assert stale.status == "stale" and not stale.changed
    assert m.incident(cid).fatalities.best == 7


def test_revision_that_moves_the_event_leaves_its_cluster():
    m = IncidentMerger()
    r1 = dt.datetime(2025, 3, 11, tzinfo=dt.UTC)
    cid = m.observe(inc("acled", "A1", rev=r1)).cluster_id
    m.observe(inc("ucdp", "U1", deaths=5))
    assert m.incident(cid).corroborated_by == ["acled:A1"]
    later = D + dt.timedelta(days=10)
    out = m.observe(inc("acled", "A1", later, code="54001", rev=r1 + dt.timedelta(days=7)))
    assert out.status == "revised" and out.cluster_id != cid
    assert out.incidents[cid].key == "ucdp:U1" and out.incidents[cid].corroborated_by == []
    moved = out.incidents[out.cluster_id]
    assert moved.key == "acled:A1" and moved.location.municipality_code == "54001"


def test_content_change_without_revision_marker_replaces():
    m = IncidentMerger()
    m.observe(inc("ucdp", "U1", deaths=2))
    out = m.observe(inc("ucdp", "U1", deaths=9))
    assert out.status == "revised"
    assert out.incidents[out.cluster_id].fatalities.best == 9


def test_revision_emptying_a_cluster_replaces_its_contribution():
    m = IncidentMerger()
    r1 = dt.datetime(2025, 3, 11, tzinfo=dt.UTC)
    cid = m.observe(inc("acled", "A1", rev=r1)).cluster_id
    out = m.observe(inc("acled", "A1", code="54001", rev=r1 + dt.timedelta(days=1)))
    # the emptied cluster is gone and its id is reused by the record's new cluster, so the
    # counter's contribution under that id moves from Tibú to Cúcuta
    assert out.cluster_id == cid and list(m.state.clusters) == [cid]
    assert out.incidents[cid].location.municipality_code == "54001"
    assert m.state.index == {f"54001|{D.toordinal()}": [cid]}


def test_revision_leaving_only_news_retracts_the_incident():
    m = IncidentMerger()
    r1 = dt.datetime(2025, 3, 11, tzinfo=dt.UTC)
    cid = m.observe(inc("acled", "A1", rev=r1)).cluster_id
    m.observe(news("N1"))
    out = m.observe(inc("acled", "A1", code="54001", rev=r1 + dt.timedelta(days=1)))
    assert out.cluster_id != cid
    assert out.incidents[cid] is None  # only the article is left: no incident to count


def test_news_corroborates_but_never_counts():
    m = IncidentMerger()
    n = m.observe(news("N1"))
    assert n.incidents == {n.cluster_id: None}
    a = m.observe(inc("acled", "A1"))
    assert a.cluster_id == n.cluster_id  # the incident joined the article's cluster
    assert a.incidents[a.cluster_id].corroborated_by == ["rss:N1"]
    again = m.observe(news("N2"))
    assert again.incidents[a.cluster_id].corroborated_by == ["rss:N1", "rss:N2"]


def test_out_of_order_days_merge_the_same():
    m = IncidentMerger()
    a = m.observe(inc("ucdp", "U1", D + dt.timedelta(days=1)))
    b = m.observe(inc("acled", "A1", D))  # earlier event arrives later
    assert a.cluster_id == b.cluster_id


def test_eviction_by_event_time_bounds_the_state():
    m = IncidentMerger(MergeConfig(retention_days=30))
    for i in range(100):
        m.observe(inc("acled", f"A{i}", D + dt.timedelta(days=i)))
    assert len(m.state.members) <= 33 and len(m.state.clusters) <= 33
    assert len(m.state.days) <= 40
    old = m.observe(inc("ucdp", "U-old", D))  # far older than the retention
    assert old.status == "expired" and old.incidents[old.cluster_id].key == "ucdp:U-old"
    assert "ucdp:U-old" not in m.state.members


def test_state_is_plain_json():
    m = IncidentMerger()
    m.observe(inc("acled", "A1"))
    m.observe(news("N1"))
    m.observe(inc("ucdp", "U1", code=None, dept="54"))
    state = m.state
    for table in (state.members, state.clusters, state.index, state.days, state.meta):
        assert all(isinstance(k, str) for k in table)
        json.dumps(dict(table))
    # a merger rebuilt from a JSON copy of its state (a restored changelog) continues alike
    copy = MergerState(**{k: json.loads(json.dumps(v)) for k, v in state.__dict__.items()})
    again = IncidentMerger(state=copy)
    assert again.observe(inc("acled", "A1")).status == "duplicate"
    assert again.observe(inc("gdelt", "G1")).status == "merged"


def test_other_event_types_are_refused():
    from vigia.schema import DrugKind, DrugSeizure

    seizure = DrugSeizure(source="seizures", source_id="1", event_date=D, drug=DrugKind.COCAINE,
                          quantity_kg=1.0)  # fmt: skip
    with pytest.raises(TypeError, match="DrugSeizure"):
        IncidentMerger().observe(seizure)


_SOURCES = ["acled", "ucdp", "gdelt", "gdelt"]


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(4)), st.lists(st.integers(0, 3), max_size=4))
def test_arrival_order_and_redelivery_do_not_change_the_result(order, repeats):
    events = [inc(src, f"{src}{i}", cat=IncidentCategory.FIGHT) for i, src in enumerate(_SOURCES)]
    m = IncidentMerger()
    for i in order:
        m.observe(events[i])
    for i in repeats:
        assert m.observe(events[i]).status == "duplicate"
    (cid,) = m.state.clusters
    merged = m.incident(cid)
    assert merged.key == "ucdp:ucdp1"
    assert merged.corroborated_by == ["acled:acled0", "gdelt:gdelt2", "gdelt:gdelt3"]


def test_observe_batch_nets_out_per_cluster_and_passes_other_events_through():
    from vigia.schema import DrugKind, DrugSeizure

    seizure = DrugSeizure(source="seizures", source_id="1", event_date=D, drug=DrugKind.COCAINE,
                          quantity_kg=1.0)  # fmt: skip
    m = IncidentMerger()
    batch = m.observe_batch(
        [inc("acled", "A1"), seizure, inc("ucdp", "U1", deaths=5), inc("acled", "A1")]
    )
    assert batch.others == [seizure]
    assert batch.statuses == {"new": 1, "merged": 1, "duplicate": 1}
    (cid,) = batch.incidents
    assert batch.incidents[cid].key == "ucdp:U1"
    assert batch.incidents[cid].corroborated_by == ["acled:A1"]
    assert batch.incidents[cid].fatalities.best == 5
