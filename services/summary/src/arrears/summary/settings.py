"""Settings of the summary service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from arrears.shared.settings import ServiceSettings


class SummarySettings(ServiceSettings):
    service = "summary"
    http_port: int = 8004
    summary_provider: Literal["template", "openai"] = Field(
        default="template",
        description=(
            "Who writes summaries: 'template' (the built-in deterministic writer, no model, no "
            "network) or 'openai' (any OpenAI-compatible chat-completions endpoint)."
        ),
    )
    llm_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description=(
            "Base URL of the chat-completions API, e.g. https://api.openai.com/v1 or "
            "http://127.0.0.1:11434/v1 (Ollama); '/chat/completions' is appended."
        ),
    )
    llm_model: str = Field(
        default="gpt-4o-mini", min_length=1, max_length=100, description="Model name sent."
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key, sent as a Bearer token; never logged."
    )
    llm_timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="Timeout of one chat-completions request."
    )
    llm_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries of one request after a timeout, a 429 or a 5xx answer.",
    )
    llm_backoff_s: float = Field(
        default=0.5,
        ge=0,
        le=60,
        description="First pause before a retry; it doubles with every further retry.",
    )
    llm_temperature: float = Field(
        default=0.2, ge=0, le=2, description="Sampling temperature sent with each request."
    )

    @model_validator(mode="after")
    def _llm_configured(self) -> Self:
        if self.summary_provider == "openai" and not self.llm_base_url:
            raise ValueError("ARREARS_LLM_BASE_URL must be set when the provider is 'openai'")
        return self

    @property
    def llm_provider_name(self) -> str:
        """How the provider is recorded with each summary, e.g. 'openai:gpt-4o-mini'."""
        return f"openai:{self.llm_model}"
