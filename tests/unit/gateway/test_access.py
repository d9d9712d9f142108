"""Roles, the permission table and what a principal sees."""

from __future__ import annotations

import pytest

from arrears.gateway.domain.access import (
    PERMISSION_TEXT,
    PERMISSIONS,
    Account,
    Permission,
    PoolRef,
    Principal,
    Role,
    parse_roles,
)

pytestmark = pytest.mark.unit


def principal(*roles: Role, **extra: object) -> Principal:
    return Principal("p", "P", frozenset(roles), **extra)  # type: ignore[arg-type]


def test_every_permission_is_granted_by_some_role_and_described() -> None:
    assert set(PERMISSIONS) == set(Permission) == set(PERMISSION_TEXT)
    assert all(PERMISSIONS.values())


def test_write_off_and_settlement_reversal_need_a_supervisor() -> None:
    for permission in (Permission.WRITE_OFF, Permission.REVERSE_SETTLEMENT):
        assert PERMISSIONS[permission] == {Role.SUPERVISOR}
        assert not principal(Role.AGENT).can(permission)
        assert not principal(Role.ADMIN, Role.INTEGRATION).can(permission)
        assert principal(Role.AGENT, Role.SUPERVISOR).can(permission)


def test_agents_collect_integrations_post_admins_configure() -> None:
    agent, integration, admin = (
        principal(Role.AGENT),
        principal(Role.INTEGRATION),
        principal(Role.ADMIN),
    )
    assert agent.can(Permission.COLLECT) and agent.can(Permission.SETTLE)
    assert not agent.can(Permission.POST_DOCUMENTS) and not agent.can(Permission.CONFIGURE)
    assert integration.can(Permission.POST_DOCUMENTS) and not integration.can(Permission.COLLECT)
    assert admin.can(Permission.CONFIGURE) and admin.can(Permission.MANAGE_ACCOUNTS)
    assert not admin.can(Permission.COLLECT)
    assert all(p.can(Permission.READ) for p in (agent, integration, admin))
    assert not principal().can(Permission.READ)


def test_a_principal_sees_its_pools_or_all() -> None:
    mine = principal(Role.AGENT, pools=(PoolRef("usmf", "a"), PoolRef("demf", "b")))
    assert mine.pools_of("usmf") == ("a",) and mine.sees_pool("usmf", "a")
    assert not mine.sees_pool("usmf", "b") and not mine.sees_pool("demf", "a")
    assert mine.companies(["other"]) == ("usmf", "demf")
    everything = principal(Role.AGENT, may_view_all=True)
    assert everything.sees_pool("usmf", "anything")
    assert everything.companies(["usmf", "demf"]) == ("usmf", "demf")


def test_tokens_act_under_a_name_of_their_own() -> None:
    assert principal(Role.AGENT).actor == "p"
    assert principal(Role.INTEGRATION, via="token").actor == "token:p"


def test_pools_are_written_company_slash_pool() -> None:
    assert PoolRef.parse("usmf/high/risk") == PoolRef("usmf", "high/risk")
    assert str(PoolRef("usmf", "a")) == "usmf/a"
    for bad in ("usmf", "/a", "usmf/"):
        with pytest.raises(ValueError):
            PoolRef.parse(bad)


def test_roles_are_a_closed_set_and_the_default_pool_is_one_of_the_pools() -> None:
    assert parse_roles(["agent", " supervisor "]) == {Role.AGENT, Role.SUPERVISOR}
    with pytest.raises(ValueError, match="unknown role"):
        parse_roles(["root"])
    with pytest.raises(ValueError, match="default pool"):
        Account("a", "A", frozenset(), pools=(), default_pool=PoolRef("usmf", "x"))
