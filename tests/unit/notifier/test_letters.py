"""Letters as documents: the PDF's text (pypdf) holds the name, every document number and
amount and the totals; untrusted names are text in the HTML and the PDF; German wording and
number formats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from arrears.notifier.letters import (
    LetterDoc,
    Letterhead,
    Line,
    language_of,
    render_html,
    render_pdf,
)

pytestmark = pytest.mark.unit
XSS = "<script>alert(1)</script> & Söhne GmbH"


def letter(**changes: object) -> LetterDoc:
    values: dict[str, object] = {
        "document_number": "CL-0001",
        "level": 1,
        "posting_date": date(2026, 6, 15),
        "currency": "USD",
        "lines": (
            Line("INV-101", date(2026, 3, 31), 76, Decimal("1234.50")),
            Line("INV-102", date(2026, 4, 30), 46, Decimal("99.99")),
        ),
        "customer_name": "Contoso Retail",
        "address": ("Attn. Anna Schmidt",),
        "fee": Decimal("15.00"),
        "letterhead": Letterhead("Arrears Demo Inc.", ("1 Main St", "Springfield")),
    } | changes
    return LetterDoc(**values)  # type: ignore[arg-type]


def text_of(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)


def test_the_pdf_holds_name_documents_amounts_and_totals() -> None:
    text = text_of(render_pdf(letter()))
    for expected in (
        "Arrears Demo Inc.",
        "Contoso Retail",
        "Collection letter",
        "CL-0001",
        "INV-101",
        "INV-102",
        "1,234.50",
        "99.99",
        "1,334.49 USD",
        "15.00 USD",
        "1,349.49 USD",
    ):
        assert expected in text, expected


def test_an_untrusted_name_is_text_in_html_and_pdf() -> None:
    made = letter(customer_name=XSS, document_number="<b>CL</b>")
    html = render_html(made)
    assert "<script>" not in html and "<b>CL" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Söhne GmbH" in html
    text = text_of(render_pdf(made))
    assert XSS in text and "<b>CL</b>" in text


def test_german_letters_use_german_wording_dates_and_numbers() -> None:
    made = letter(language="de", level=3)
    text = text_of(render_pdf(made))
    assert "Mahnung" in text and "31.03.2026" in text and "1.234,50" in text
    assert "weitere" in text  # the third level's wording
    assert 'lang="de"' in render_html(made)


@pytest.mark.parametrize(
    ("preferences", "expected"),
    [(("de-DE",), "de"), ((None, "de"), "de"), (("fr", "en-GB"), "en"), ((None,), "en")],
)
def test_the_language_is_the_first_we_write(
    preferences: tuple[str | None, ...], expected: str
) -> None:
    assert language_of(*preferences) == expected


@settings(max_examples=15, deadline=None)
@given(
    amounts=st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
        min_size=1,
        max_size=6,
    )
)
def test_the_total_is_the_sum_of_the_lines_and_the_fee(amounts: list[Decimal]) -> None:
    lines = tuple(Line(f"D-{i}", date(2026, 3, 1), 10, a) for i, a in enumerate(amounts))
    made = letter(lines=lines, fee=Decimal("5.00"))
    assert made.total == sum(amounts, Decimal(0)) + Decimal("5.00")
    assert f"{made.total:,.2f} USD" in text_of(render_pdf(made))
