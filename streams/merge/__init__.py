"""Cross-source incident merging (pure; its state can live in faust tables).

Usage::

    merger = IncidentMerger(MergeConfig(window_days=1))   # state: plain dicts or faust tables
    outcome = merger.observe(incident)   # per canonical incident or news article, in order
    outcome.incidents                    # cluster id → merged incident now (None: retract)
    batch = merger.observe_batch(events) # the same over a batch; others passed through
"""

from vigia.streams.merge.merger import IncidentMerger
from vigia.streams.merge.state import (
    MergeBatch,
    MergeConfig,
    MergeOutcome,
    MergerState,
    merge_group,
)

__all__ = [
    "IncidentMerger",
    "MergeBatch",
    "MergeConfig",
    "MergeOutcome",
    "MergerState",
    "merge_group",
]
