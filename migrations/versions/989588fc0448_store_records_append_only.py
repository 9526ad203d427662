"""store records append-only

Revision ID: 989588fc0448
Revises: 9950e6988903
Create Date: 2026-11-29 00:10:41.621019

"""
from alembic import op

import rules
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
            rules.refuse(table, verb, f"{table} is append-only")
    changed = "OLD.used_at IS NOT NULL OR NEW.used_at IS NULL OR NEW.code {ne} OLD.code " \
        "OR NEW.redemption_id {ne} OLD.redemption_id OR NEW.member_id {ne} OLD.member_id"
    rules.refuse(
        "vouchers", "UPDATE", "a voucher is used once and never changed otherwise",
        name="vouchers_used_once", when_sqlite=changed.format(ne="IS NOT"),
        when_postgresql=changed.format(ne="IS DISTINCT FROM"),
    )
    rules.refuse("vouchers", "DELETE", "vouchers are never deleted")


def downgrade():
    rules.drop("vouchers_no_delete", "vouchers")
    rules.drop("vouchers_used_once", "vouchers")
    for table in FROZEN:
        for verb in ("update", "delete"):
            rules.drop(f"{table}_no_{verb}", table)
