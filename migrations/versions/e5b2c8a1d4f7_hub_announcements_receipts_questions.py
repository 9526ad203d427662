"""the county hub: announcements with read receipts, and members' questions (issue 16)

Revision ID: e5b2c8a1d4f7
Revises: 86e21b880ded
Create Date: 2026-12-07 23:33:55.746160

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e5b2c8a1d4f7'
down_revision = '86e21b880ded'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('pinned_until', sa.Date(), nullable=True),
    sa.Column('attachment_token', sa.String(length=32), nullable=True),
    sa.Column('attachment_kind', sa.String(length=10), nullable=True),
    sa.Column('attachment_name', sa.String(length=100), server_default='', nullable=False),
    sa.Column('attachment_bytes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('request_id', sa.String(length=40), nullable=True),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_announcements_published_by_id_users')),
    sa.ForeignKeyConstraint(['township_id'], ['org_units.id'], name=op.f('fk_announcements_township_id_org_units')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_announcements_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements')),
    sa.UniqueConstraint('request_id', name=op.f('uq_announcements_request_id'))
    )
    op.create_index('ix_announcements_scope', 'announcements', ['scope', 'published_at'])
    op.create_index('ix_announcements_township', 'announcements', ['township_id', 'published_at'])
    op.create_index('ix_announcements_village', 'announcements', ['village_id', 'published_at'])

    op.create_table('questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('addressed_to', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('body', sa.String(length=1000), nullable=False),
    sa.Column('consent_publish', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answer_seen_at', sa.DateTime(), nullable=True),
    sa.Column('faq_question', sa.String(length=1000), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('request_id', sa.String(length=40), nullable=True),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_questions_answered_by_id_users')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_questions_member_id_members')),
    sa.ForeignKeyConstraint(['township_id'], ['org_units.id'], name=op.f('fk_questions_township_id_org_units')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_questions_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions')),
    sa.UniqueConstraint('request_id', name=op.f('uq_questions_request_id'))
    )
    op.create_index('ix_questions_faq', 'questions', ['published_at'])
    op.create_index('ix_questions_inbox', 'questions', ['addressed_to', 'township_id', 'status', 'created_at'])
    op.create_index('ix_questions_member', 'questions', ['member_id', 'created_at'])

    op.create_table('announcement_receipts',
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('nudged_at', sa.DateTime(), nullable=True),
    sa.Column('nudged_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_announcement_receipts_announcement_id_announcements')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_announcement_receipts_member_id_members')),
    sa.ForeignKeyConstraint(['nudged_by_id'], ['users.id'], name=op.f('fk_announcement_receipts_nudged_by_id_users')),
    sa.PrimaryKeyConstraint('announcement_id', 'member_id', name=op.f('pk_announcement_receipts'))
    )
    op.create_index('ix_announcement_receipts_member', 'announcement_receipts', ['member_id', 'announcement_id'])



def downgrade():
    op.drop_index('ix_announcement_receipts_member', table_name='announcement_receipts')

    op.drop_table('announcement_receipts')
    op.drop_index('ix_questions_member', table_name='questions')
    op.drop_index('ix_questions_inbox', table_name='questions')
    op.drop_index('ix_questions_faq', table_name='questions')

    op.drop_table('questions')
    op.drop_index('ix_announcements_village', table_name='announcements')
    op.drop_index('ix_announcements_township', table_name='announcements')
    op.drop_index('ix_announcements_scope', table_name='announcements')

    op.drop_table('announcements')
