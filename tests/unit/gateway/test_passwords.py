"""Password hashing: scrypt with stated parameters and a per-user salt."""

from __future__ import annotations

import os

import pytest

from arrears.gateway.domain.passwords import (
    PARAMS,
    ScryptParams,
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)

pytestmark = pytest.mark.unit
FAST = ScryptParams(n=2**10)


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_password("correct horse battery", os.urandom(16), FAST)
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("", stored)


def test_the_hash_states_its_parameters_and_salt() -> None:
    salt = bytes(range(16))
    stored = hash_password("pw-pw-pw-pw-pw", salt, FAST)
    scheme, n, r, p, salt_text, key = stored.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**10, 8, 1)
    assert salt_text == "AAECAwQFBgcICQoLDA0ODw" and len(key) == 43


def test_the_default_parameters_are_a_modern_cost() -> None:
    assert PARAMS.n >= 2**15 and PARAMS.r == 8 and PARAMS.key_length == 32
    stored = hash_password("a long enough password", os.urandom(16))
    assert verify_password("a long enough password", stored)
    assert not needs_rehash(stored)
    assert needs_rehash(hash_password("a long enough password", os.urandom(16), FAST))


def test_the_same_password_with_another_salt_hashes_differently() -> None:
    first = hash_password("same password!", os.urandom(16), FAST)
    second = hash_password("same password!", os.urandom(16), FAST)
    assert first != second and verify_password("same password!", second)


@pytest.mark.parametrize(
    "stored", ["", "plain", "md5$1$2$3$4$5", "scrypt$x$8$1$AA$AA", "scrypt$1024$8$1$!!$AA"]
)
def test_a_malformed_hash_verifies_nothing(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_short_salts_and_weak_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match="salt"):
        hash_password("password-123456", b"short", FAST)
    with pytest.raises(ValueError, match="at least 12"):
        check_new_password("short")
    check_new_password("twelve chars")
