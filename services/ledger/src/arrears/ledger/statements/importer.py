"""A bank statement through the ledger: credits become received payments of the customer
they are identified with, returned payments become NSF returns of the payment they return,
and every other entry is reported with its reason.

Every transaction keeps the bank's key (`camt.BankTransaction.key`) as its payment's document
number, so importing the same statement again, or one that overlaps it, appends nothing: the
ledger refuses the number as taken and the transaction is counted as already present. A credit
whose customer cannot be identified is kept as an unidentified receipt (nothing is appended)
until a later import or an agent names its customer. The ledger's bulk path decides and
appends, with the same rules as one command at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import IO, Any, Literal

from arrears.ledger import store as ledger_store
from arrears.ledger.application import Ledger
from arrears.ledger.bulk import BulkItem
from arrears.ledger.cash import CashRequest, Clue, Policies, apply_cash
from arrears.ledger.domain import Command, ReceivePayment, ReturnPaymentNsf
from arrears.ledger.statements import store
from arrears.ledger.statements.camt import (
    BankTransaction,
    Statement,
    StatementEntry,
    StatementRefused,
    read_statements,
)
from arrears.ledger.statements.references import (
    Clues,
    Identification,
    clues,
    clues_of,
    identify,
)
from arrears.shared.errors import Problem
from arrears.shared.ids import uuid7
from arrears.shared.money import decimal_text

Outcome = Literal["payment", "return", "present", "unidentified", "refused"]
PRESENT_CODES = frozenset({"duplicate_document", "payment_already_returned"})
CHUNK = 5000
CASH_DISPOSITIONS = ("settled_automatically", "queued", "unmatched", "skipped", "refused")
ACTOR = "bank-statement"


@dataclass
class Line:
    """What became of one transaction of the statement."""

    entry: int
    key: str
    amount: str
    currency: str
    outcome: Outcome
    customer_id: str | None = None
    transaction_id: str | None = None
    reason: str | None = None
    evidence: list[str] = field(default_factory=list)
    cash: str | None = None
    """What cash application did with the payment (see `arrears.ledger.cash.Applied`)."""
    confidence: str | None = None
    proposal_id: str | None = None


Batch = list[tuple[StatementEntry, BankTransaction, Line]]
"""Transactions of a statement with the entry they belong to and their report line."""


@dataclass
class StatementReport:
    import_id: str
    company: str
    statement_id: str
    account: str
    kind: str
    version: str
    entries: int = 0
    opening: str | None = None
    closing: str | None = None
    difference: str | None = None
    forced: bool = False
    lines: list[Line] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    def applied(self, disposition: str) -> int:
        return sum(1 for line in self.lines if line.cash == disposition)

    def as_dict(self, *, brief: bool = False) -> dict[str, Any]:
        """The report; `brief` keeps only the lines of transactions refused or unidentified
        (what the stored report holds: the rest are events)."""
        counts = {
            name: self.count(name)
            for name in ("payment", "return", "present", "unidentified", "refused")
        }
        cash = {name: self.applied(name) for name in CASH_DISPOSITIONS}
        report = asdict(self) | {
            "counts": counts,
            "cash_application": cash,
            "transactions": len(self.lines),
        }
        if brief:
            kept = ("refused", "unidentified")
            report["lines"] = [line for line in report["lines"] if line["outcome"] in kept]
        return report

    def text(self) -> str:
        rows = [
            f"{self.kind}.{self.version} statement {self.statement_id} on {self.account}: "
            f"{self.entries} entries, {len(self.lines)} transactions",
            f"  payments received  {self.count('payment'):>7,}",
            f"  returns (NSF)      {self.count('return'):>7,}",
            f"  already present    {self.count('present'):>7,}",
            f"  unidentified       {self.count('unidentified'):>7,}",
            f"  refused            {self.count('refused'):>7,}",
            "  cash application:",
            f"    settled automatically {self.applied('settled_automatically'):>7,}",
            f"    proposed (queued)     {self.applied('queued'):>7,}",
            f"    unmatched (queued)    {self.applied('unmatched'):>7,}",
        ]
        if self.forced:
            rows.append(f"  imported although its balances are off by {self.difference}")
        for line in self.lines:
            if line.outcome in ("refused", "unidentified"):
                rows.append(
                    f"  entry {line.entry} {line.amount} {line.currency} ({line.key}): "
                    f"{line.outcome}: {line.reason}"
                )
        rows.append(f"  import           {self.import_id}")
        return "\n".join(rows)


def check_balances(statements: Sequence[Statement], *, force: bool) -> None:
    """Refuse a statement whose opening balance plus its booked entries is not its closing
    balance, unless forced."""
    for statement in statements:
        if statement.reconciles or force:
            continue
        opening, closing = statement.opening, statement.closing
        assert opening is not None and closing is not None
        raise StatementRefused(
            "unreconciled_statement",
            f"statement {statement.statement_id}: opening balance {opening.amount} "
            f"{opening.currency} plus booked entries {statement.movement} is "
            f"{opening.amount + statement.movement}, but the closing balance is "
            f"{closing.amount} (off by {-(statement.difference or 0)}); nothing was imported "
            "(import it with force to take its entries anyway)",
        )


def read_document(source: IO[bytes], *, force: bool = False) -> list[Statement]:
    """The statements of a camt.053/.054 document, checked; raises StatementRefused for a
    document that is not one or a statement that does not reconcile (unless forced)."""
    statements = read_statements(source)
    check_balances(statements, force=force)
    return statements


async def import_statements(
    ledger: Ledger,
    statements: Sequence[Statement],
    *,
    company: str,
    force: bool = False,
    actor: str = ACTOR,
    policies: Policies | None = None,
) -> list[StatementReport]:
    """Import statements read by `read_document`, one after the other, and apply the cash
    of the payments they brought (with `policies`, the defaults when absent)."""
    check_balances(statements, force=force)
    return [
        await import_statement(
            ledger,
            statement,
            company=company,
            force=force,
            actor=actor,
            policies=policies or Policies(),
        )
        for statement in statements
    ]


async def import_statement(
    ledger: Ledger,
    statement: Statement,
    *,
    company: str,
    force: bool,
    actor: str,
    policies: Policies,
) -> StatementReport:
    report = StatementReport(
        import_id=f"STM-{uuid7().hex}",
        company=company,
        statement_id=statement.statement_id,
        account=statement.account,
        kind=statement.kind,
        version=statement.version,
        entries=len(statement.entries),
        opening=_text(statement.opening.amount if statement.opening else None),
        closing=_text(statement.closing.amount if statement.closing else None),
        difference=_text(statement.difference),
        forced=force and not statement.reconciles,
    )
    credits: Batch = []
    returns: Batch = []
    for entry in statement.entries:
        for tx in entry.transactions:
            line = Line(entry.number, tx.key, decimal_text(tx.amount), tx.currency, "refused")
            report.lines.append(line)
            kind, reason = _classify(entry, tx)
            if kind == "credit":
                credits.append((entry, tx, line))
            elif kind == "return":
                returns.append((entry, tx, line))
            else:
                line.reason = reason
    for start in range(0, len(credits), CHUNK):
        requests = await _receive(ledger, statement, company, credits[start : start + CHUNK], actor)
        await _apply(ledger, requests, policies)
    for start in range(0, len(returns), CHUNK):
        await _return(ledger, statement, company, returns[start : start + CHUNK], actor)
    async with ledger.engine.begin() as conn:
        await store.record_import(
            conn,
            report.import_id,
            company,
            statement.statement_id,
            ledger.clock.now(),
            report.as_dict(brief=True),
        )
    return report


def _text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def _classify(entry: StatementEntry, tx: BankTransaction) -> tuple[str, str]:
    if entry.problem is not None:
        return "refused", f"the entry cannot be read: {entry.problem}"
    if not entry.booked:
        return "refused", f"the entry is not booked (status {entry.status or 'missing'})"
    if entry.booking_date is None and entry.value_date is None:
        return "refused", "the entry has neither a booking date nor a value date"
    if entry.credit and not entry.reversal:
        return "credit", ""
    if not entry.credit and (entry.reversal or tx.return_reason is not None):
        return "return", ""
    if entry.credit:
        return "refused", "a reversed debit is not a customer payment"
    return "refused", "a debit that returns no payment is not a customer payment"


def _clip(text: str | None, length: int) -> str | None:
    return text[:length] if text else None


def _day(entry: StatementEntry) -> date:
    """The entry's booking date, else its value date (an entry has one: `_classify`)."""
    day = entry.booking_date or entry.value_date
    assert day is not None
    return day


