"""camt.053 documents written for tests: entries with the references, amounts and parties a
test needs, in any version from .001.02 to .001.08."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape


def credit_entry(
    reference: str,
    amount: str,
    *,
    currency: str = "EUR",
    ref: str | None = None,
    text: str | None = None,
    iban: str | None = None,
    end_to_end: str | None = None,
    parts: tuple[str, ...] = (),
    booked: str = "2026-06-10",
    debit: bool = False,
    reversal: bool = False,
    reason: str | None = None,
) -> dict[str, object]:
    return {
        "reference": reference,
        "amount": amount,
        "currency": currency,
        "ref": ref,
        "text": text,
        "iban": iban,
        "end_to_end": end_to_end,
        "parts": parts,
        "booked": booked,
        "debit": debit,
        "reversal": reversal,
        "reason": reason,
    }


def _transaction(entry: dict[str, object], amount: str, version: str) -> str:
    currency = entry["currency"]
    refs = (
        f"<EndToEndId>{escape(str(entry['end_to_end']))}</EndToEndId>"
        if entry["end_to_end"]
        else ""
    )
    amount_xml = (
        f'<AmtDtls><TxAmt><Amt Ccy="{currency}">{amount}</Amt></TxAmt></AmtDtls>'
        if version == "02"
        else f'<Amt Ccy="{currency}">{amount}</Amt>'
    )
    parties = ""
    if entry["iban"]:
        name = "<Pty><Nm>Payer</Nm></Pty>" if version >= "08" else "<Nm>Payer</Nm>"
        parties = (
            f"<RltdPties><Dbtr>{name}</Dbtr><DbtrAcct><Id><IBAN>{entry['iban']}</IBAN></Id>"
            "</DbtrAcct></RltdPties>"
        )
    remittance = ""
    if entry["text"]:
        remittance += f"<Ustrd>{escape(str(entry['text']))}</Ustrd>"
    if entry["ref"]:
        remittance += (
            f"<Strd><CdtrRefInf><Ref>{escape(str(entry['ref']))}</Ref></CdtrRefInf></Strd>"
        )
    remittance = f"<RmtInf>{remittance}</RmtInf>" if remittance else ""
    returned = f"<RtrInf><Rsn><Cd>{entry['reason']}</Cd></Rsn></RtrInf>" if entry["reason"] else ""
    return f"<TxDtls><Refs>{refs}</Refs>{amount_xml}{parties}{remittance}{returned}</TxDtls>"


def _entry(entry: dict[str, object], version: str) -> str:
    parts = entry["parts"] or (entry["amount"],)
    assert isinstance(parts, tuple)
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= "06" else "<Sts>BOOK</Sts>"
    details = "".join(_transaction(entry, str(p), version) for p in parts)
    return (
        f'<Ntry><Amt Ccy="{entry["currency"]}">{entry["amount"]}</Amt>'
        f"<CdtDbtInd>{'DBIT' if entry['debit'] else 'CRDT'}</CdtDbtInd>"
        f"{'<RvslInd>true</RvslInd>' if entry['reversal'] else ''}{status}"
        f"<BookgDt><Dt>{entry['booked']}</Dt></BookgDt><ValDt><Dt>{entry['booked']}</Dt></ValDt>"
        f"<AcctSvcrRef>{escape(str(entry['reference']))}</AcctSvcrRef>"
        f"<NtryDtls>{details}</NtryDtls></Ntry>"
    )


def statement_xml(
    entries: list[dict[str, object]],
    *,
    version: str = "08",
    statement_id: str = "STMT-1",
    opening: str = "1000.00",
    closing: str | None = None,
    currency: str = "EUR",
) -> bytes:
    """A camt.053 statement; the closing balance reconciles unless one is given."""
    if closing is None:
        movement = sum(
            (Decimal(str(e["amount"])) * (-1 if e["debit"] else 1) for e in entries),
            Decimal(0),
        )
        closing = str(Decimal(opening) + movement)

    def balance(code: str, amount: str) -> str:
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            "<Dt><Dt>2026-06-10</Dt></Dt></Bal>"
        )

    body = "".join(_entry(e, version) for e in entries)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>MSG-{statement_id}</MsgId>"
        f"<CreDtTm>2026-06-10T18:00:00Z</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>"
        f"{balance('OPBD', opening)}{balance('CLBD', closing)}{body}</Stmt></BkToCstmrStmt>"
        "</Document>"
    ).encode()
