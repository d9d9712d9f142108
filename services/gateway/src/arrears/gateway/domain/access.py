"""Roles, permissions and the principal a request acts as.

A principal holds roles; a permission names the roles that grant it (`PERMISSIONS`). Roles
do not nest: an account that should both work accounts and approve write-offs holds
`agent` and `supervisor`. Which customers a principal sees is separate from what it may
do: the customers of its pools, or every customer when it may view all pools.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    """Works customer accounts: collection status, settlements, NSF, reprints, activities."""
    SUPERVISOR = "supervisor"
    """Everything an agent does, and write-offs, settlement reversals, fee reversals."""
    ADMIN = "admin"
    """Configuration (aging periods, pools, letter sequences) and accounts."""
    INTEGRATION = "integration"
    """Other systems: postings from the ERP and the bank, reads."""


class Permission(StrEnum):
    READ = "read"
    COLLECT = "collect"
    SETTLE = "settle"
    RETURN_PAYMENT = "return_payment"
    REVERSE_SETTLEMENT = "reverse_settlement"
    WRITE_OFF = "write_off"
    WAIVE_FEE = "waive_fee"
    REVERSE_FEE = "reverse_fee"
    POST_DOCUMENTS = "post_documents"
    CHANGE_CUSTOMER = "change_customer"
    CONFIGURE = "configure"
    MANAGE_STRATEGIES = "manage_strategies"
    MANAGE_ACCOUNTS = "manage_accounts"
    OVERRIDE_CONTACT_RULES = "override_contact_rules"
    MANAGE_WEBHOOKS = "manage_webhooks"
    SUPERVISE = "supervise"


A, S, M, N = Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.READ: frozenset({A, S, M, N}),
    Permission.COLLECT: frozenset({A, S}),
    Permission.SETTLE: frozenset({A, S, N}),
    Permission.RETURN_PAYMENT: frozenset({A, S, N}),
    Permission.REVERSE_SETTLEMENT: frozenset({S}),
    Permission.WRITE_OFF: frozenset({S}),
    Permission.WAIVE_FEE: frozenset({A, S}),
    Permission.REVERSE_FEE: frozenset({S}),
    Permission.POST_DOCUMENTS: frozenset({N}),
    Permission.CHANGE_CUSTOMER: frozenset({S, N}),
    Permission.CONFIGURE: frozenset({M}),
    Permission.MANAGE_STRATEGIES: frozenset({S, M}),
    Permission.MANAGE_ACCOUNTS: frozenset({M}),
    Permission.OVERRIDE_CONTACT_RULES: frozenset({S}),
    Permission.MANAGE_WEBHOOKS: frozenset({M, N}),
    Permission.SUPERVISE: frozenset({S, M}),
}
"""Which roles grant each permission."""

PERMISSION_TEXT: dict[Permission, str] = {
    Permission.READ: "read customers' balances, transactions and profiles (in scope)",
    Permission.COLLECT: "change collection status, request reprints, work activities and letters",
    Permission.SETTLE: "settle payments and credit notes against open transactions",
    Permission.RETURN_PAYMENT: "return a payment as NSF",
    Permission.REVERSE_SETTLEMENT: "reverse a settlement",
    Permission.WRITE_OFF: "write off open transactions",
    Permission.WAIVE_FEE: "waive or reinstate a fee",
    Permission.REVERSE_FEE: "reverse a fee",
    Permission.POST_DOCUMENTS: "register customers, post invoices, notes, fees and payments",
    Permission.CHANGE_CUSTOMER: "change a customer's profile and credit limit",
    Permission.CONFIGURE: "define aging periods, pools and letter sequences",
    Permission.MANAGE_STRATEGIES: "make new versions of the collection strategies of the pools "
    "one sees (and of the company default, when one may view all pools)",
    Permission.MANAGE_ACCOUNTS: "manage accounts of the workspace",
    Permission.OVERRIDE_CONTACT_RULES: "send a message the contact rules refuse, with a reason",
    Permission.MANAGE_WEBHOOKS: "manage webhook subscriptions, their deliveries and replays",
    Permission.SUPERVISE: "the supervisor's dashboard: KPIs of the pools (and, for those who "
    "may view all pools, of the company and of each agent) and the customers behind them",
}


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Roles from their names; an unknown name is an error (ValueError)."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(name.strip()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {name!r}; roles: {known}") from None
    return frozenset(roles)


@dataclass(frozen=True, slots=True)
class PoolRef:
    """A customer pool of one company (pools live in the aging service)."""

    company: str
    pool_id: str

    def __str__(self) -> str:
        return f"{self.company}/{self.pool_id}"

    @classmethod
    def parse(cls, text: str) -> PoolRef:
        """`company/pool_id` (the pool id may itself contain '/')."""
        company, slash, pool_id = text.strip().partition("/")
        if not slash or not company or not pool_id:
            raise ValueError(f"a pool is written company/pool_id, not {text!r}")
        return cls(company, pool_id)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as."""

    login: str
    display_name: str
    roles: frozenset[Role]
    may_view_all: bool = False
    pools: tuple[PoolRef, ...] = ()
    default_pool: PoolRef | None = None
    via: str = "session"
    """How it authenticated: session, jwt or token."""

    @property
    def actor(self) -> str:
        """Who acts, as recorded in every event a command of this principal appends."""
        return f"token:{self.login}" if self.via == "token" else self.login

    def can(self, permission: Permission) -> bool:
        return bool(self.roles & PERMISSIONS[permission])

    def pools_of(self, company: str) -> tuple[str, ...]:
        """Ids of this principal's pools in a company."""
        return tuple(p.pool_id for p in self.pools if p.company == company)

    def sees_pool(self, company: str, pool_id: str) -> bool:
        return self.may_view_all or pool_id in self.pools_of(company)

    def companies(self, offered: Iterable[str]) -> tuple[str, ...]:
        """Companies to offer: every offered one when it may view all, else its pools'."""
        mine = [p.company for p in self.pools]
        if self.may_view_all:
            mine = [*offered, *mine]
        return tuple(dict.fromkeys(mine))


LOGIN_PATTERN = r"^[a-z0-9][a-z0-9._@-]{0,99}$"
"""Logins are lower-case: letters, digits and . _ @ -, up to 100 characters."""


@dataclass(frozen=True, slots=True)
class Account:
    """A workspace account kept by the gateway (local sign-in, or the pools of an OIDC user)."""

    login: str
    display_name: str
    roles: frozenset[Role]
    may_view_all: bool = False
    pools: tuple[PoolRef, ...] = ()
    default_pool: PoolRef | None = None
    disabled: bool = False
    password_hash: str | None = None

    def __post_init__(self) -> None:
        if self.default_pool is not None and self.default_pool not in self.pools:
            raise ValueError(f"the default pool {self.default_pool} is not one of the pools")

    def principal(self, *, via: str = "session", roles: frozenset[Role] | None = None) -> Principal:
        return Principal(
            login=self.login,
            display_name=self.display_name,
            roles=self.roles if roles is None else roles,
            may_view_all=self.may_view_all,
            pools=self.pools,
            default_pool=self.default_pool,
            via=via,
        )