async def _receive(
    ledger: Ledger,
    statement: Statement,
    company: str,
    batch: Batch,
    actor: str,
) -> list[tuple[Line, CashRequest]]:
    """Identify the customers of a chunk of credits, receive their payments in one bulk
    append, and keep every credit as a bank receipt; what cash application is to apply."""
    found = {tx.key: clues(tx) for _, tx, _ in batch}
    async with ledger.engine.connect() as conn:
        known = await store.receipts(conn, company, [tx.key for _, tx, _ in batch])
        identifications = await _identify(conn, company, batch, found)
    items: list[BulkItem] = []
    requests: list[tuple[BankTransaction, Line, Identification]] = []
    receipts: list[store.Receipt] = []
    for entry, tx, line in batch:
        seen = known.get(tx.key)
        if seen is not None and seen.transaction_id is not None:
            line.outcome, line.reason = "present", "imported before"
            line.customer_id, line.transaction_id = seen.customer_id, seen.transaction_id
            continue
        identification = identifications[tx.key]
        line.evidence = list(identification.evidence)
        if identification.customer_id is None:
            line.outcome = "unidentified"
            line.reason = f"no customer identified: {identification.reason}"
            receipts.append(_receipt(company, statement, entry, tx, None, None))
            continue
        line.customer_id = identification.customer_id
        command: Command = ReceivePayment(
            company=company,
            customer_id=identification.customer_id,
            payment_date=entry.value_date or _day(entry),
            posting_date=_day(entry),
            amount=tx.amount,
            currency=tx.currency,
            document_number=tx.key,
            method_of_payment=(entry.bank_transaction_code or "BANK")[:50],
            payment_reference=_clip(tx.end_to_end_id or tx.instruction_id or entry.reference, 100),
            bank_account=statement.account[:50],
            remittance_info=tx.remittance_text[:1000] or None,
        )
        items.append(BulkItem.of(command))
        requests.append((tx, line, identification))
    result = await ledger.append_many(items, actor=actor)
    learned: dict[str, str] = {}
    present: list[tuple[BankTransaction, Line]] = []
    for index, (tx, line, identification) in enumerate(requests):
        if index in result.rejections:
            problem = result.rejections[index]
            if problem.code in PRESENT_CODES:
                present.append((tx, line))
            else:
                line.outcome, line.reason = "refused", f"{problem.code}: {problem.detail}"
            continue
        event = result.outcomes[index].events[0]
        line.outcome = "payment"
        line.transaction_id = str(event.data.transaction_id)
        if tx.payer_iban and identification.level in ("reference", "remittance text"):
            learned[tx.payer_iban] = identification.customer_id or ""
    async with ledger.engine.begin() as conn:
        for tx, line in present:
            holder = await ledger_store.find_document(conn, company, "payment", tx.key)
            line.outcome, line.reason = "present", "imported before"
            if holder is not None:
                line.customer_id, line.transaction_id = holder
        by_key = {tx.key: (entry, tx) for entry, tx, _ in batch}
        for line in [*(line for _, line, _ in requests), *(line for _, line in present)]:
            if line.transaction_id is not None and line.customer_id is not None:
                entry, tx = by_key[line.key]
                receipts.append(
                    _receipt(company, statement, entry, tx, line.customer_id, line.transaction_id)
                )
        await store.record_receipts(conn, receipts, ledger.clock.now())
        await store.learn_payers(conn, company, learned, ledger.clock.now())
    return [
        (line, _cash_request(company, line, found[tx.key], identification))
        for tx, line, identification in requests
        if line.outcome == "payment"
    ]


