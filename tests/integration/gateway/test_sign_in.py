"""Sign-in, sessions, throttling, the first admin, API tokens and OIDC bearer JWTs (verified
against a real JWKS served on loopback), on the real gateway."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from arrears.gateway import store
from arrears.gateway.app import SPEC as GATEWAY
from arrears.gateway.auth import ensure_first_admin
from arrears.gateway.domain.access import Role
from arrears.gateway.domain.passwords import verify_password
from arrears.gateway.settings import GatewaySettings
from arrears.shared.clock import SystemClock
from arrears.shared.db import create_engine
from arrears.shared.migrations import upgrade
from tests.conftest import unique_name
from tests.integration.gateway.conftest import ADMIN_PASSWORD, COMPANY, PASSWORD, Stack, csrf_of

pytestmark = pytest.mark.integration
ISSUER = "https://idp.example/realms/arrears"
AUDIENCE = "arrears-gateway"


@dataclass
class IdentityProvider:
    jwks_url: str
    key: rsa.RSAPrivateKey
    other_key: rsa.RSAPrivateKey

    def token(self, *, key: Any = None, kid: str = "k1", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300} | claims
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [public | {"kid": "k1", "use": "sig", "alg": "RS256"}]})

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document.encode())

        def log_message(self, *_args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield IdentityProvider(
            f"http://127.0.0.1:{server.server_port}/jwks.json",
            key,
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture(scope="module")
def gateway_overrides(idp: IdentityProvider) -> dict[str, Any]:
    return {
        "oidc_issuer": ISSUER,
        "oidc_audience": AUDIENCE,
        "oidc_jwks_url": idp.jwks_url,
        "oidc_role_map": {"collections-agent": "agent"},
    }


@pytest.fixture(scope="module")
def accounts(stack: Stack) -> Stack:
    stack.pool("pool-s", "owner-s")
    stack.register("S-1", "owner-s")
    stack.wait_for_aging("S-1")
    for login in ("sara", "thr", "leaver", "jwt-agent"):
        stack.account(login, {Role.AGENT}, ("pool-s",))
    return stack


def test_sign_in_opens_a_session_in_a_protected_cookie(accounts: Stack) -> None:
    with accounts.client() as client:
        page = client.get("/login")
        assert page.status_code == 200 and "Content-Security-Policy" in page.headers
        signed_in = client.post(
            "/login",
            data={"csrf_token": csrf_of(page.text), "login": "Sara", "password": PASSWORD},
        )
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        cookie = next(
            c for c in signed_in.headers.get_list("set-cookie") if c.startswith("arrears_session=")
        )
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "path", "max-age"} <= flags and "samesite=lax" in cookie.lower()
        assert "secure" not in flags  # local mode; production sets it
        overview = client.get("/")
        assert overview.status_code == 200 and "Sara" in overview.text
        assert client.get("/login").status_code == 303
        me = client.get("/v1/me").json()
        assert me["login"] == "sara" and me["roles"] == ["agent"] and me["via"] == "session"


def test_a_wrong_password_opens_nothing(accounts: Stack) -> None:
    with accounts.client() as client:
        token = csrf_of(client.get("/login").text)
        wrong = client.post("/login", data={"csrf_token": token, "login": "sara", "password": "x"})
        assert wrong.status_code == 401 and "Wrong login or password" in wrong.text
        assert not any(
            c.startswith("arrears_session=") for c in wrong.headers.get_list("set-cookie")
        )
        assert client.get("/").status_code == 303


def attempt(stack: Stack, login: str, password: str) -> Any:
    with stack.client() as client:
        token = csrf_of(client.get("/login").text)
        return client.post(
            "/login", data={"csrf_token": token, "login": login, "password": password}
        )


def test_five_wrong_passwords_throttle_the_login(accounts: Stack) -> None:
    for _ in range(5):
        assert attempt(accounts, "thr", "not-the-password").status_code == 401
    throttled = attempt(accounts, "thr", PASSWORD)
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 900
    assert "Too many failed sign-ins" in throttled.text
    # Unknown logins are throttled alike; other logins are not affected.
    for _ in range(5):
        assert attempt(accounts, "nobody-here", "guess").status_code == 401
    assert attempt(accounts, "nobody-here", "guess").status_code == 429
    assert attempt(accounts, "sara", PASSWORD).status_code == 303


def test_sign_out_ends_the_session_and_next_stays_on_the_site(accounts: Stack) -> None:
    with accounts.client() as client:
        token = csrf_of(client.get("/login").text)
        away = client.post(
            "/login",
            data={
                "csrf_token": token,
                "login": "leaver",
                "password": PASSWORD,
                "next": "//evil.example/",
            },
        )
        assert away.headers["location"] == "/"
        cookie = client.cookies["arrears_session"]
        out = client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
    with accounts.client() as replay:
        replay.cookies.set("arrears_session", cookie)
        assert replay.get("/").status_code == 303
        assert replay.get("/v1/me").status_code == 401


def test_the_first_admin_signs_in_with_the_configured_password(accounts: Stack) -> None:
    browser = accounts.sign_in("admin", ADMIN_PASSWORD)
    with browser:
        me = browser.http.get("/v1/me").json()
    assert me["roles"] == ["admin", "agent", "supervisor"] and me["may_view_all"] is True


async def test_the_first_start_hands_a_random_admin_password_over_once(
    postgres_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    schema = unique_name("gwfirst")
    handover = tmp_path / "initial-admin.json"
    settings = GatewaySettings(
        database_url=postgres_url, db_schema=schema, initial_admin_file=handover
    )
    engine = create_engine(postgres_url, schema)
    try:
        await upgrade(engine, GATEWAY.migrations, schema)
        await ensure_first_admin(engine, settings, SystemClock())
        credentials = json.loads(handover.read_text())
        assert stat.S_IMODE(os.stat(handover).st_mode) == 0o600
        async with engine.connect() as conn:
            admin = await store.get_account(conn, "admin")
        assert admin is not None and admin.password_hash is not None
        assert verify_password(credentials["password"], admin.password_hash)
        handover.unlink()
        await ensure_first_admin(engine, settings, SystemClock())
        assert not handover.exists(), "an existing account means no new admin"
        # Without a hand-over file, the password goes to the console (not the log).
        console = settings.model_copy(update={"initial_admin_file": None})
        other = unique_name("gwfirst")
        engine2 = create_engine(postgres_url, other)
        try:
            await upgrade(engine2, GATEWAY.migrations, other)
            await ensure_first_admin(engine2, console, SystemClock())
        finally:
            await engine2.dispose()
        assert "created the account 'admin' with the password" in capfd.readouterr().err
    finally:
        await engine.dispose()


def test_api_tokens_authenticate_until_revoked(accounts: Stack) -> None:
    token_id, text = accounts.token("erp", {Role.INTEGRATION}, may_view_all=True)
    with accounts.client() as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {text}"})
        assert me.status_code == 200, me.text
        assert me.json()["actor"] == "token:erp" and me.json()["roles"] == ["integration"]
        tampered = text[:-4] + ("aaaa" if not text.endswith("aaaa") else "bbbb")
        assert (
            client.get("/v1/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
        )

        async def revoke() -> None:
            assert accounts.engine is not None
            async with accounts.engine.begin() as conn:
                assert await store.revoke_token(conn, token_id, datetime.now(UTC))

        accounts.run(revoke())
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {text}"}).status_code == 401


def test_bearer_jwts_are_verified_against_the_jwks(accounts: Stack, idp: IdentityProvider) -> None:
    def me(token: str) -> Any:
        with accounts.client() as client:
            return client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})

    known = me(idp.token(preferred_username="jwt-agent", roles=["collections-agent", "other"]))
    assert known.status_code == 200, known.text
    body = known.json()
    assert body["via"] == "jwt" and body["roles"] == ["agent"]
    assert body["pools"] == [f"{COMPANY}/pool-s"], "pools come from the gateway's account"
    stranger = me(idp.token(sub="someone", roles="supervisor"))
    assert stranger.status_code == 200 and stranger.json()["pools"] == []
    assert stranger.json()["roles"] == ["supervisor"]

    refused = {
        "wrong audience": idp.token(sub="x", aud="another-app"),
        "wrong issuer": idp.token(sub="x", iss="https://elsewhere.example"),
        "expired": idp.token(sub="x", exp=int(time.time()) - 600),
        "another key": idp.token(sub="x", key=idp.other_key),
        "unknown key id": idp.token(sub="x", kid="k9"),
        "not signed": jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}, None, "none"),
        "garbage": "not-a-token",
    }
    for what, token in refused.items():
        answer = me(token)
        assert answer.status_code == 401, (what, answer.text)
        assert answer.json()["code"] == "unauthenticated"
    with accounts.client() as client:
        listed = client.get(
            f"/v1/companies/{COMPANY}/aging",
            headers={"Authorization": f"Bearer {idp.token(sub='someone', roles=['agent'])}"},
        )
    assert listed.json() == {"total": 0, "items": []}, "no pool, no customers"
