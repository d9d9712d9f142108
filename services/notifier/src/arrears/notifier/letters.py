"""Collection letters and reprints as documents: the wording of each letter level and of a
reprinted invoice, credit note or interest note in the customer's language (English, German),
rendered as HTML (autoescaped templates) and as PDF (ReportLab). Pure: a document in, bytes or
text out.

Every text that comes from outside (names, addresses, document numbers) is data: escaped in
the HTML, and put into the PDF as text, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import jinja2
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle


@dataclass(frozen=True, slots=True)
class Line:
    document_number: str
    due_date: date
    days_overdue: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Letterhead:
    """A company's letterhead: its name and address lines, and who signs."""

    name: str = "Collections"
    address: tuple[str, ...] = ()
    signature: str = "Accounts Receivable"


@dataclass(frozen=True, slots=True)
class LetterDoc:
    document_number: str
    level: int
    posting_date: date
    currency: str
    lines: tuple[Line, ...]
    customer_name: str
    address: tuple[str, ...] = ()
    fee: Decimal | None = None
    language: str = "en"
    letterhead: Letterhead = field(default_factory=Letterhead)

    @property
    def open_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.open_total + (self.fee or Decimal(0))


WORDING: dict[str, dict[str, str]] = {
    "en": {
        "title": "Collection letter",
        "number": "Letter number",
        "date": "Date",
        "customer": "Customer",
        "salutation": "Dear {name},",
        "level1": "According to our records the following invoices are overdue. Perhaps they "
        "have escaped your attention: please pay them within the next days.",
        "level2": "Despite our reminder, the following invoices are still unpaid. Please pay "
        "them within 7 days.",
        "level3": "The following invoices remain unpaid despite our earlier letters. Please pay "
        "them within 7 days; otherwise we will have to take further steps.",
        "level4": "This is our final notice. Unless the amounts below are paid within 7 days, "
        "we will hand the matter over for collection without further notice.",
        "document": "Document",
        "due": "Due date",
        "days": "Days overdue",
        "amount": "Open amount",
        "fee": "Collection fee",
        "open_total": "Total overdue",
        "total": "Total to pay",
        "closing": "If you have paid in the meantime, please disregard this letter.",
        "regards": "Kind regards",
    },
    "de": {
        "title": "Mahnung",
        "number": "Mahnungsnummer",
        "date": "Datum",
        "customer": "Kunde",
        "salutation": "Sehr geehrte Damen und Herren ({name}),",
        "level1": "nach unseren Unterlagen sind die folgenden Rechnungen fällig. Vielleicht "
        "haben Sie sie übersehen: Bitte begleichen Sie sie in den nächsten Tagen.",
        "level2": "trotz unserer Erinnerung sind die folgenden Rechnungen noch offen. Bitte "
        "begleichen Sie sie innerhalb von 7 Tagen.",
        "level3": "trotz unserer bisherigen Schreiben sind die folgenden Rechnungen weiterhin "
        "offen. Bitte zahlen Sie innerhalb von 7 Tagen; andernfalls müssen wir weitere "
        "Schritte einleiten.",
        "level4": "dies ist unsere letzte Mahnung. Wenn die unten genannten Beträge nicht "
        "innerhalb von 7 Tagen bezahlt werden, übergeben wir die Angelegenheit ohne weitere "
        "Ankündigung dem Inkasso.",
        "document": "Beleg",
        "due": "Fällig am",
        "days": "Tage überfällig",
        "amount": "Offener Betrag",
        "fee": "Mahngebühr",
        "open_total": "Summe überfällig",
        "total": "Zu zahlen",
        "closing": "Sollten Sie inzwischen bezahlt haben, betrachten Sie dieses Schreiben bitte "
        "als gegenstandslos.",
        "regards": "Mit freundlichen Grüßen",
    },
}


