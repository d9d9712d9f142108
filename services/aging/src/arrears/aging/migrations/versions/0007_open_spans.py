"""aging: each transaction's open amount over time (`open_spans`: from one date to the next
movement's, the amount open in between; only spans with something open), so aging as of any
date reads exactly the items open on that date through one range index and no movement.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from arrears.shared.db import quoted
from arrears.shared.migrations import schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    q = quoted(schema())  # the one identifier in the statements, from validated settings
    op.execute(
        f"CREATE TABLE {q}.open_spans ("
        "company text NOT NULL, transaction_id text NOT NULL, customer_id text NOT NULL, "
        "valid daterange NOT NULL, kind text NOT NULL, receivable boolean NOT NULL, "
        "due_date date, document_date date NOT NULL, posting_date date NOT NULL, "
        "open_amount numeric(24, 6) NOT NULL, open_amount_txn numeric(24, 6) NOT NULL, "
        "PRIMARY KEY (company, transaction_id, valid))"
    )
    op.execute(f"CREATE INDEX open_spans_by_date ON {q}.open_spans USING gist (valid)")
    op.execute(f"CREATE INDEX open_spans_by_customer ON {q}.open_spans (company, customer_id)")
    op.execute(f"INSERT INTO {q}.open_spans {SPANS.format(schema=q, where='')}")


SPANS = (
    "SELECT company, transaction_id, customer_id, valid, kind, receivable, due_date, "
    "document_date, posting_date, open_amount, open_amount_txn FROM ("
    "SELECT d.company, d.transaction_id, t.customer_id, "
    "daterange(d.day, lead(d.day) OVER w) AS valid, t.kind, t.receivable, t.due_date, "
    "t.document_date, t.posting_date, "
    "sum(d.delta) OVER w AS open_amount, sum(d.delta_txn) OVER w AS open_amount_txn "
    "FROM (SELECT company, transaction_id, effective_date AS day, sum(delta) AS delta, "
    "sum(delta_txn) AS delta_txn FROM {schema}.movements {where} "
    "GROUP BY company, transaction_id, effective_date) d "
    "JOIN {schema}.transactions t USING (company, transaction_id) "
    "WINDOW w AS (PARTITION BY d.company, d.transaction_id ORDER BY d.day)) s "
    "WHERE open_amount <> 0 OR open_amount_txn <> 0"
)


def downgrade() -> None:
    op.execute(f"DROP TABLE {quoted(schema())}.open_spans")
