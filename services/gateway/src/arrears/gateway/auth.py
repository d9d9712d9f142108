"""Authentication: local accounts with server-side sessions, OIDC bearer JWTs, API tokens.

- Sessions: a random id in an HttpOnly, SameSite=Lax cookie; the database keeps its SHA-256,
  the account, a CSRF token (synchronizer token, checked on every state-changing request the
  cookie authenticates) and the expiry.
- Sign-in: scrypt-hashed passwords; every attempt is recorded and a login with too many
  recent failures is throttled (`Throttle`), unknown logins included.
- Bearer JWTs: verified against the issuer's JWKS (fetched from settings, cached, refetched
  for an unknown key id); roles from a claim, pools from the gateway account of the same
  login.
- API tokens (`arr_<id>_<secret>`): a principal of their own with roles and pools.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.gateway import store
from arrears.gateway.catching_up import Written
from arrears.gateway.domain.access import Account, PoolRef, Principal, Role
from arrears.gateway.domain.passwords import hash_password, verify_password
from arrears.gateway.domain.secrets import ApiToken, digest, token_id_from
from arrears.gateway.domain.throttling import Throttle
from arrears.gateway.settings import GatewaySettings
from arrears.shared.clock import Clock
from arrears.shared.errors import Problem
from arrears.shared.logging import get_logger

log = get_logger(__name__)
SESSION_COOKIE = "arrears_session"
LOGIN_CSRF_COOKIE = "arrears_login_csrf"
JWKS_MIN_REFETCH_S = 30.0


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthenticated", detail, title="Sign-in required")


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class BadCredentials(Exception):
    """Wrong login or password (which of the two is never told)."""


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser session as one request sees it."""

    digest: str
    csrf_token: str
    principal: Principal
    expires_at: datetime
    has_flash: bool = False
    """A message waits for the next page."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_id: str
    """The cookie value (only its digest is stored)."""
    expires_at: datetime


def new_password_hash(password: str) -> str:
    return hash_password(password, os.urandom(16))


class JwtVerifier:
    """Verifies bearer JWTs with the keys of the configured JWKS URL."""

    def __init__(self, settings: GatewaySettings, client: httpx.AsyncClient) -> None:
        assert settings.oidc_jwks_url and settings.oidc_issuer and settings.oidc_audience
        self.settings = settings
        self.client = client
        self._keys: dict[str, Any] = {}
        self._fetched_at = -1e9
        self._lock = asyncio.Lock()

    async def _refresh(self, *, forced: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if forced and age < JWKS_MIN_REFETCH_S:
                return
            if not forced and age < self.settings.oidc_jwks_cache_s:
                return
            try:
                response = await self.client.get(str(self.settings.oidc_jwks_url))
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
                log.warning("fetching the JWKS failed", error=str(error))
                if not self._keys:
                    raise unauthorized("the identity provider's keys are unavailable") from error
                return
            self._keys = {k.key_id or "": k.key for k in keys.keys}
            self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> Any:
        await self._refresh(forced=False)
        if kid not in self._keys:
            await self._refresh(forced=True)
        if kid not in self._keys:
            if not kid and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            raise unauthorized("the token was signed by an unknown key")
        return self._keys[kid]

    async def claims(self, token: str) -> dict[str, Any]:
        s = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise unauthorized("the bearer token is not a JWT") from error
        if header.get("alg") not in s.oidc_algorithms:
            raise unauthorized(f"tokens signed with {header.get('alg')!r} are not accepted")
        key = await self._key(str(header.get("kid") or ""))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=s.oidc_algorithms,
                audience=s.oidc_audience,
                issuer=s.oidc_issuer,
                leeway=s.oidc_leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise unauthorized(f"the bearer token is not valid: {error}") from error
        return claims

    def roles(self, claims: dict[str, Any]) -> frozenset[Role]:
        raw = claims.get(self.settings.oidc_roles_claim) or []
        names = raw.split() if isinstance(raw, str) else [str(r) for r in raw]
        known = {r.value for r in Role}
        mapped = (self.settings.oidc_role_map.get(n, n) for n in names)
        return frozenset(Role(n) for n in mapped if n in known)

    def login(self, claims: dict[str, Any]) -> str:
        value = claims.get(self.settings.oidc_login_claim) or claims.get("sub")
        if not value:
            raise unauthorized("the token names no user")
        return str(value).lower()


class Authenticator:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: GatewaySettings,
        clock: Clock,
        jwt_verifier: JwtVerifier | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.jwt = jwt_verifier
        self.throttle = Throttle(
            settings.login_max_failures, timedelta(seconds=settings.login_window_s)
        )
        self._dummy_hash = new_password_hash(secrets.token_urlsafe(16))

    # ------------------------------------------------------------------ sessions

    async def sign_in(self, login: str, password: str, client: str | None) -> SignedIn:
        """A new session for a right login and password; `Throttled` after too many failures
        (the right password then waits too), `BadCredentials` otherwise."""
        login = login.strip().lower()[:200]
        now = self.clock.now()
        throttled: int | None = None
        signed_in: SignedIn | None = None
        async with self.engine.begin() as conn:
            await store.lock_login(conn, login)
            failures, success = await store.recent_attempts(conn, login, now - self.throttle.window)
            throttled = self.throttle.retry_after(failures, success, now)
            if throttled is None:
                account = await store.get_account(conn, login)
                usable = account is not None and not account.disabled and account.password_hash
                stored = account.password_hash if usable and account else self._dummy_hash
                right = await asyncio.to_thread(verify_password, password, str(stored))
                ok = bool(usable and right)
                await store.record_attempt(conn, login, now, ok, client)
                if ok:
                    signed_in = await self._open_session(conn, login, now)
                    await store.delete_expired_sessions(conn, now)
                    await store.delete_attempts_before(conn, now - timedelta(days=30))
        if throttled is not None:
            log.warning("sign-in throttled", login=login, client=client, retry_after=throttled)
            raise Throttled(throttled)
        if signed_in is None:
            log.info("sign-in failed", login=login, client=client)
            raise BadCredentials
        log.info("signed in", login=login, client=client)
        return signed_in

    async def _open_session(self, conn: AsyncConnection, login: str, now: datetime) -> SignedIn:
        session_id = secrets.token_urlsafe(32)
        expires = now + timedelta(hours=self.settings.session_hours)
        await store.create_session(
            conn, digest(session_id), login, secrets.token_urlsafe(32), now, expires
        )
        return SignedIn(session_id, expires)

    async def session(self, session_id: str) -> Session | None:
        if not session_id or len(session_id) > 200:
            return None
        key = digest(session_id)
        async with self.engine.connect() as conn:
            found = await store.load_session(conn, key, self.clock.now())
        if found is None:
            return None
        row, account = found
        if account.disabled:
            return None
        return Session(
            key, row.csrf_token, account.principal(), row.expires_at, row.flash is not None
        )

    async def sign_out(self, session: Session) -> None:
        async with self.engine.begin() as conn:
            await store.delete_session(conn, session.digest)

    async def set_flash(
        self, session: Session, kind: str, text: str, written: Iterable[Written] = ()
    ) -> None:
        """The message the next page shows, with the stream positions the commands it
        reports produced (the next page shows their effect, see `catching_up`)."""
        flash: dict[str, Any] = {"kind": kind, "text": text}
        if kept := [w.as_json() for w in written]:
            flash["written"] = kept
        async with self.engine.begin() as conn:
            await store.set_flash(conn, session.digest, flash)

    async def take_flash(self, session: Session) -> dict[str, Any] | None:
        if not session.has_flash:
            return None
        async with self.engine.begin() as conn:
            return await store.take_flash(conn, session.digest)

    # ------------------------------------------------------------------ bearer tokens

    async def bearer(self, token: str) -> Principal:
        """The principal of an API token or a JWT (Problem 401 when neither is valid)."""
        api_token = ApiToken.parse(token)
        if api_token is not None:
            return await self._api_token(api_token, token)
        if token.startswith("arr_"):
            raise unauthorized("the API token is malformed")
        if self.jwt is None:
            raise unauthorized("bearer JWTs are not accepted: no identity provider is configured")
        claims = await self.jwt.claims(token)
        login = self.jwt.login(claims)
        roles = self.jwt.roles(claims)
        async with self.engine.connect() as conn:
            account = await store.get_account(conn, login)
        if account is None:
            name = str(claims.get("name") or login)
            return Principal(login=login, display_name=name, roles=roles, via="jwt")
        if account.disabled:
            raise unauthorized(f"the account {login} is disabled")
        return account.principal(via="jwt", roles=roles)

    async def _api_token(self, token: ApiToken, text: str) -> Principal:
        async with self.engine.connect() as conn:
            row = await store.get_token(conn, token.token_id)
        if row is None or row.revoked_at is not None or not same_digest(row.token_digest, text):
            raise unauthorized("the API token is unknown or revoked")
        return Principal(
            login=row.name,
            display_name=row.name,
            roles=row.roles,
            may_view_all=row.may_view_all,
            pools=row.pools,
            via="token",
        )


def same_digest(stored: str, text: str) -> bool:
    return secrets.compare_digest(stored, digest(text))


async def create_api_token(
    conn: AsyncConnection,
    *,
    name: str,
    roles: frozenset[Role],
    may_view_all: bool,
    pools: Sequence[PoolRef],
    now: datetime,
) -> tuple[str, str]:
    """Store a new API token; returns (token id, the token text — shown once, never kept)."""
    token = ApiToken(token_id_from(secrets.token_bytes(12)), secrets.token_urlsafe(32))
    await store.insert_token(
        conn,
        token_id=token.token_id,
        token_digest=digest(token.text),
        name=name,
        roles=roles,
        may_view_all=may_view_all,
        pools=pools,
        now=now,
    )
    return token.token_id, token.text


# ----------------------------------------------------------------------------- first start

FIRST_ADMIN = "admin"


async def ensure_first_admin(engine: AsyncEngine, settings: GatewaySettings, clock: Clock) -> None:
    """On the very first start (no account at all), create `admin` with the configured or a
    random password, and hand the password over once: to `initial_admin_file` when set,
    else to the console (never to the structured log)."""
    async with engine.connect() as conn:
        if await store.list_accounts(conn):
            return
    password = settings.initial_admin_password or secrets.token_urlsafe(15)
    account = Account(
        login=FIRST_ADMIN,
        display_name="Administrator",
        roles=frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT}),
        may_view_all=True,
        password_hash=await asyncio.to_thread(new_password_hash, password),
    )
    async with engine.begin() as conn:
        created = await store.create_first_account(conn, account, clock.now())
    if not created or settings.initial_admin_password:
        if created:
            log.info("first start: account admin created with the configured password")
        return
    target = settings.initial_admin_file
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"login": FIRST_ADMIN, "password": password}, out)
        log.info("first start: account admin created; credentials handed over", file=str(target))
        return
    banner = (
        f"\nfirst start: created the account '{FIRST_ADMIN}' with the password {password}\n"
        "(shown this once; sign in and change it on the Agents page)\n"
    )
    os.write(2, banner.encode())