def _cash_request(
    company: str, line: Line, found: Clues, identification: Identification
) -> CashRequest:
    assert line.customer_id is not None and line.transaction_id is not None
    by_documents = identification.level in ("reference", "remittance text")
    return CashRequest(
        company,
        line.customer_id,
        line.transaction_id,
        Clue(
            referenced=found.references,
            rf_references=found.rf_references,
            mentioned=found.words,
            identified_by=() if by_documents else identification.evidence,
        ),
    )


async def _apply(
    ledger: Ledger, requests: list[tuple[Line, CashRequest]], policies: Policies
) -> None:
    applied = await apply_cash(ledger, [request for _, request in requests], policies)
    for (line, _), outcome in zip(requests, applied, strict=True):
        line.cash = outcome.disposition
        line.proposal_id = outcome.proposal_id
        line.confidence = None if outcome.confidence is None else str(outcome.confidence)
        if outcome.evidence:
            line.evidence = list(outcome.evidence)
        if outcome.reason:
            line.reason = outcome.reason


def _receipt(
    company: str,
    statement: Statement,
    entry: StatementEntry,
    tx: BankTransaction,
    customer_id: str | None,
    transaction_id: str | None,
) -> store.Receipt:
    return store.Receipt(
        company=company,
        bank_key=tx.key,
        account=statement.account,
        statement_id=statement.statement_id,
        booking_date=_day(entry),
        amount=tx.amount,
        currency=tx.currency,
        end_to_end_id=tx.end_to_end_id,
        payer_name=tx.payer_name,
        payer_iban=tx.payer_iban,
        remittance=tx.remittance_text,
        customer_id=customer_id,
        transaction_id=transaction_id,
    )


