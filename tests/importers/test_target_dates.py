"""Target dates in the forms action plans use, each read to one day, or refused with a hint."""

from __future__ import annotations

from datetime import date

import pytest

from worker.importers.errors import DocumentError
from worker.importers.target_dates import target_date


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("01/06/17", date(2017, 6, 1)),
        ("1.6.2017", date(2017, 6, 1)),
        ("2017-06-01", date(2017, 6, 1)),
        ("1st June 2017", date(2017, 6, 1)),
        ("Thursday 1 June 2017", date(2017, 6, 1)),
        ("June 2019", date(2019, 6, 30)),
        ("Jun 2019", date(2019, 6, 30)),
        ("Jun-19", date(2019, 6, 30)),
        ("Feb-20", date(2020, 2, 29)),
        ("Sept 2019", date(2019, 9, 30)),
        ("end of June 2019", date(2019, 6, 30)),
        ("End June 2019", date(2019, 6, 30)),
        ("Q1 2019/20", date(2019, 6, 30)),
        ("Q2 2019/20", date(2019, 9, 30)),
        ("Q2 2019-20", date(2019, 9, 30)),
        ("q3 19/20", date(2019, 12, 31)),
        ("Q4 2019/20", date(2020, 3, 31)),
        ("Ongoing", None),
        ("  ongoing ", None),
    ],
)
def test_each_form_is_read_to_one_day(written: str, expected: date | None) -> None:
    assert target_date(written, 7) == expected


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("Spring 2019", "too vague for a deadline (write a day, such as 31 May 2019"),
        ("summer", "too vague for a deadline (write a day, such as 31 August YYYY"),
        ("Q2", "a quarter needs its financial year, such as 'Q2 2019/20'"),
        ("Q2 2019/21", "a quarter needs its financial year"),
        ("March 14", "an incomplete date"),  # a day with no year, never March 2014
        ("2017", "an incomplete date"),
        ("14 March", "an incomplete date"),
        ("2017-02-30", "not a valid date"),
        ("June 0000", "not a valid date"),
        ("Q1 0000/01", "not a valid date"),
        ("", "missing (write a date or 'Ongoing')"),
    ],
)
def test_vague_forms_are_refused_naming_the_cell(written: str, words: str) -> None:
    with pytest.raises(DocumentError) as refused:
        target_date(written, 7)
    assert words in refused.value.reason
    assert (refused.value.line, refused.value.field) == (7, "Target date")
