"""docs/summary.md shows the prompt the code sends and every setting of the service."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.shared.settings import ServiceSettings
from arrears.summary.domain import REMINDER_VERSION, TEMPLATE_VERSION
from arrears.summary.settings import SummarySettings
from arrears.summary.writers import PROMPT_VERSION, SYSTEM_PROMPT

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_the_documented_prompt_is_the_one_sent() -> None:
    text = (DOCS / "summary.md").read_text()
    assert f"### The prompt (`{PROMPT_VERSION}`)" in text
    assert f"```text\n{SYSTEM_PROMPT}```" in text
    for version in (TEMPLATE_VERSION, REMINDER_VERSION):
        assert version in text


def test_every_summary_setting_is_documented() -> None:
    own = set(SummarySettings.model_fields) - set(ServiceSettings.model_fields)
    assert own
    for doc in ("summary.md", "operations.md"):
        text = (DOCS / doc).read_text()
        missing = [n for n in sorted(own) if f"`ARREARS_{n.upper()}`" not in text]
        assert not missing, f"document these in docs/{doc}: {missing}"
