"""access denials counted per user, endpoint and minute

Revision ID: 06d32a24e348
Revises: 3f6d2a9c8e41
Create Date: 2026-12-07 23:00:00

"""

import sqlalchemy as sa
from alembic import op

import rules

# revision identifiers, used by Alembic.
revision = "06d32a24e348"
down_revision = "3f6d2a9c8e41"
branch_labels = None
depends_on = None

# As the audit log (migration b1bbe5ec8d23): nothing younger than the legal six months is
# deleted, whatever `flask audit purge` is told.
FLOOR_DAYS = 183
# Every column but the count: what a refusal was is written once.
WRITTEN_ONCE = "id, minute, user_id, username, role, endpoint, outcome, ip, path"


def upgrade():
    op.create_table(
        "access_denials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("minute", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("endpoint", sa.String(length=80), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_denials")),
        sa.UniqueConstraint(
            "user_id", "endpoint", "minute", name=op.f("uq_access_denials_user_id")
        ),
    )
    with op.batch_alter_table("access_denials", schema=None) as batch_op:
        batch_op.create_index("ix_access_denials_minute", ["minute"], unique=False)

    # A record that must not lie (SECURITY.md items 14, 21): the count only goes up.
    message = "access_denials is append-only"
    rules.refuse("access_denials", "UPDATE", message, of=WRITTEN_ONCE)
    rules.refuse(
        "access_denials", "UPDATE", f"{message}: its count only goes up",
        name="access_denials_count_up", of="count",
        when_sqlite="NEW.count <= OLD.count", when_postgresql="NEW.count <= OLD.count",
    )  # fmt: skip
    # Times are stored as naive UTC on both engines.
    rules.refuse(
        "access_denials", "DELETE", message,
        when_sqlite=f"OLD.minute > datetime('now', '-{FLOOR_DAYS} days')",
        when_postgresql=f"OLD.minute > (now() AT TIME ZONE 'utc') - interval '{FLOOR_DAYS} days'",
    )  # fmt: skip


def downgrade():
    for name in ("access_denials_no_update", "access_denials_count_up", "access_denials_no_delete"):
        rules.drop(name, "access_denials")
    with op.batch_alter_table("access_denials", schema=None) as batch_op:
        batch_op.drop_index("ix_access_denials_minute")
    op.drop_table("access_denials")
