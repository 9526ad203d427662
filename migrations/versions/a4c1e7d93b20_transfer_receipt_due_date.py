"""a transfer's receipt is due a month after the letter's validity ends, kept on the row

Revision ID: a4c1e7d93b20
Revises: 06d32a24e348
Create Date: 2026-12-07 23:10:00

"""

import calendar
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

import rules

# revision identifiers, used by Alembic.
revision = "a4c1e7d93b20"
down_revision = "06d32a24e348"
branch_labels = None
depends_on = None

# An issued letter keeps its facts (1d34f67ceadd); its receipt date becomes one of them.
FACTS = "serial, member_id, from_org, to_org, issued_on, valid_days, pdf_sha256"


def _a_month_after(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def upgrade():
    op.add_column("transfers", sa.Column("receipt_due_on", sa.Date(), nullable=True))
    transfers = sa.table(
        "transfers",
        sa.column("id", sa.Integer),
        sa.column("issued_on", sa.Date),
        sa.column("valid_days", sa.Integer),
        sa.column("receipt_due_on", sa.Date),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(transfers.c.id, transfers.c.issued_on, transfers.c.valid_days))
    for row_id, issued_on, valid_days in rows.all():
        # The rule before settings existed: one month after the validity ends (DOMAIN.md).
        due = _a_month_after(issued_on + timedelta(days=valid_days))
        conn.execute(
            transfers.update().where(transfers.c.id == row_id).values(receipt_due_on=due)
        )
    # SQLite's batch mode copies the table into a new one, and triggers do not follow:
    # the two rules are dropped first and made again, the new date among the facts.
    _drop_rules()
    with op.batch_alter_table("transfers") as batch:
        batch.alter_column("receipt_due_on", existing_type=sa.Date(), nullable=False)
    _make_rules(FACTS + ", receipt_due_on")


def downgrade():
    _drop_rules()
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("receipt_due_on")
    _make_rules(FACTS)


def _drop_rules():
    rules.drop("transfers_facts_fixed", "transfers")
    rules.drop("transfers_no_delete", "transfers")


def _make_rules(facts: str):
    rules.refuse("transfers", "DELETE", "transfers rows are never deleted")
    rules.refuse(
        "transfers", "UPDATE", "an issued transfers row keeps its facts",
        name="transfers_facts_fixed", of=facts,
    )  # fmt: skip
