"""Password hashing with scrypt (RFC 7914), stated parameters and a per-user salt.

A stored hash reads `scrypt$N$r$p$salt$key` (salt and key in unpadded base64url), so the
parameters travel with it and can be raised later: `needs_rehash` tells when a hash was made
with weaker ones than today's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

MIN_LENGTH = 12
MAX_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class ScryptParams:
    n: int = 2**15
    """CPU/memory cost: 32 MiB of memory per hash with r = 8."""
    r: int = 8
    p: int = 1
    key_length: int = 32

    @property
    def max_memory(self) -> int:
        return 2 * 128 * self.n * self.r * self.p


PARAMS = ScryptParams()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=params.max_memory,
        dklen=params.key_length,
    )


def check_new_password(password: str) -> None:
    """Refuse a password too short or too long to be a good one (ValueError)."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str, salt: bytes, params: ScryptParams = PARAMS) -> str:
    """The stored form of a password; `salt` is 16 fresh random bytes per user."""
    if len(salt) < 16:
        raise ValueError("a salt has at least 16 bytes")
    key = _derive(password, salt, params)
    return f"scrypt${params.n}${params.r}${params.p}${_b64(salt)}${_b64(key)}"


def _parse(stored: str) -> tuple[ScryptParams, bytes, bytes]:
    scheme, n, r, p, salt, key = stored.split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown password scheme {scheme!r}")
    raw_key = _unb64(key)
    return ScryptParams(int(n), int(r), int(p), len(raw_key)), _unb64(salt), raw_key


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from (constant-time comparison)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        params, salt, key = _parse(stored)
    except ValueError:
        return False
    return hmac.compare_digest(_derive(password, salt, params), key)


def needs_rehash(stored: str, params: ScryptParams = PARAMS) -> bool:
    try:
        current, _salt, _key = _parse(stored)
    except ValueError:
        return True
    return (current.n, current.r, current.p) < (params.n, params.r, params.p)