async def _identify(
    conn: Any,
    company: str,
    batch: Batch,
    found: dict[str, Clues],
) -> dict[str, Identification]:
    """Each credit's customer, with the chunk's lookups done in one query each."""
    numbers = {n for c in found.values() for n in (*c.references, *c.words)}
    inner = {r for c in found.values() for r in c.rf_references}
    holders = await store.document_holders(conn, company, sorted(numbers))
    rf_holders = await store.normalized_holders(conn, company, sorted(inner))
    words = {w for c in found.values() for w in c.words}
    customers = await store.registered_among(conn, company, sorted(words))
    ibans = sorted({tx.payer_iban for _, tx, _ in batch if tx.payer_iban})
    payers = await store.payers(conn, company, ibans)
    return {
        tx.key: identify(tx, found[tx.key], holders, rf_holders, customers, payers)
        for _, tx, _ in batch
    }


async def _return(
    ledger: Ledger,
    statement: Statement,
    company: str,
    batch: Batch,
    actor: str,
) -> None:
    """Returned payments: each the NSF return of the payment the bank received with the same
    end-to-end id (and amount)."""
    ids = [tx.end_to_end_id for _, tx, _ in batch if tx.end_to_end_id]
    async with ledger.engine.connect() as conn:
        paid = await store.paid_receipts(conn, company, ids)
    items: list[BulkItem] = []
    lines: list[Line] = []
    for entry, tx, line in batch:
        if tx.end_to_end_id is None:
            line.reason = "a returned payment without an end-to-end id names no payment"
            continue
        candidates = [r for r in paid.get(tx.end_to_end_id, []) if r.amount == tx.amount]
        if len(candidates) != 1:
            line.reason = (
                f"no payment of {decimal_text(tx.amount)} {tx.currency} with end-to-end id "
                f"{tx.end_to_end_id} was received"
                if not candidates
                else f"several payments have end-to-end id {tx.end_to_end_id}"
            )
            continue
        original = candidates[0]
        assert original.customer_id is not None and original.transaction_id is not None
        line.customer_id, line.transaction_id = original.customer_id, original.transaction_id
        items.append(
            BulkItem.of(
                ReturnPaymentNsf(
                    company=company,
                    customer_id=original.customer_id,
                    payment_transaction_id=original.transaction_id,
                    posting_date=_day(entry),
                    bank_reason_code=_clip(tx.return_reason, 20),
                    note=f"Returned by the bank: statement {statement.statement_id}, "
                    f"entry {entry.number} ({tx.key})",
                )
            )
        )
        lines.append(line)
    result = await ledger.append_many(items, actor=actor)
    for index, line in enumerate(lines):
        problem = result.rejections.get(index)
        if problem is None:
            line.outcome = "return"
        elif problem.code in PRESENT_CODES:
            line.outcome, line.reason = "present", "returned before"
        else:
            line.reason = f"{problem.code}: {problem.detail}"


@dataclass(frozen=True)
class Assigned:
    """An unidentified receipt named to its customer: its payment and what cash application
    did with it."""

    bank_key: str
    customer_id: str
    transaction_id: str
    cash: str
    proposal_id: str | None


async def assign_receipt(
    ledger: Ledger,
    company: str,
    bank_key: str,
    customer_id: str,
    *,
    actor: str,
    policies: Policies,
) -> Assigned:
    """Receive an unidentified receipt as a payment of `customer_id` (an agent named it),
    learn its payer account, and apply its cash; refused (a Problem) when there is no such
    receipt, it has its customer already, or the ledger refuses the payment."""
    async with ledger.engine.connect() as conn:
        receipt = (await store.receipts(conn, company, [bank_key])).get(bank_key)
    if receipt is None:
        raise Problem(404, "unknown_receipt", f"no bank receipt {bank_key} in {company}")
    if receipt.transaction_id is not None:
        raise Problem(
            409,
            "receipt_identified",
            f"bank receipt {bank_key} is payment {receipt.transaction_id} of "
            f"{receipt.customer_id} already",
        )
    outcome = await ledger.execute(
        ReceivePayment(
            company=company,
            customer_id=customer_id,
            payment_date=receipt.booking_date,
            amount=receipt.amount,
            currency=receipt.currency,
            document_number=bank_key,
            method_of_payment="BANK",
            payment_reference=_clip(receipt.end_to_end_id, 100),
            bank_account=receipt.account[:50],
            remittance_info=receipt.remittance[:1000] or None,
        ),
        actor=actor,
    )
    transaction_id = str(outcome.events[0].data.transaction_id)
    now = ledger.clock.now()
    async with ledger.engine.begin() as conn:
        named = replace(receipt, customer_id=customer_id, transaction_id=transaction_id)
        await store.record_receipts(conn, [named], now)
        if receipt.payer_iban:
            await store.learn_payers(conn, company, {receipt.payer_iban: customer_id}, now)
    found = clues_of((), (), receipt.remittance)
    clue = Clue(found.references, found.rf_references, found.words)
    (applied,) = await apply_cash(
        ledger, [CashRequest(company, customer_id, transaction_id, clue)], policies
    )
    return Assigned(bank_key, customer_id, transaction_id, applied.disposition, applied.proposal_id)
