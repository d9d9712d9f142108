"""Cash application through the ledger: for each unapplied payment, its proposal is decided
on the customer's state as it stands (`matching.match`) and recorded
(`PaymentAllocationProposed`); a proposal at or above the company's threshold is accepted
at once, which settles the payment (`PaymentSettled`, `PaymentAllocationAccepted`), all
under the actor `cash-application`. The rest waits in the unapplied-cash queue for an agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from arrears.ledger.application import Ledger
from arrears.ledger.bulk import Builder, BulkItem
from arrears.ledger.cash import store
from arrears.ledger.cash.matching import Clue, Policy, match
from arrears.ledger.domain import (
    AcceptAllocationProposal,
    Command,
    CustomerAccount,
    ProposeAllocation,
    ProposedAllocationRequest,
)
from arrears.ledger.statements.references import clues_of
from arrears.shared.events import payments as pm

ACTOR = "cash-application"


@dataclass(frozen=True)
class CashRequest:
    """An unapplied payment to apply, with what its bank transaction said."""

    company: str
    customer_id: str
    payment_transaction_id: str
    clue: Clue = field(default_factory=Clue)


@dataclass(frozen=True)
class Applied:
    """What cash application did with one payment."""

    disposition: str
    """'settled_automatically', 'queued' (a proposal waits for an agent), 'unmatched' (queued
    with nothing proposed), 'skipped' (nothing unapplied, or a proposal is open already) or
    'refused'."""
    proposal_id: str | None = None
    confidence: Decimal | None = None
    evidence: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class Policies:
    """Each company's policy: its own, or the default."""

    default: Policy = field(default_factory=Policy)
    companies: Mapping[str, Policy] = field(default_factory=dict)

    def of(self, company: str) -> Policy:
        return self.companies.get(company, self.default)


def _propose(request: CashRequest, policy: Policy) -> Builder:
    def build(state: CustomerAccount) -> Command | None:
        payment = state.transactions.get(request.payment_transaction_id)
        if payment is None or payment.kind != "payment" or payment.cancelled:
            return None
        if not payment.is_open or any(
            p.payment_transaction_id == payment.transaction_id and p.status == "open"
            for p in state.proposals.values()
        ):
            return None
        found = match(state, payment, request.clue, policy)
        return ProposeAllocation(
            company=request.company,
            customer_id=request.customer_id,
            payment_transaction_id=payment.transaction_id,
            allocations=tuple(
                ProposedAllocationRequest(transaction_id=tid, amount=amount)
                for tid, amount in found.allocations
            ),
            confidence=found.confidence,
            evidence=tuple(text[:300] for text in found.evidence[:50]),
            threshold=policy.threshold,
        )

    return build


def settle_automatically(request: CashRequest) -> Builder:
    def build(state: CustomerAccount) -> Command | None:
        for proposal in reversed(state.proposals.values()):
            if (
                proposal.payment_transaction_id == request.payment_transaction_id
                and proposal.status == "open"
            ):
                if proposal.disposition != "settle_automatically":
                    return None
                return AcceptAllocationProposal(
                    company=request.company,
                    customer_id=request.customer_id,
                    proposal_id=proposal.proposal_id,
                )
        return None

    return build


async def apply_cash(
    ledger: Ledger,
    requests: Sequence[CashRequest],
    policies: Policies,
    *,
    actor: str = ACTOR,
) -> list[Applied]:
    """Propose for every request, and settle at once what reaches the threshold; one bulk
    append for them all. One result per request, in order."""
    proposals = [_propose(request, policies.of(request.company)) for request in requests]
    return await record_proposals(ledger, requests, proposals, actor=actor)


async def record_proposals(
    ledger: Ledger,
    requests: Sequence[CashRequest],
    proposals: Sequence[Builder],
    *,
    actor: str = ACTOR,
) -> list[Applied]:
    """Decide each request's proposal (a builder of `ProposeAllocation`), and settle at once
    those that reach the threshold; one bulk append."""
    items: list[BulkItem] = []
    for request, proposal in zip(requests, proposals, strict=True):
        first = len(items)
        items.append(BulkItem(request.company, request.customer_id, proposal))
        items.append(
            BulkItem(
                request.company,
                request.customer_id,
                settle_automatically(request),
                after=first,
            )
        )
    result = await ledger.append_many(items, actor=actor)
    applied: list[Applied] = []
    for index in range(0, len(items), 2):
        if index in result.rejections:
            problem = result.rejections[index]
            applied.append(Applied("refused", reason=f"{problem.code}: {problem.detail}"))
            continue
        outcome = result.outcomes.get(index)
        if outcome is None or not outcome.events:
            applied.append(Applied("skipped", reason="nothing to apply, or a proposal is open"))
            continue
        data = outcome.events[0].data
        assert isinstance(data, pm.PaymentAllocationProposedData)
        disposition: str = data.disposition if data.allocations else "unmatched"
        if index + 1 in result.rejections:
            problem = result.rejections[index + 1]
            disposition = "queued"
            reason: str | None = f"not settled: {problem.code}: {problem.detail}"
        else:
            reason = None
        if disposition == "settle_automatically":
            disposition = "settled_automatically"
        applied.append(
            Applied(disposition, data.proposal_id, data.confidence, data.evidence, reason)
        )
    return applied


async def apply_unapplied(
    ledger: Ledger, company: str, policies: Policies, *, limit: int = 5000
) -> list[Applied]:
    """Cash application for the company's payments nothing was ever applied to or proposed
    for (received by any route), oldest first, at most `limit` of them; their remittance
    text and reference are the clues."""
    async with ledger.engine.connect() as conn:
        payments = await store.unapplied_payments(conn, company, limit)
    requests = []
    for payment in payments:
        found = clues_of((), (), payment.text)
        clue = Clue(
            referenced=found.references,
            rf_references=found.rf_references,
            mentioned=found.words,
        )
        requests.append(CashRequest(company, payment.customer_id, payment.transaction_id, clue))
    return await apply_cash(ledger, requests, policies)