@dataclass(frozen=True, slots=True)
class ReprintDoc:
    """A posted document sent again: an invoice, credit note or interest note as posted,
    marked as a copy unless the original was asked for."""

    kind: str
    """invoice, credit_note or interest_note"""
    document_number: str
    copy_kind: str
    """copy or original"""
    document_date: date
    due_date: date | None
    currency: str
    amount: Decimal
    printed_on: date
    customer_name: str
    address: tuple[str, ...] = ()
    language: str = "en"
    letterhead: Letterhead = field(default_factory=Letterhead)


REPRINT_WORDING: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "interest_note": "Interest note",
        "copy": "Copy",
        "number": "Document number",
        "document_date": "Document date",
        "due": "Due date",
        "printed": "Printed on",
        "amount": "Amount",
        "intro": "As requested, you receive our {document} {number} again.",
        "copy_note": "This copy reproduces the document as it was posted.",
        "regards": "Kind regards",
    },
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Gutschrift",
        "interest_note": "Zinsrechnung",
        "copy": "Kopie",
        "number": "Belegnummer",
        "document_date": "Belegdatum",
        "due": "Fällig am",
        "printed": "Gedruckt am",
        "amount": "Betrag",
        "intro": "wie gewünscht erhalten Sie unsere {document} {number} erneut.",
        "copy_note": "Diese Kopie gibt den Beleg so wieder, wie er gebucht wurde.",
        "regards": "Mit freundlichen Grüßen",
    },
}


def language_of(*preferences: str | None) -> str:
    """The first preference we write letters in ('en' when none is)."""
    for preference in preferences:
        if preference and preference.lower().split("-")[0] in WORDING:
            return preference.lower().split("-")[0]
    return "en"


def words(letter: LetterDoc) -> dict[str, str]:
    return WORDING[language_of(letter.language)]


def level_text(letter: LetterDoc) -> str:
    w = words(letter)
    return w[f"level{min(max(letter.level, 1), 4)}"]


def money(value: Decimal, language: str) -> str:
    text = f"{value:,.2f}"
    if language == "de":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def day(value: date, language: str) -> str:
    return value.strftime("%d.%m.%Y") if language == "de" else value.isoformat()


TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
HTML = TEMPLATES.get_template("letter.html")
"""The letter as HTML; every value escaped."""
REPRINT_HTML = TEMPLATES.get_template("reprint.html")


def _values(letter: LetterDoc) -> dict[str, object]:
    lang = language_of(letter.language)
    w = WORDING[lang]
    return {
        "lang": lang,
        "w": w,
        "l": letter,
        "date": day(letter.posting_date, lang),
        "salutation": w["salutation"].format(name=letter.customer_name),
        "body": level_text(letter),
        "lines": [
            {
                "document_number": line.document_number,
                "due": day(line.due_date, lang),
                "days_overdue": line.days_overdue,
                "amount": money(line.amount, lang),
            }
            for line in letter.lines
        ],
        "open_total": money(letter.open_total, lang),
        "fee": money(letter.fee, lang) if letter.fee else None,
        "total": money(letter.total, lang),
    }


def render_html(letter: LetterDoc) -> str:
    return HTML.render(_values(letter))


def render_pdf(letter: LetterDoc) -> bytes:
    """The letter as an A4 PDF (ReportLab): letterhead, address, wording, the transactions
    with their amounts, the totals."""
    values = _values(letter)
    w = WORDING[str(values["lang"])]
    story = [
        *_addressed(letter.letterhead, letter.customer_name, letter.address),
        text(w["title"], STYLES["Heading1"]),
        text(f"{w['number']}: {letter.document_number}"),
        text(f"{w['date']}: {values['date']}"),
        Spacer(1, 4 * mm),
        text(values["salutation"]),
        text(values["body"]),
        Spacer(1, 4 * mm),
    ]
    rows: list[list[object]] = [
        [
            text(w["document"]),
            text(w["due"]),
            text(w["days"]),
            text(f"{w['amount']} ({letter.currency})"),
        ]
    ]
    for line in values["lines"]:  # type: ignore[attr-defined]
        rows.append(
            [
                text(line["document_number"]),
                text(line["due"]),
                text(line["days_overdue"]),
                text(line["amount"]),
            ]
        )
    rows.append(["", "", text(w["open_total"]), text(f"{values['open_total']} {letter.currency}")])
    if values["fee"]:
        rows.append(["", "", text(w["fee"]), text(f"{values['fee']} {letter.currency}")])
    rows.append(["", "", text(w["total"]), text(f"{values['total']} {letter.currency}")])
    table = Table(rows, colWidths=[55 * mm, 35 * mm, 35 * mm, 45 * mm])
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 6 * mm),
        text(w["closing"]),
        Spacer(1, 4 * mm),
        text(w["regards"]),
        text(letter.letterhead.signature),
    ]
    return _pdf(f"{w['title']} {letter.document_number}", letter.letterhead, story)


