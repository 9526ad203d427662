"""member searches on indexes: given name, phone prefix and tail, ID tail by village and township

Revision ID: b1fc269fc28a
Revises: c9d78c0bdba3
Create Date: 2026-12-07 18:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1fc269fc28a'
down_revision = 'c9d78c0bdba3'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_members_village_tail': ['village_id', 'id_tail'],
    'ix_members_township_tail': ['township_id', 'id_tail'],
    'ix_members_village_phone_tail': ['village_id', 'phone_tail'],
    'ix_members_township_phone_tail': ['township_id', 'phone_tail'],
    'ix_members_phone_tail': ['phone_tail'],
    'ix_members_village_phone': ['village_id', 'phone'],
    'ix_members_township_phone': ['township_id', 'phone'],
    'ix_members_village_given': ['village_id', 'status', 'given_name'],
    'ix_members_township_given': ['township_id', 'status', 'given_name'],
    'ix_members_status_given': ['status', 'given_name'],
}


def upgrade():
    # Not in batch mode: a plain ADD COLUMN needs no rebuild of the members table.
    # SQLite adds a computed column as VIRTUAL (all it can add), PostgreSQL 15 as STORED.
    stored = True if op.get_bind().dialect.name == 'postgresql' else None
    op.add_column('members', sa.Column(
        'given_name', sa.String(length=40), sa.Computed('substr(name, 2)', persisted=stored)
    ))
    op.add_column('members', sa.Column(
        'phone_tail', sa.String(length=4), sa.Computed('substr(phone, 8)', persisted=stored)
    ))
    for name, columns in INDEXES.items():
        op.create_index(name, 'members', columns, unique=False)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name='members')
    op.drop_column('members', 'phone_tail')
    op.drop_column('members', 'given_name')
