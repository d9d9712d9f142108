"""aging: each transaction keeps its open amount (the sum of all its movements), so aging as of
any date is one set-based query (open now, less what moved after the date) and the daily
rollover finds the customers whose periods change without reading anyone's history.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from arrears.shared.db import quoted
from arrears.shared.migrations import schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = "open_amount <> 0 OR open_amount_txn <> 0"


def upgrade() -> None:
    s = schema()
    for column in ("open_amount", "open_amount_txn"):
        op.add_column(
            "transactions",
            sa.Column(column, sa.Numeric(24, 6), nullable=False, server_default="0"),
            schema=s,
        )
    op.create_index(
        "movements_by_transaction", "movements", ["company", "transaction_id"], schema=s
    )
    op.create_index("movements_by_date", "movements", ["effective_date"], schema=s)
    op.create_index("statuses_by_date", "statuses", ["effective_date"], schema=s)
    op.create_index("customer_aging_by_date", "customer_aging", ["as_of"], schema=s)
    op.create_index("transactions_by_posting_date", "transactions", ["posting_date"], schema=s)
    q = quoted(s)  # the one identifier in the statement, from validated settings
    op.execute(
        f"UPDATE {q}.transactions t SET open_amount = o.delta, open_amount_txn = o.delta_txn "  # noqa: S608
        f"FROM (SELECT company, transaction_id, sum(delta) AS delta, sum(delta_txn) AS delta_txn "
        f"FROM {q}.movements GROUP BY company, transaction_id) o "
        "WHERE o.company = t.company AND o.transaction_id = t.transaction_id"
    )
    op.create_index(
        "open_transactions_by_aging_date",
        "transactions",
        [sa.text("coalesce(due_date, document_date)")],
        schema=s,
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    s = schema()
    for index, table in (
        ("open_transactions_by_aging_date", "transactions"),
        ("transactions_by_posting_date", "transactions"),
        ("statuses_by_date", "statuses"),
        ("customer_aging_by_date", "customer_aging"),
        ("movements_by_date", "movements"),
        ("movements_by_transaction", "movements"),
    ):
        op.drop_index(index, table, schema=s)
    for column in ("open_amount", "open_amount_txn"):
        op.drop_column("transactions", column, schema=s)
