from tests.integration.ledger.conftest import ledger

__all__ = ["ledger"]
