import datetime as dt

import pytest
from vigia.streams.counting.periods import (
    last_closed_index,
    make_period,
    parse_label,
    period_end,
    period_index,
    period_label,
    period_start,
)

from vigia.schema import PeriodKind


@pytest.mark.parametrize(
    ("day", "kind", "label", "start", "end"),
    [
        ("2019-03-07", PeriodKind.DAY, "2019-03-07", "2019-03-07", "2019-03-08"),
        ("2019-03-07", PeriodKind.WEEK, "2019-W10", "2019-03-04", "2019-03-11"),
        ("2021-01-01", PeriodKind.WEEK, "2020-W53", "2020-12-28", "2021-01-04"),
        ("2019-12-30", PeriodKind.WEEK, "2020-W01", "2019-12-30", "2020-01-06"),
        ("2019-03-07", PeriodKind.MONTH, "2019-03", "2019-03-01", "2019-04-01"),
        ("2019-12-31", PeriodKind.MONTH, "2019-12", "2019-12-01", "2020-01-01"),
        ("2019-03-07", PeriodKind.YEAR, "2019", "2019-01-01", "2020-01-01"),
    ],
)
def test_bucketing_and_labels(day, kind, label, start, end):
    index = period_index(kind, dt.date.fromisoformat(day))
    assert period_label(kind, index) == label
    assert period_start(kind, index) == dt.date.fromisoformat(start)
    assert period_end(kind, index) == dt.date.fromisoformat(end)
    assert parse_label(label) == (kind, index)
    period = make_period(kind, index)
    assert (period.label, period.kind) == (label, kind)


def test_consecutive_weeks_are_consecutive_indexes():
    monday = dt.date(2018, 12, 31)
    indexes = [period_index(PeriodKind.WEEK, monday + dt.timedelta(days=7 * i)) for i in range(60)]
    assert indexes == list(range(indexes[0], indexes[0] + 60))


def test_a_period_is_closed_once_the_watermark_reaches_its_end():
    week = period_index(PeriodKind.WEEK, dt.date(2019, 3, 7))
    assert last_closed_index(PeriodKind.WEEK, dt.date(2019, 3, 10)) == week - 1
    assert last_closed_index(PeriodKind.WEEK, dt.date(2019, 3, 11)) == week


def test_unknown_label_is_an_error():
    with pytest.raises(ValueError, match="not a period label"):
        parse_label("March")
