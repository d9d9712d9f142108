"""Cash application on generated statements against generated open items: references
present, partly present, only in free text, only the amount, split and combined payments,
over- and short payments, two customers with the same amount. Precision and the
straight-through rate are reported; nothing below the threshold is settled automatically,
and every automatic settlement is explained by its evidence."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from arrears.cli.ledger_access import open_ledger
from arrears.ledger.application import Ledger
from arrears.ledger.cash import Policies, Policy
from arrears.ledger.statements.importer import StatementReport, import_statements, read_document
from arrears.ledger.statements.references import make_rf
from arrears.shared.clock import FixedClock
from tests.conftest import unique_name
from tests.integration.ledger.conftest import NOW, LedgerHarness, envelopes, invoice, register
from tests.unit.ledger.camt_samples import credit_entry, statement_xml

pytestmark = pytest.mark.integration

COMPANY = "usmf"
THRESHOLD = Decimal("0.9")


@pytest.fixture
async def ledger(postgres_url: str) -> AsyncIterator[Ledger]:
    async with open_ledger(
        postgres_url, schema=unique_name("cash"), clock=FixedClock(NOW)
    ) as ledger:
        yield ledger


@dataclass
class Case:
    kind: str
    entry: dict[str, object]
    expected: dict[str, Decimal]
    """Invoice number -> amount the payment should settle."""


async def post(ledger: Ledger, customer_id: str, invoices: dict[str, Decimal]) -> None:
    await register(ledger, customer_id)
    for number, amount in invoices.items():
        await invoice(ledger, customer_id, number, str(amount))


def iban(n: int) -> str:
    return f"DE{n:02d}500105170000000{n:03d}"


async def generated(ledger: Ledger, seed: int = 7) -> tuple[list[Case], list[Case]]:
    """Customers with open invoices and two statements paying them in every way: the first
    teaches the payers' accounts, the second relies on them."""
    rng = random.Random(seed)
    first: list[Case] = []
    second: list[Case] = []
    kinds = ["reference", "rf", "text", "partial", "combined", "split", "over", "short",
             "amount_only", "combination_only"]  # fmt: skip
    for n, kind in enumerate(kinds * 3):
        customer = f"G{n:03d}"
        amounts = [Decimal(rng.randrange(5_000, 500_000)) / 100 for _ in range(3)]
        numbers = [f"INV-{n:03d}-{i}" for i in range(3)]
        await post(ledger, customer, dict(zip(numbers, amounts, strict=True)))
        a, b, c = amounts
        key = f"K{n:03d}"
        payer = iban(n)
        if kind == "reference":
            first.append(Case(kind, credit_entry(key, str(a), ref=numbers[0], iban=payer),
                              {numbers[0]: a}))  # fmt: skip
        elif kind == "rf":
            ref = make_rf(numbers[1].replace("-", ""))
            first.append(Case(kind, credit_entry(key, str(b), ref=ref, iban=payer),
                              {numbers[1]: b}))  # fmt: skip
        elif kind == "text":
            first.append(Case(kind, credit_entry(key, str(c), text=f"Payment {numbers[2]} thanks",
                                                 iban=payer), {numbers[2]: c}))  # fmt: skip
        elif kind == "partial":  # pays three, names two
            text = f"Invoices {numbers[0]} {numbers[1]}"
            first.append(Case(kind, credit_entry(key, str(a + b + c), text=text, iban=payer),
                              {numbers[0]: a, numbers[1]: b, numbers[2]: c}))  # fmt: skip
        elif kind == "combined":
            text = f"{numbers[0]}, {numbers[2]}"
            first.append(Case(kind, credit_entry(key, str(a + c), text=text, iban=payer),
                              {numbers[0]: a, numbers[2]: c}))  # fmt: skip
        elif kind == "split":  # two payments of one invoice
            half = (a / 2).quantize(Decimal("0.01"))
            first.append(Case(kind, credit_entry(key + "a", str(half), ref=numbers[0], iban=payer),
                              {numbers[0]: half}))  # fmt: skip
            second.append(Case(kind, credit_entry(key + "b", str(a - half), ref=numbers[0],
                                                  iban=payer), {numbers[0]: a - half}))  # fmt: skip
        elif kind == "over":
            first.append(Case(kind, credit_entry(key, str(b + 10), ref=numbers[1], iban=payer),
                              {numbers[1]: b}))  # fmt: skip
        elif kind == "short":
            first.append(Case(kind, credit_entry(key, str(b - 10), ref=numbers[1], iban=payer),
                              {numbers[1]: b - 10}))  # fmt: skip
        elif kind == "amount_only":  # teach the account first, then pay by amount alone
            first.append(Case("reference", credit_entry(key + "t", str(a), ref=numbers[0],
                                                        iban=payer), {numbers[0]: a}))  # fmt: skip
            second.append(Case(kind, credit_entry(key, str(c), text="thank you", iban=payer),
                               {numbers[2]: c}))  # fmt: skip
        elif kind == "combination_only":
            first.append(Case("reference", credit_entry(key + "t", str(c), ref=numbers[2],
                                                        iban=payer), {numbers[2]: c}))  # fmt: skip
            both = {numbers[0]: a, numbers[1]: b}
            second.append(Case(kind, credit_entry(key, str(a + b), text="invoices", iban=payer),
                               both))  # fmt: skip
    # Two customers owe the same amount; a payment naming neither is not given to either.
    await post(ledger, "TWIN-1", {"TW-1": Decimal("500.00")})
    await post(ledger, "TWIN-2", {"TW-2": Decimal("500.00")})
    second.append(Case("same_amount", credit_entry("TWIN", "500.00", text="payment"), {}))
    return first, second


