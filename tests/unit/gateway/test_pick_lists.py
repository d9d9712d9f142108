"""The pick-lists of the action forms: defaults, the company's own, rows as edited, and a
choice checked against the list."""

from __future__ import annotations

import pytest

from arrears.gateway.domain.pick_lists import (
    DEFAULTS,
    Entry,
    NotOnTheList,
    PickList,
    PickLists,
    entries_from_rows,
)


def test_a_list_the_company_did_not_configure_is_its_defaults() -> None:
    mine = (Entry("7000", "Allowance"),)
    lists = PickLists.of({PickList.WRITE_OFF_ACCOUNTS: mine})
    assert lists.entries(PickList.WRITE_OFF_ACCOUNTS) == mine
    assert lists.entries(PickList.REASON_CODES) == DEFAULTS[PickList.REASON_CODES]


def test_a_choice_must_be_on_the_list() -> None:
    lists = PickLists.of({})
    assert lists.check(PickList.BANK_RETURN_REASONS, "R01", required=True) == "R01"
    assert lists.check(PickList.BANK_RETURN_REASONS, None, required=False) is None
    with pytest.raises(NotOnTheList, match="R99 is not one of the bank return reasons"):
        lists.check(PickList.BANK_RETURN_REASONS, "R99", required=False)
    with pytest.raises(NotOnTheList, match="choose one of the write-off accounts"):
        lists.check(PickList.WRITE_OFF_ACCOUNTS, None, required=True)


def test_rows_keep_their_order_and_drop_empty_ones() -> None:
    entries = entries_from_rows(["B", "", " A "], ["  Second   one ", "", ""])
    assert entries == (Entry("B", "Second one"), Entry("A", "A"))


@pytest.mark.parametrize(
    ("codes", "labels", "reason"),
    [
        (["A", "A"], ["x", "y"], "row 2: the code A is there twice"),
        (["has space"], ["x"], "row 1: a code is"),
        (["-A"], ["x"], "row 1: a code is"),
        ([""], ["x"], "row 1: a code is"),
        (["A"], ["x" * 201], "row 1: a description has at most 200"),
        ([""], [""], "at least one entry"),
        (["A"], [], "every row needs"),
        ([f"C{i}" for i in range(101)], [""] * 101, "at most 100"),
    ],
)
def test_rows_that_are_not_a_list_are_refused(
    codes: list[str], labels: list[str], reason: str
) -> None:
    with pytest.raises(NotOnTheList, match=reason):
        entries_from_rows(codes, labels)
