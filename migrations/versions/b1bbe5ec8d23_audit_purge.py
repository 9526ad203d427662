"""audit purge after retention

Revision ID: b1bbe5ec8d23
Revises: 8561d2078505
Create Date: 2026-11-28 22:16:14.885169

"""
from alembic import op

import rules
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1bbe5ec8d23'
down_revision = '8561d2078505'
branch_labels = None
depends_on = None


# The legal floor (Cybersecurity Law art. 21: logs kept at least six months). The
# database refuses to delete anything younger whatever the app's setting says;
# `flask audit purge` may keep rows longer (AUDIT_RETENTION_DAYS), never shorter.
FLOOR_DAYS = 183


def upgrade():
    rules.drop("audit_log_no_delete", "audit_log")
    # Times are stored as naive UTC on both engines.
    rules.refuse(
        "audit_log", "DELETE", "audit_log is append-only",
        when_sqlite=f"OLD.at > datetime('now', '-{FLOOR_DAYS} days')",
        when_postgresql=f"OLD.at > (now() AT TIME ZONE 'utc') - interval '{FLOOR_DAYS} days'",
    )


def downgrade():
    rules.drop("audit_log_no_delete", "audit_log")
    rules.refuse("audit_log", "DELETE", "audit_log is append-only")