async def run(ledger: Ledger, cases: list[Case], statement_id: str) -> StatementReport:
    xml = statement_xml([c.entry for c in cases], statement_id=statement_id)
    statements = read_document(io.BytesIO(xml))
    policies = Policies(Policy(threshold=THRESHOLD))
    (report,) = await import_statements(ledger, statements, company=COMPANY, policies=policies)
    return report


async def test_matching_precision_and_straight_through_rate(ledger: Ledger) -> None:
    first, second = await generated(ledger)
    reports = [await run(ledger, first, "GEN-1"), await run(ledger, second, "GEN-2")]
    proposals = {
        e["data"]["payment_transaction_id"]: e["data"]
        for e in await envelopes(ledger, "PaymentAllocationProposed")
    }
    settled = {
        e["data"]["paying_transaction_id"]: e for e in await envelopes(ledger, "PaymentSettled")
    }
    by_kind: dict[str, list[tuple[bool, bool]]] = {}
    for report, cases in zip(reports, (first, second), strict=True):
        for line, case in zip(report.lines, cases, strict=True):
            if case.kind == "same_amount":
                assert line.outcome == "unidentified", line
                assert line.reason is not None and "no customer identified" in line.reason
                continue
            assert line.outcome == "payment", (case.kind, line)
            proposal = proposals[line.transaction_id]
            got = {
                a["document_number"]: Decimal(a["amount"]["amount"])
                for a in proposal["allocations"]
            }
            correct = got == case.expected
            automatic = proposal["disposition"] == "settle_automatically"
            by_kind.setdefault(case.kind, []).append((correct, automatic))
            assert Decimal(proposal["confidence"]) >= THRESHOLD or not automatic
            assert proposal["evidence"], "every proposal says why"
            if automatic:
                # Settled at once, exactly as proposed, explained by a named document.
                assert correct, (case.kind, proposal)
                assert any("referenced" in e or "named" in e for e in proposal["evidence"])
                done = settled[line.transaction_id]
                assert done["actor"] == "cash-application"
                assert {a["document_number"] for a in done["data"]["allocations"]} == set(got)
            else:
                assert line.transaction_id not in settled
    rows = []
    for kind, results in sorted(by_kind.items()):
        proposed = len(results)
        right = sum(1 for correct, _ in results if correct)
        auto = sum(1 for _, automatic in results if automatic)
        rows.append(f"{kind:<17} {proposed:>3} payments  precision {right / proposed:5.0%}  "
                    f"straight through {auto / proposed:5.0%}")  # fmt: skip
    total = [r for results in by_kind.values() for r in results]
    precision = sum(1 for c, _ in total if c) / len(total)
    through = sum(1 for _, a in total if a) / len(total)
    print("\n".join(["", *rows, f"all: precision {precision:.0%}, straight through {through:.0%}"]))
    # What the rules promise, kind by kind.
    assert all(a and c for c, a in by_kind["reference"] + by_kind["rf"] + by_kind["text"])
    assert all(a and c for c, a in by_kind["combined"])
    for kind in ("partial", "split", "over", "short", "amount_only", "combination_only"):
        assert not any(a for _, a in by_kind[kind]), kind
    assert all(c for c, _ in by_kind["over"] + by_kind["short"] + by_kind["amount_only"])
    assert all(c for c, _ in by_kind["combination_only"] + by_kind["partial"])
    assert precision >= 0.8 and 0.3 <= through < 1


