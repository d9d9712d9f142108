"""Cash application's rule: which open transactions of its customer an unapplied payment
pays, how sure that is, and the evidence for it. Pure: a function of the customer's state
(as the ledger folds it), the payment and the clues its bank transaction gave.

Confidence, strongest first:
- documents named by a structured reference (or an ISO 11649 reference carrying their number)
  whose open amounts the payment equals: 0.97; named in the remittance text: 0.92;
- the same documents paid short (the oldest first, the rest left open): 0.72 / 0.67, and
  overpaid: 0.87 / 0.82 (with the one other open item the rest pays exactly, if there is
  one; otherwise the rest is left unapplied);
- no document named: one open item of exactly the amount 0.75 (0.5 when several have it,
  the oldest proposed); the whole open balance 0.8; one combination of open items summing to
  the amount 0.65 (0.4 when several do);
- nothing found: no allocation, confidence 0.
The company's threshold (0.9 by default) decides what is settled at once: only payments whose
documents are named and paid exactly, unless a company sets it lower.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from arrears.ledger.domain import CustomerAccount, Transaction
from arrears.ledger.statements.references import normalized
from arrears.shared.money import decimal_text

ZERO = Decimal(0)


@dataclass(frozen=True)
class Policy:
    """A company's cash-application settings."""

    threshold: Decimal = Decimal("0.9")
    """Proposals at or above it are settled at once."""
    tolerance: Decimal = ZERO
    """How far a payment may be from the amounts it matches and still match them."""
    max_combination: int = 4
    """Most open items a combination may hold."""
    max_candidates: int = 30
    """Open items (the oldest due first) searched for combinations."""


@dataclass(frozen=True)
class Clue:
    """What the payment's bank transaction said."""

    referenced: tuple[str, ...] = ()
    """Document numbers given as structured references."""
    rf_references: tuple[str, ...] = ()
    """Numbers carried by valid ISO 11649 references (letters and digits only)."""
    mentioned: tuple[str, ...] = ()
    """Words of the remittance text."""
    identified_by: tuple[str, ...] = ()
    """How the customer was identified, in words."""


@dataclass(frozen=True)
class Match:
    allocations: tuple[tuple[str, Decimal], ...]
    """(transaction id, amount in the payment's currency) each, in order."""
    confidence: Decimal
    evidence: tuple[str, ...]


def _label(items: Sequence[Transaction]) -> str:
    return ", ".join(t.label for t in items)


def _money(value: Decimal, currency: str) -> str:
    return f"{decimal_text(value)} {currency}"


def open_items(state: CustomerAccount, payment: Transaction) -> list[Transaction]:
    """The customer's open receivables in the payment's currency, oldest due first."""
    items = [t for t in state.open_transactions() if t.is_receivable]
    items = [t for t in items if t.currency == payment.currency]
    return sorted(items, key=lambda t: (t.due_date or t.posting_date, t.posting_date))


def _allocate(items: Sequence[Transaction], amount: Decimal) -> tuple[tuple[str, Decimal], ...]:
    """Apply `amount` to `items` in order, each up to its open amount."""
    left = amount
    allocations = []
    for item in items:
        if left <= 0:
            break
        part = min(item.open_amount, left)
        allocations.append((item.transaction_id, part))
        left -= part
    return tuple(allocations)


def match(state: CustomerAccount, payment: Transaction, clue: Clue, policy: Policy) -> Match:
    amount = payment.open_amount
    currency = payment.currency
    items = open_items(state, payment)
    evidence = list(clue.identified_by)
    referenced = set(clue.referenced)
    carried = set(clue.rf_references)
    mentioned = set(clue.mentioned)

    def named_by_reference(t: Transaction) -> bool:
        number = t.document_number or ""
        return number in referenced or (bool(number) and normalized(number) in carried)

    strong = [t for t in items if named_by_reference(t)]
    weak = [t for t in items if t not in strong and (t.document_number or "") in mentioned]
    named = strong + weak
    if named:
        base = Decimal("0.97") if strong and not weak else Decimal("0.92")
        how = "referenced" if strong and not weak else "named in the remittance text"
        total = sum((t.open_amount for t in named), ZERO)
        evidence.append(f"{_label(named)} {how}, open {_money(total, currency)}")
        if abs(amount - total) <= policy.tolerance:
            evidence.append("the payment equals their open amount")
            return Match(_allocate(named, amount), base, tuple(evidence))
        if amount < total:
            evidence.append(
                f"short by {_money(total - amount, currency)}: applied oldest first, the rest "
                "stays open"
            )
            return Match(_allocate(named, amount), base - Decimal("0.25"), tuple(evidence))
        rest = amount - total
        others = [t for t in items if t not in named]
        also = [t for t in others if abs(t.open_amount - rest) <= policy.tolerance]
        if len(also) == 1:
            evidence.append(f"the rest, {_money(rest, currency)}, equals the open amount of "
                            f"{also[0].label}, which it does not name")  # fmt: skip
            return Match(_allocate([*named, *also], amount), base - Decimal("0.1"), tuple(evidence))
        evidence.append(
            f"over by {_money(rest, currency)}: the rest stays unapplied on the payment"
        )
        return Match(_allocate(named, total), base - Decimal("0.1"), tuple(evidence))

    exact = [t for t in items if abs(t.open_amount - amount) <= policy.tolerance]
    if len(exact) == 1:
        evidence.append(f"the amount equals the open amount of {exact[0].label}, and of no other")
        return Match(_allocate(exact, amount), Decimal("0.75"), tuple(evidence))
    if exact:
        evidence.append(
            f"{len(exact)} open items have this amount ({_label(exact)}); the oldest is proposed"
        )
        return Match(_allocate(exact[:1], amount), Decimal("0.5"), tuple(evidence))
    balance = sum((t.open_amount for t in items), ZERO)
    if len(items) > 1 and abs(balance - amount) <= policy.tolerance:
        evidence.append(f"the amount equals the whole open balance ({_label(items)})")
        return Match(_allocate(items, amount), Decimal("0.8"), tuple(evidence))
    combinations = _combinations(items, amount, policy)
    if combinations:
        chosen = combinations[0]
        if len(combinations) == 1:
            evidence.append(f"only {_label(chosen)} together sum to the amount")
            return Match(_allocate(chosen, amount), Decimal("0.65"), tuple(evidence))
        evidence.append(
            f"{len(combinations)} combinations of open items sum to the amount; the oldest "
            f"({_label(chosen)}) is proposed"
        )
        return Match(_allocate(chosen, amount), Decimal("0.4"), tuple(evidence))
    evidence.append(f"no open item or combination of open items matches {_money(amount, currency)}")
    return Match((), ZERO, tuple(evidence))


def _combinations(
    items: Sequence[Transaction], amount: Decimal, policy: Policy
) -> list[tuple[Transaction, ...]]:
    """Combinations of two or more of the oldest open items summing to `amount`, oldest
    first (at most two are looked for: one is a match, two make it ambiguous)."""
    pool = list(items[: policy.max_candidates])
    found: list[tuple[Transaction, ...]] = []
    for size in range(2, min(policy.max_combination, len(pool)) + 1):
        for combination in itertools.combinations(pool, size):
            if abs(sum((t.open_amount for t in combination), ZERO) - amount) <= policy.tolerance:
                found.append(combination)
                if len(found) == 2:
                    return found
    return found
