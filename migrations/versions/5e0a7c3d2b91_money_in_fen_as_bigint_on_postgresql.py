"""money in fen as BIGINT on PostgreSQL

Revision ID: 5e0a7c3d2b91
Revises: b1fc269fc28a
Create Date: 2026-12-07 19:50:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "5e0a7c3d2b91"
down_revision = "b1fc269fc28a"
branch_labels = None
depends_on = None

# A loan of 10 亿元 is 10^11 fen. SQLite's INTEGER holds it already (64 bits);
# PostgreSQL's INTEGER does not.
COLUMNS = (("credit_supports", "amount_fen"), ("care_visits", "money_fen"))


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
