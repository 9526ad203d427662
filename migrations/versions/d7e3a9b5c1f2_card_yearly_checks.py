"""activity cards are open-ended with a yearly check recorded on the same card

Revision ID: d7e3a9b5c1f2
Revises: c2b8f4e61a57
Create Date: 2026-12-07 23:50:00

"""

import rules
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d7e3a9b5c1f2"
down_revision = "c2b8f4e61a57"
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN, not a batch copy: the certificates table keeps its two triggers.
    op.add_column("certificates", sa.Column("check_due_on", sa.Date(), nullable=True))
    # A card's first check is due when its validity used to end (DOMAIN.md: no fixed
    # validity, a yearly check instead).
    op.execute("UPDATE certificates SET check_due_on = valid_until WHERE kind = 'card'")
    op.create_table(
        "card_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("next_due_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=100), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"],
            name=op.f("fk_card_checks_certificate_id_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_id"], ["users.id"], name=op.f("fk_card_checks_checked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_checks")),
        sa.UniqueConstraint("request_id", name=op.f("uq_card_checks_request_id")),
    )  # fmt: skip
    op.create_index(
        "ix_card_checks_certificate", "card_checks", ["certificate_id", "checked_on"]
    )
    for verb in ("UPDATE", "DELETE"):
        rules.refuse("card_checks", verb, "card_checks is append-only")


def downgrade():
    for verb in ("UPDATE", "DELETE"):
        rules.drop(f"card_checks_no_{verb.lower()}", "card_checks")
    op.drop_index("ix_card_checks_certificate", table_name="card_checks")
    op.drop_table("card_checks")
    op.drop_column("certificates", "check_due_on")  # SQLite's own DROP COLUMN: triggers stay
