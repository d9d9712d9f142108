"""Customer profiles folded from registration and profile-change facts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.gateway.domain.profiles import Contact, fold

pytestmark = pytest.mark.unit

FACTS = [
    (1, {"name": "Old Name", "organization_phone": "+1 1", "open_contracts": 2,
         "collections_contact": {"name": "Ann", "email": "ann@x.example"}}),
    (4, {"name": "New Name", "open_contracts": 0}),
    (7, {"collections_contact": {"name": "Bob", "phone": "+1 2", "role": "AP"},
         "employee_responsible": "anna", "organization_phone": None}),
]  # fmt: skip


def test_later_facts_win_and_absent_attributes_keep_their_value() -> None:
    profile = fold(FACTS)
    assert profile is not None
    assert profile.name == "New Name" and profile.open_contracts == 0
    assert profile.organization_phone == "+1 1", "null means unchanged"
    assert profile.collections_contact == Contact("Bob", None, "+1 2", "AP")
    assert profile.employee_responsible == "anna"


@given(st.permutations(FACTS))
def test_the_order_facts_arrive_in_does_not_matter(order: list[tuple[int, dict]]) -> None:
    assert fold(order) == fold(FACTS)


def test_no_fact_no_profile() -> None:
    assert fold([]) is None
