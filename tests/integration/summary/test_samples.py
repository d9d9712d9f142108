"""The demo history through ledger, aging and summary on the real database: every customer's
summary and reminder draft passes the grounding check (and the samples script works)."""

from __future__ import annotations

import pytest

from tests.integration.summary.samples import build_samples, render

pytestmark = pytest.mark.integration


async def test_demo_samples_are_grounded_and_contrasting(postgres_url: str) -> None:
    samples = await build_samples(postgres_url, customers=8, months=8)
    assert len(samples) == 3
    assert len({s.sheet.customer_id for s in samples}) == 3
    for sample in samples:
        assert sample.grounding.passed, (sample.grounding.reasons, sample.text)
        assert sample.grounding.figures >= 5
        assert sample.sheet.get("debt.balance") is not None, "aging figures reached the summary"
        if sample.draft is not None:
            assert sample.draft_grounding is not None and sample.draft_grounding.passed
        else:
            assert sample.refused is not None
    assert len({s.text for s in samples}) == 3
    assert "### Sample 3" in render(samples)
