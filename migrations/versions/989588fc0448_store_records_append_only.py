"""store records append-only

Revision ID: 989588fc0448
Revises: 9950e6988903
Create Date: 2026-11-29 00:10:41.621019

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '989588fc0448'
down_revision = '9950e6988903'
branch_labels = None
depends_on = None


# Written once, never edited: what a receipt or a published correction says must
# stay what it said. A voucher changes once, from unused to used.
FROZEN = ("redemptions", "ranking_amendments")


def upgrade():
    for table in FROZEN:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    op.execute(
        "CREATE TRIGGER vouchers_used_once BEFORE UPDATE ON vouchers "
        "WHEN OLD.used_at IS NOT NULL OR NEW.used_at IS NULL OR NEW.code IS NOT OLD.code "
        "OR NEW.redemption_id IS NOT OLD.redemption_id OR NEW.member_id IS NOT OLD.member_id "
        "BEGIN SELECT RAISE(ABORT, 'a voucher is used once and never changed otherwise'); END"
    )
    op.execute(
        "CREATE TRIGGER vouchers_no_delete BEFORE DELETE ON vouchers "
        "BEGIN SELECT RAISE(ABORT, 'vouchers are never deleted'); END"
    )


def downgrade():
    op.execute("DROP TRIGGER vouchers_no_delete")
    op.execute("DROP TRIGGER vouchers_used_once")
    for table in FROZEN:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{verb}")
