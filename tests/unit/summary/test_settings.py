"""Settings of the summary service: typed, validated, the key kept secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from arrears.summary.settings import SummarySettings

pytestmark = pytest.mark.unit


def test_the_template_is_the_default_and_needs_no_model() -> None:
    settings = SummarySettings()
    assert settings.summary_provider == "template" and settings.llm_base_url is None


def test_a_model_provider_needs_a_base_url() -> None:
    with pytest.raises(ValidationError, match="ARREARS_LLM_BASE_URL"):
        SummarySettings(summary_provider="openai")


def test_settings_come_from_the_environment_and_the_key_never_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARREARS_SUMMARY_PROVIDER", "openai")
    monkeypatch.setenv("ARREARS_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("ARREARS_LLM_API_KEY", "sk-very-secret")
    monkeypatch.setenv("ARREARS_LLM_TIMEOUT_S", "7.5")
    monkeypatch.setenv("ARREARS_LLM_RETRIES", "4")
    settings = SummarySettings()
    assert settings.llm_timeout_s == 7.5 and settings.llm_retries == 4
    assert settings.llm_api_key is not None
    assert settings.llm_api_key.get_secret_value() == "sk-very-secret"
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(
        settings.model_dump()
    )
    with pytest.raises(ValidationError):
        SummarySettings(llm_retries=-1)