STYLES = getSampleStyleSheet()
SMALL = ParagraphStyle("small", parent=STYLES["BodyText"], fontSize=8)


def text(value: object, style: ParagraphStyle = STYLES["BodyText"]) -> Paragraph:
    """Outside text as a paragraph: escaped, never read as markup."""
    return Paragraph(escape(str(value)), style)


def _addressed(letterhead: Letterhead, name: str, address: tuple[str, ...]) -> list[Any]:
    """The letterhead, then the customer's name and address."""
    return [
        text(letterhead.name, STYLES["Heading3"]),
        *(text(line, SMALL) for line in letterhead.address),
        Spacer(1, 8 * mm),
        text(name),
        *(text(line) for line in address),
        Spacer(1, 8 * mm),
    ]


def _pdf(title: str, letterhead: Letterhead, story: list[Any]) -> bytes:
    out = BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=A4, title=title, author=letterhead.name, invariant=True
    )
    document.build(story)
    return out.getvalue()


def _reprint_values(doc: ReprintDoc) -> dict[str, Any]:
    lang = language_of(doc.language)
    w = REPRINT_WORDING[lang]
    name = w.get(doc.kind, w["invoice"])
    title = f"{name} {doc.document_number}"
    return {
        "lang": lang,
        "w": w,
        "d": doc,
        "title": f"{title} ({w['copy']})" if doc.copy_kind == "copy" else title,
        "intro": w["intro"].format(document=name, number=doc.document_number),
        "salutation": WORDING[lang]["salutation"].format(name=doc.customer_name),
        "document_date": day(doc.document_date, lang),
        "due": day(doc.due_date, lang) if doc.due_date else "",
        "printed": day(doc.printed_on, lang),
        "amount": money(doc.amount, lang),
    }


def render_reprint_html(doc: ReprintDoc) -> str:
    return REPRINT_HTML.render(_reprint_values(doc))


def render_reprint_pdf(doc: ReprintDoc) -> bytes:
    """The reprint as an A4 PDF: letterhead, address, the document's number, dates and
    amount, marked as a copy unless the original was asked for."""
    v = _reprint_values(doc)
    w = v["w"]
    rows: list[list[object]] = [
        [text(w["number"]), text(doc.document_number)],
        [text(w["document_date"]), text(v["document_date"])],
        *([[text(w["due"]), text(v["due"])]] if v["due"] else []),
        [text(w["amount"]), text(f"{v['amount']} {doc.currency}")],
        [text(w["printed"]), text(v["printed"])],
    ]
    table = Table(rows, colWidths=[60 * mm, 90 * mm])
    table.setStyle(TableStyle([("LINEBELOW", (0, -2), (-1, -2), 0.5, colors.black)]))
    story = [
        *_addressed(doc.letterhead, doc.customer_name, doc.address),
        text(v["title"], STYLES["Heading1"]),
        text(v["salutation"]),
        text(v["intro"]),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 6 * mm),
        *([text(w["copy_note"])] if doc.copy_kind == "copy" else []),
        Spacer(1, 4 * mm),
        text(w["regards"]),
        text(doc.letterhead.signature),
    ]
    return _pdf(str(v["title"]), doc.letterhead, story)
