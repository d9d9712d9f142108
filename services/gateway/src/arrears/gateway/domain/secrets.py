"""Opaque secrets: session ids, CSRF tokens and API tokens.

Only a SHA-256 digest of a session id or an API token is stored: they are long random
strings, so a digest cannot be reversed and a copy of the database signs nobody in. An API
token reads `arr_<id>_<secret>`; the id finds its row, the digest of the whole token must
match.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

TOKEN_PREFIX = "arr_"  # noqa: S105 (a prefix, not a secret)
_TOKEN = re.compile(r"^arr_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32,100})$")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret, hex (what is stored)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time equality of two texts."""
    return hmac.compare_digest(a.encode(), b.encode())


def token_id_from(random_bytes: bytes) -> str:
    """A 12-character alphanumeric token id from 12 random bytes."""
    if len(random_bytes) != 12:
        raise ValueError("a token id takes 12 random bytes")
    return "".join(_ALNUM[b % len(_ALNUM)] for b in random_bytes)


@dataclass(frozen=True, slots=True)
class ApiToken:
    token_id: str
    secret: str

    @property
    def text(self) -> str:
        return f"{TOKEN_PREFIX}{self.token_id}_{self.secret}"

    @classmethod
    def parse(cls, text: str) -> ApiToken | None:
        """The token's parts, or None when the text is not shaped like one."""
        match = _TOKEN.match(text)
        return cls(match.group(1), match.group(2)) if match else None


def looks_like_api_token(text: str) -> bool:
    return text.startswith(TOKEN_PREFIX)
