"""ISO 20022 bank-to-customer statements (camt.053) and notifications (camt.054), versions
.001.02 to .001.08, read into plain values: the statement's account and balances, and every
entry with the transactions it is made of.

Reading is safe by construction (`arrears.ledger.safe_xml`: no DTD, no entities, no network,
lxml's limits kept), and the file is read in one pass with every entry's elements dropped once
read, so memory grows with the number of entries,
not with the size of their XML. Anything else is refused with the element and the reason.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Literal

from lxml import etree

from arrears.ledger.safe_xml import PARSER_OPTIONS, XmlRefused, refuse_dtd

NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.(053|054)\.001\.(0[2-8])$")
CONTAINERS = {"053": ("BkToCstmrStmt", "Stmt"), "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}
OPENING_CODES = ("OPBD", "PRCD")
CLOSING_CODES = ("CLBD",)
NOT_PROVIDED = "NOTPROVIDED"
MAX_KEY = 64
AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,5})?$")
CURRENCY = re.compile(r"^[A-Z]{3}$")

Kind = Literal["camt.053", "camt.054"]


class StatementRefused(XmlRefused):
    """The file is not a statement this reader accepts; nothing of it is imported."""


@dataclass(frozen=True)
class BankTransaction:
    """One payment inside an entry (a batch entry holds several)."""

    key: str
    """The bank's identity of it, the same in every statement that carries it: the entry's
    servicer reference (with the transaction's position in a batch), else a digest of what
    identifies it."""
    amount: Decimal
    currency: str
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    mandate_id: str | None = None
    creditor_references: tuple[str, ...] = ()
    """Structured creditor references (ISO 11649 RF, or national formats), as given."""
    document_numbers: tuple[str, ...] = ()
    """Referred document numbers given in structured remittance information."""
    remittance_text: str = ""
    """Unstructured remittance information and additional transaction information."""
    payer_name: str | None = None
    payer_iban: str | None = None
    return_reason: str | None = None


@dataclass(frozen=True)
class StatementEntry:
    number: int
    """Position in the statement, from 1."""
    amount: Decimal
    currency: str
    credit: bool
    reversal: bool
    status: str
    booking_date: date | None
    value_date: date | None
    reference: str | None
    """The account servicer's reference of the entry, if given."""
    bank_transaction_code: str | None
    transactions: tuple[BankTransaction, ...]
    problem: str | None = None
    """Why the entry cannot be read as payments (the entry is then reported, not imported)."""

    @property
    def booked(self) -> bool:
        return self.status == "BOOK"

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.credit else -self.amount


@dataclass(frozen=True)
class Balance:
    code: str
    amount: Decimal
    """Signed: negative when the balance is a debit."""
    currency: str
    on: date | None


@dataclass
class Statement:
    kind: Kind
    version: str
    message_id: str
    statement_id: str
    account: str
    """The company's account: its IBAN, or the other identification given."""
    currency: str | None
    balances: list[Balance] = field(default_factory=list)
    entries: list[StatementEntry] = field(default_factory=list)

    @property
    def opening(self) -> Balance | None:
        return _balance(self.balances, OPENING_CODES)

    @property
    def closing(self) -> Balance | None:
        return _balance(self.balances, CLOSING_CODES)

    @property
    def movement(self) -> Decimal:
        """Booked credits minus booked debits."""
        return sum((e.signed_amount for e in self.entries if e.booked), Decimal(0))

    @property
    def difference(self) -> Decimal | None:
        """Closing balance minus (opening balance plus movement); None without both
        balances (a notification has none)."""
        opening, closing = self.opening, self.closing
        if opening is None or closing is None:
            return None
        return closing.amount - (opening.amount + self.movement)

    @property
    def reconciles(self) -> bool:
        return self.difference in (None, Decimal(0))


def _balance(balances: list[Balance], codes: tuple[str, ...]) -> Balance | None:
    for code in codes:
        for balance in balances:
            if balance.code == code:
                return balance
    return None


# ---------------------------------------------------------------------------- reading


def read_statements(source: IO[bytes]) -> list[Statement]:
    """Every statement (or notification) of a camt.053/.054 document; raises
    StatementRefused for anything that is not one."""
    parser = etree.iterparse(source, events=("start", "end"), **PARSER_OPTIONS)
    statements: list[Statement] = []
    namespace = container = message_id = ""
    current: Statement | None = None
    depth = 0
    try:
        for event, element in parser:
            if event == "start":
                depth += 1
                if depth == 1:
                    namespace, container = _document(element)
                continue
            depth -= 1
            name = etree.QName(element).localname
            if depth == 2 and name == "GrpHdr":
                message_id = _Reader(element, namespace).text("MsgId") or ""
            elif depth == 3 and name in ("Bal", "Ntry"):
                if current is None:
                    current = _header(element.getparent(), namespace, message_id)
                if name == "Bal":
                    current.balances.append(_read_balance(element, namespace))
                else:
                    entry = _read_entry(element, namespace, len(current.entries) + 1, current)
                    current.entries.append(entry)
                _drop(element)
            elif depth == 2 and name == container:
                statements.append(current or _header(element, namespace, message_id))
                current = None
                _drop(element)
    except etree.XMLSyntaxError as error:
        raise StatementRefused("invalid_xml", f"not well-formed XML: {error}") from error
    if not statements:
        raise StatementRefused("no_statement", f"the document holds no <{container or 'Stmt'}>")
    return statements


def _document(root: etree._Element) -> tuple[str, str]:
    refuse_dtd(root)
    qname = etree.QName(root)
    match = NAMESPACE.match(qname.namespace or "")
    if qname.localname != "Document" or match is None:
        raise StatementRefused(
            "unsupported_document",
            f"root element {{{qname.namespace or ''}}}{qname.localname} is not a camt.053 or "
            "camt.054 Document of versions .001.02 to .001.08",
        )
    return qname.namespace or "", CONTAINERS[match.group(1)][1]


def _drop(element: etree._Element) -> None:
    """Free what was read: the element's content and the siblings before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


@functools.cache
def _qualified(namespace: str, path: str) -> str:
    return "/".join(f"{{{namespace}}}{step}" for step in path.split("/"))


class _Reader:
    """Namespaced child lookups on one element."""

    def __init__(self, element: etree._Element, namespace: str) -> None:
        self.element = element
        self.ns = namespace

    def _path(self, path: str) -> str:
        return _qualified(self.ns, path)

    def find(self, path: str) -> etree._Element | None:
        return self.element.find(self._path(path))

    def all(self, path: str) -> list[etree._Element]:
        return list(self.element.iterfind(self._path(path)))

    def text(self, path: str) -> str | None:
        found = self.find(path)
        if found is None or found.text is None:
            return None
        text = " ".join(found.text.split())
        return text or None

    def first(self, *paths: str) -> str | None:
        for path in paths:
            text = self.text(path)
            if text is not None:
                return text
        return None


def _where(element: etree._Element) -> str:
    return f"<{etree.QName(element).localname}> on line {element.sourceline}"


def _amount(element: etree._Element | None, context: etree._Element) -> tuple[Decimal, str]:
    if element is None:
        raise StatementRefused("missing_amount", f"{_where(context)} has no <Amt>")
    text = (element.text or "").strip()
    currency = element.get("Ccy") or ""
    if not AMOUNT.match(text):
        raise StatementRefused("invalid_amount", f"{_where(element)}: amount {text[:40]!r}")
    if not CURRENCY.match(currency):
        raise StatementRefused("invalid_currency", f"{_where(element)}: currency {currency!r}")
    try:
        return Decimal(text), currency
    except InvalidOperation as error:  # pragma: no cover - the pattern admits only decimals
        raise StatementRefused("invalid_amount", f"{_where(element)}: {text!r}") from error


def _date(reader: _Reader, path: str) -> date | None:
    text = reader.first(f"{path}/Dt", f"{path}/DtTm")
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as error:
        raise StatementRefused(
            "invalid_date", f"{_where(reader.element)}: {path} {text[:40]!r} is not a date"
        ) from error


def _header(element: etree._Element | None, namespace: str, message_id: str) -> Statement:
    assert element is not None
    reader = _Reader(element, namespace)
    statement_id = reader.text("Id")
    if statement_id is None:
        raise StatementRefused("missing_statement_id", f"{_where(element)} has no <Id>")
    account = reader.first("Acct/Id/IBAN", "Acct/Id/Othr/Id")
    if account is None:
        raise StatementRefused("missing_account", f"{_where(element)} names no account")
    match = NAMESPACE.match(namespace)
    assert match is not None
    kind: Kind = "camt.053" if match.group(1) == "053" else "camt.054"
    return Statement(
        kind=kind,
        version=f"001.{match.group(2)}",
        message_id=message_id or statement_id,
        statement_id=statement_id,
        account=account,
        currency=reader.text("Acct/Ccy"),
    )


def _read_balance(element: etree._Element, namespace: str) -> Balance:
    reader = _Reader(element, namespace)
    code = reader.first("Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry") or ""
    amount, currency = _amount(reader.find("Amt"), element)
    debit = reader.text("CdtDbtInd") == "DBIT"
    return Balance(code, -amount if debit else amount, currency, _date(reader, "Dt"))


def _read_entry(
    element: etree._Element, namespace: str, number: int, statement: Statement
) -> StatementEntry:
    reader = _Reader(element, namespace)
    amount, currency = _amount(reader.find("Amt"), element)
    indicator = reader.text("CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementRefused(
            "invalid_entry", f"{_where(element)}: credit/debit indicator {indicator!r}"
        )
    booking_date = _date(reader, "BookgDt")
    value_date = _date(reader, "ValDt")
    reference = reader.text("AcctSvcrRef")
    details = reader.all("NtryDtls/TxDtls")
    code = None
    family = reader.find("BkTxCd/Domn")
    if family is not None:
        parts = _Reader(family, namespace)
        code = "/".join(
            p for p in (parts.text("Cd"), parts.text("Fmly/Cd"), parts.text("Fmly/SubFmlyCd")) if p
        )
    identity = (statement.account, str(booking_date or value_date), str(amount), currency)
    transactions = tuple(
        _read_transaction(
            _Reader(tx, namespace), reference, index, len(details), identity, amount, currency
        )
        for index, tx in enumerate(details, start=1)
    ) or (
        BankTransaction(
            key=_key(reference, 1, 1, identity, reader.text("AddtlNtryInf") or ""),
            amount=amount,
            currency=currency,
            remittance_text=reader.text("AddtlNtryInf") or "",
        ),
    )
    problem = None
    total = sum((t.amount for t in transactions), Decimal(0))
    if total != amount:
        problem = f"its transactions add up to {total} {currency}, not {amount}"
    elif any(t.currency != currency for t in transactions):
        problem = "its transactions are in another currency than the entry"
    return StatementEntry(
        number=number,
        amount=amount,
        currency=currency,
        credit=indicator == "CRDT",
        reversal=reader.text("RvslInd") == "true",
        status=reader.first("Sts/Cd", "Sts/Prtry", "Sts") or "",
        booking_date=booking_date,
        value_date=value_date,
        reference=reference,
        bank_transaction_code=code,
        transactions=transactions,
        problem=problem,
    )


def _read_transaction(
    tx: _Reader,
    entry_reference: str | None,
    index: int,
    count: int,
    identity: tuple[str, ...],
    entry_amount: Decimal,
    entry_currency: str,
) -> BankTransaction:
    amount_element = tx.find("Amt")
    if amount_element is None:
        amount_element = tx.find("AmtDtls/TxAmt/Amt")
    if amount_element is None and count == 1:
        amount, currency = entry_amount, entry_currency
    else:
        amount, currency = _amount(amount_element, tx.element)
    end_to_end = tx.text("Refs/EndToEndId")
    if end_to_end == NOT_PROVIDED:
        end_to_end = None
    instruction = tx.text("Refs/InstrId")
    texts = [
        " ".join((u.text or "").split())
        for path in ("RmtInf/Ustrd", "RmtInf/Strd/AddtlRmtInf", "AddtlTxInf")
        for u in tx.all(path)
    ]
    remittance = " ".join(t for t in texts if t)[:1000]
    references = tuple(
        " ".join((r.text or "").split()) for r in tx.all("RmtInf/Strd/CdtrRefInf/Ref") if r.text
    )
    documents = tuple(
        " ".join((n.text or "").split()) for n in tx.all("RmtInf/Strd/RfrdDocInf/Nb") if n.text
    )
    digest_parts = (
        tx.text("Refs/AcctSvcrRef") or "",
        instruction or "",
        end_to_end or "",
        str(amount),
        remittance,
    )
    return BankTransaction(
        key=_key(entry_reference, index, count, identity, *digest_parts),
        amount=amount,
        currency=currency,
        end_to_end_id=end_to_end,
        instruction_id=instruction,
        mandate_id=tx.text("Refs/MndtId"),
        creditor_references=references,
        document_numbers=documents,
        remittance_text=remittance,
        payer_name=tx.first("RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm"),
        payer_iban=tx.first("RltdPties/DbtrAcct/Id/IBAN"),
        return_reason=tx.first("RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry"),
    )


def _key(
    entry_reference: str | None,
    index: int,
    count: int,
    identity: tuple[str, ...],
    *parts: str,
) -> str:
    """The transaction's identity: the entry's servicer reference (and the position in a
    batch) when the bank gives one, else a digest of the account, date, amount and the
    transaction's own references and text, which overlapping statements repeat alike."""
    if entry_reference:
        key = entry_reference if count == 1 else f"{entry_reference}/{index}"
        if len(key) <= MAX_KEY:
            return key
    digest = hashlib.sha256("\x1f".join((*identity, str(index), *parts)).encode()).hexdigest()
    return f"BANK-{digest[:32]}"


def transactions(statement: Statement) -> Iterator[tuple[StatementEntry, BankTransaction]]:
    for entry in statement.entries:
        for transaction in entry.transactions:
            yield entry, transaction
