"""The gateway offers every command route of the ledger, each with a permission."""

from __future__ import annotations

import pytest

from arrears.gateway.commands import COMMANDS, ledger_path
from arrears.gateway.domain.access import Permission
from arrears.ledger.api import ROUTES

pytestmark = pytest.mark.unit


def test_every_ledger_command_route_is_offered_with_the_same_method_and_path() -> None:
    ledger = {(r.method, r.path, r.command.__name__) for r in ROUTES}
    gateway = {(c.method, c.path, c.name) for c in COMMANDS}
    assert gateway == ledger


def test_the_sensitive_commands_need_their_permissions() -> None:
    needs = {c.name: c.permission for c in COMMANDS}
    assert needs["WriteOffTransactions"] is Permission.WRITE_OFF
    assert needs["ReverseSettlement"] is Permission.REVERSE_SETTLEMENT
    assert needs["ChangeCollectionStatus"] is Permission.COLLECT
    assert needs["PostInvoice"] is Permission.POST_DOCUMENTS


def test_path_values_are_encoded() -> None:
    route = next(c for c in COMMANDS if c.name == "ReturnPaymentNsf")
    path = ledger_path(
        route, {"company": "usmf", "customer_id": "A 1?#", "payment_transaction_id": "P%1"}
    )
    assert path == "/v1/companies/usmf/customers/A%201%3F%23/payments/P%251/nsf"
