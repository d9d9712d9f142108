"""The system's batch jobs, per customer: the daily promise rollover (promises past their
deadline judged kept or broken), the weekly letter run on Mondays (`LETTER_SEQUENCE`), and
the month-end write-off of small residues left by partial payments."""

from __future__ import annotations

from decimal import Decimal

from arrears.demo import agents
from arrears.demo.customers import ACCOUNTING_CURRENCY
from arrears.demo.plan import LETTER_SEQUENCE
from arrears.demo.simulation import Day
from arrears.demo.units import month_end
from arrears.ledger.domain import (
    CreateCollectionLetter,
    EvaluatePromises,
    WriteOffSelection,
    WriteOffTransactions,
)
from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as lt
from arrears.shared.events import payments as pm

SMALL_BALANCE = Decimal("25.00")
"""The largest open amount the month-end job writes off (when it is at most 5% of the
invoice and the invoice is over 30 days old)."""


def routine(d: Day) -> None:
    promises = d.account.promises
    if any(deadline < d.day for deadline in promises.values()):
        for txn_id in [t for t, deadline in promises.items() if deadline < d.day]:
            del promises[txn_id]
        changes = d.emit(
            EvaluatePromises(company=d.company, customer_id=d.spec.customer_id, as_of=d.day),
            "system",
        )
        for change in changes:
            if isinstance(change.data, iv.PromiseToPayBrokenData):
                agents.promise_reaction(d, change.data)
    if d.day.weekday() == 0 and not d.account.written_off:
        rates = {} if d.spec.currency == ACCOUNTING_CURRENCY else {"EUR": d.sim.rate(d.day)}
        letters = d.emit(
            CreateCollectionLetter(
                company=d.company,
                customer_id=d.spec.customer_id,
                as_of=d.day,
                letter_sequence_id=LETTER_SEQUENCE.id,
                exchange_rates=rates,
            ),
            "letter-run",
        )
        for change in letters:
            assert isinstance(change.data, lt.CollectionLetterPostedData)
            agents.letter_reaction(d, change.data)
    if d.day == month_end(d.day.year, d.day.month):
        _small_balances(d)


def _small_balances(d: Day) -> None:
    """Month-end write-off of small residues left by partial payments."""
    reserved = d.account.reserved
    residues = [
        t
        for t in d.state.open_transactions()
        if t.kind == "invoice"
        and t.transaction_id not in reserved
        and t.collection_status is not iv.CollectionStatus.DISPUTED
        and t.promise is None
        and t.open_amount <= SMALL_BALANCE
        and t.open_amount * 20 <= t.amount
        and (d.day - t.posting_date).days > 30
    ]
    if not residues:
        return
    d.emit(
        WriteOffTransactions(
            company=d.company,
            customer_id=d.spec.customer_id,
            transactions=tuple(
                WriteOffSelection(transaction_id=t.transaction_id) for t in residues
            ),
            posting_date=d.day,
            reason_code="SMALL",
            note="Small residue left after partial payment.",
            write_off_account="618200",
            dimensions=(pm.Dimension(name="CostCenter", value="COLL"),),
            posting_profile="GEN",
        ),
        "system",
    )