async def test_agents_accept_edit_and_reject_from_the_queue(ledger_http: LedgerHarness) -> None:
    client = ledger_http.client
    company = ledger_http.company
    await ledger_http.register("Q-1")
    await ledger_http.invoice("Q-1", "INV-Q1", "300.00")
    await ledger_http.invoice("Q-1", "INV-Q2", "200.00")
    xml = statement_xml(
        [
            credit_entry("Q-A", "250.00", currency="USD", ref="INV-Q1"),  # short: queued
            credit_entry("Q-B", "200.00", currency="USD", ref="INV-Q2"),  # exact: settled
        ],
        currency="USD",
    )
    response = await client.post(
        f"/v1/companies/{company}/statements",
        content=xml,
        headers={"content-type": "application/xml"},
    )
    assert response.status_code == 201, response.text
    (report,) = response.json()["statements"]
    assert report["cash_application"]["settled_automatically"] == 1
    assert report["cash_application"]["queued"] == 1

    queue = (await client.get(f"/v1/companies/{company}/unapplied-cash")).json()["proposals"]
    (waiting,) = queue
    assert waiting["customer_id"] == "Q-1"
    assert waiting["payment"]["amount"] == {"amount": "250.00", "currency": "USD"}
    assert [a["document_number"] for a in waiting["allocations"]] == ["INV-Q1"]
    assert waiting["confidence"] == "0.72"
    assert any("short by 50.00 USD" in e for e in waiting["evidence"])

    proposal = waiting["proposal_id"]
    base = ledger_http.url("Q-1", f"/cash-proposals/{proposal}")
    unknown = await client.post(ledger_http.url("Q-1", "/cash-proposals/PRP-x/reject"),
                                json={"reason": "no"})  # fmt: skip
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_proposal"
    invoices = {e.data.document_number: e.data.transaction_id  # type: ignore[attr-defined]
                for e in await ledger_http.stream("Q-1") if e.type == "InvoicePosted"}  # fmt: skip
    too_much = await client.post(base + "/accept", json={
        "allocations": [{"transaction_id": invoices["INV-Q1"], "amount": "260.00"}]})  # fmt: skip
    assert too_much.status_code == 422 and too_much.json()["code"] == "over_settlement"
    accepted = await client.post(
        base + "/accept",
        json={"allocations": [{"transaction_id": invoices["INV-Q1"], "amount": "250.00"}],
              "note": "the customer deducted a discount"},
        headers={"X-Arrears-Actor": "anna"},
    )  # fmt: skip
    assert accepted.status_code == 201, accepted.text
    types = [e["type"] for e in accepted.json()["events"]]
    assert types == ["PaymentSettled", "PaymentAllocationAccepted"]
    assert accepted.json()["events"][1]["data"]["edited"] is False
    assert accepted.json()["events"][1]["actor"] == "anna"
    again = await client.post(base + "/reject", json={"reason": "late"})
    assert again.status_code == 409 and again.json()["code"] == "proposal_closed"
    assert (await client.get(f"/v1/companies/{company}/unapplied-cash")).json()["proposals"] == []

    # A payment naming nothing of the customer's open items: rejected by the agent.
    await ledger_http.invoice("Q-1", "INV-Q3", "90.00")
    xml = statement_xml(
        [credit_entry("Q-C", "45.00", currency="USD", text="INV-Q3 first half")],
        currency="USD",
        statement_id="STMT-2",
    )
    await client.post(f"/v1/companies/{company}/statements", content=xml,
                      headers={"content-type": "application/xml"})  # fmt: skip
    (waiting,) = (await client.get(f"/v1/companies/{company}/unapplied-cash")).json()["proposals"]
    rejected = await client.post(
        ledger_http.url("Q-1", f"/cash-proposals/{waiting['proposal_id']}/reject"),
        json={"reason": "the customer asked to hold it as a deposit"},
    )
    assert rejected.status_code == 201
    assert rejected.json()["events"][0]["type"] == "PaymentAllocationRejected"
    assert (await client.get(f"/v1/companies/{company}/unapplied-cash")).json()["proposals"] == []

    rates = (await client.get(f"/v1/companies/{company}/cash-application/rates")).json()
    assert (rates["proposed"], rates["settled_automatically"]) == (3, 1)
    assert rates["straight_through_rate"] == "0.3333"
    assert [d["day"] for d in rates["days"]] == [NOW.date().isoformat()]


async def test_payments_received_by_any_route_are_applied_by_a_run(
    ledger_http: LedgerHarness,
) -> None:
    client = ledger_http.client
    await ledger_http.register("R-1")
    await ledger_http.invoice("R-1", "INV-R1", "120.00")
    await ledger_http.invoice("R-1", "INV-R2", "80.00")

    async def pay(amount: str, remittance: str) -> str:
        body = {"payment_date": "2026-06-01", "amount": amount, "remittance_info": remittance}
        response = await client.post(ledger_http.url("R-1", "/payments"), json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["events"][0]["data"]["transaction_id"])

    named = await pay("120.00", "Invoice inv-r1 is INV-R1")
    by_amount = await pay("80.00", "June")
    returned = await pay("5.00", "INV-R2")
    nsf = await client.post(ledger_http.url("R-1", f"/payments/{returned}/nsf"), json={})
    assert nsf.status_code == 201
    run = f"/v1/companies/{ledger_http.company}/cash-application:run"
    first = (await client.post(run)).json()
    assert (first["payments"], first["settled_automatically"], first["queued"]) == (2, 1, 1)
    proposals = {
        e.data.payment_transaction_id: e.data  # type: ignore[attr-defined]
        for e in await ledger_http.stream("R-1")
        if e.type == "PaymentAllocationProposed"
    }
    assert set(proposals) == {named, by_amount}
    assert proposals[named].disposition == "settle_automatically"
    assert proposals[by_amount].confidence == Decimal("0.75")
    again = (await client.post(run)).json()
    assert again == {"company": ledger_http.company, "payments": 0}
