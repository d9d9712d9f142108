"""API token format, digests and constant-time comparison."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.gateway.domain.secrets import ApiToken, digest, same, token_id_from

pytestmark = pytest.mark.unit


@given(st.binary(min_size=12, max_size=12))
def test_a_token_reads_back_from_its_text(random_bytes: bytes) -> None:
    token = ApiToken(token_id_from(random_bytes), "s" * 43)
    assert ApiToken.parse(token.text) == token
    assert token.text.startswith("arr_") and len(token.token_id) == 12


@pytest.mark.parametrize(
    "text", ["", "arr_", "arr_short_" + "s" * 43, "Bearer arr_x", "arr_abcdefghijkl_short"]
)
def test_malformed_tokens_are_not_tokens(text: str) -> None:
    assert ApiToken.parse(text) is None


def test_digests_are_stable_and_comparison_is_exact() -> None:
    assert digest("abc") == digest("abc") != digest("abd")
    assert len(digest("x")) == 64
    assert same("token", "token") and not same("token", "token ") and not same("", "x")
    with pytest.raises(ValueError):
        token_id_from(b"short")
