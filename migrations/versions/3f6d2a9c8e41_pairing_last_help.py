"""a pairing's last help on its own row: the idle families are an index range

Revision ID: 3f6d2a9c8e41
Revises: 5e0a7c3d2b91
Create Date: 2026-12-07 20:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3f6d2a9c8e41"
down_revision = "5e0a7c3d2b91"
branch_labels = None
depends_on = None

SCOPES = (("ix_family_pairings_village", "village_id"), ("ix_family_pairings_township", "township_id"))


def upgrade():
    op.add_column("family_pairings", sa.Column("last_helped_on", sa.Date(), nullable=True))
    op.execute(
        "UPDATE family_pairings SET last_helped_on = "
        "(SELECT max(helped_on) FROM pairing_helps WHERE pairing_id = family_pairings.id)"
    )
    # The to-do counts a scope's idle pairings and lists the oldest ones from the index
    # alone (covering: scope, open, last help, start).
    for name, scope in SCOPES:
        op.drop_index(name, table_name="family_pairings")
        op.create_index(
            name, "family_pairings", [scope, "ended_on", "last_helped_on", "started_on"]
        )


def downgrade():
    for name, scope in SCOPES:
        op.drop_index(name, table_name="family_pairings")
        op.create_index(name, "family_pairings", [scope, "ended_on"])
    op.drop_column("family_pairings", "last_helped_on")
