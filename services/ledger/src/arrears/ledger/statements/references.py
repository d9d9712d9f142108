"""What a bank transaction says about who paid and what for: ISO 11649 creditor references,
document numbers and customer numbers in remittance text, and the customer they point to.
Pure: the lookups (documents, customers, payer accounts) are passed in."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from arrears.ledger.statements.camt import BankTransaction

RF = re.compile(r"RF\d{2}[A-Z0-9]{1,21}")
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.-]*[A-Za-z0-9]|[0-9]")
MAX_TOKENS = 40


def compact(text: str) -> str:
    return "".join(text.split()).upper()


def rf_is_valid(reference: str) -> bool:
    """An ISO 11649 creditor reference with a correct check (mod 97 of the reference with
    'RF' and its check digits moved to the end, letters as numbers A=10 ... Z=35, is 1)."""
    text = compact(reference)
    if RF.fullmatch(text) is None:
        return False
    rearranged = text[4:] + text[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def rf_reference(reference: str) -> str:
    """The creditor's own reference inside an ISO 11649 reference ('RF18539007547034' ->
    '539007547034'); raises ValueError when the check fails."""
    if not rf_is_valid(reference):
        raise ValueError(f"{reference!r} is not a valid ISO 11649 creditor reference")
    return compact(reference)[4:]


def make_rf(reference: str) -> str:
    """The ISO 11649 creditor reference carrying `reference` (letters and digits only)."""
    body = compact(reference)
    if not body.isalnum() or not 1 <= len(body) <= 21:
        raise ValueError(f"{reference!r} cannot be carried by a creditor reference")
    digits = "".join(str(int(ch, 36)) for ch in body + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{body}"


def normalized(number: str) -> str:
    """A document number as a creditor reference carries it: letters and digits, upper case."""
    return "".join(ch for ch in number.upper() if ch.isalnum())


@dataclass(frozen=True)
class Clues:
    """What a transaction gives to look up, strongest first."""

    references: tuple[str, ...]
    """Document numbers given as references (structured, or inside a valid RF reference)."""
    rf_references: tuple[str, ...]
    """Inner parts of valid RF references (document numbers without punctuation)."""
    invalid_rf: tuple[str, ...]
    """RF references whose check failed: not trusted."""
    words: tuple[str, ...]
    """Words of the remittance text that could be document or customer numbers."""


def clues(tx: BankTransaction) -> Clues:
    return clues_of(tx.creditor_references, tx.document_numbers, tx.remittance_text)


def clues_of(
    creditor_references: Iterable[str], document_numbers: Iterable[str], text: str
) -> Clues:
    """What references and remittance text give to look up."""
    references: list[str] = list(document_numbers)
    inner: list[str] = []
    invalid: list[str] = []
    rf_like = []
    for given in creditor_references:
        if RF.fullmatch(compact(given)):
            rf_like.append(compact(given))
        else:
            references.append(" ".join(given.split()))
    for rf in [*rf_like, *RF.findall(compact(text))]:
        if rf_is_valid(rf):
            inner.append(rf[4:])
        else:
            invalid.append(rf)
    words = [w for w in TOKEN.findall(text) if any(ch.isdigit() for ch in w)]
    return Clues(
        tuple(dict.fromkeys(references)),
        tuple(dict.fromkeys(inner)),
        tuple(dict.fromkeys(invalid)),
        tuple(dict.fromkeys(words))[:MAX_TOKENS],
    )


@dataclass(frozen=True)
class Identification:
    customer_id: str | None
    evidence: tuple[str, ...]
    documents: tuple[str, ...] = ()
    """Document numbers of the customer the transaction names."""
    level: str | None = None
    """What identified the customer: reference, remittance text, customer number or payer
    account."""
    reason: str | None = None
    """Why no customer was identified."""


def identify(
    tx: BankTransaction,
    found: Clues,
    holders: Mapping[str, str],
    rf_holders: Mapping[str, tuple[str, str]],
    customers: Set[str],
    payers: Mapping[str, str],
) -> Identification:
    """The customer a transaction pays for: by its references, then document numbers in its
    text, then a customer number in its text, then the payer's account known from earlier
    payments. A level that points to more than one customer identifies none."""
    levels: list[tuple[str, dict[str, list[str]], list[str]]] = []

    def level(name: str, pairs: Iterable[tuple[str, str, str]]) -> None:
        by_customer: dict[str, list[str]] = {}
        evidence: list[str] = []
        for customer, document, said in pairs:
            by_customer.setdefault(customer, []).extend([document] if document else [])
            evidence.append(said)
        if by_customer:
            levels.append((name, by_customer, evidence))

    level(
        "reference",
        [
            *(
                (holders[r], r, f"reference {r} is a document")
                for r in found.references
                if r in holders
            ),
            *(
                (customer, number, f"creditor reference with {r} is document {number}")
                for r in found.rf_references
                if r in rf_holders
                for customer, number in [rf_holders[r]]
            ),
        ],
    )
    level(
        "remittance text",
        (
            (holders[w], w, f"remittance text names document {w}")
            for w in found.words
            if w in holders
        ),
    )
    level(
        "customer number",
        ((w, "", f"remittance text names customer {w}") for w in found.words if w in customers),
    )
    if tx.payer_iban and tx.payer_iban in payers:
        said = f"payer account {tx.payer_iban} paid for this customer before"
        level("payer account", [(payers[tx.payer_iban], "", said)])
    for name, by_customer, evidence in levels:
        if len(by_customer) > 1:
            return Identification(
                None,
                tuple(evidence),
                reason=f"the {name} points to customers {', '.join(sorted(by_customer))}",
            )
        ((customer, documents),) = by_customer.items()
        return Identification(customer, tuple(evidence), tuple(dict.fromkeys(documents)), name)
    reason = "no reference, document number, customer number or known payer account"
    if found.invalid_rf:
        reason += f" (creditor reference {found.invalid_rf[0]} fails its check)"
    return Identification(None, (), reason=reason)
