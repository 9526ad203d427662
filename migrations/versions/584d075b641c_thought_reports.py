"""quarterly thought reports: reports, their steps (append-only) and photos

Revision ID: 584d075b641c
Revises: d7e3a9b5c1f2
Create Date: 2026-12-07 23:36:11.029247

"""
from alembic import op

import rules
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '584d075b641c'
down_revision = 'd7e3a9b5c1f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('thought_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('draft_editor', sa.String(length=40), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('first_submitted_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.Column('review_comment', sa.Text(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_thought_reports_member_id_members')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_thought_reports_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['township_id'], ['org_units.id'], name=op.f('fk_thought_reports_township_id_org_units')),
    sa.ForeignKeyConstraint(['village_id'], ['org_units.id'], name=op.f('fk_thought_reports_village_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thought_reports')),
    sa.UniqueConstraint('member_id', 'quarter', name='uq_thought_reports_member_quarter')
    )
    op.create_index('ix_thought_reports_quarter', 'thought_reports', ['quarter', 'status'])
    op.create_index('ix_thought_reports_township', 'thought_reports', ['township_id', 'quarter', 'status'])
    op.create_index('ix_thought_reports_village', 'thought_reports', ['village_id', 'quarter', 'status'])

    op.create_table('thought_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('request_id', sa.String(length=40), nullable=True),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_thought_events_actor_id_users')),
    sa.ForeignKeyConstraint(['report_id'], ['thought_reports.id'], name=op.f('fk_thought_events_report_id_thought_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thought_events')),
    sa.UniqueConstraint('request_id', name=op.f('uq_thought_events_request_id'))
    )
    op.create_index('ix_thought_events_report', 'thought_events', ['report_id', 'id'])

    op.create_table('thought_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['thought_reports.id'], name=op.f('fk_thought_photos_report_id_thought_reports')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_thought_photos_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thought_photos')),
    sa.UniqueConstraint('token', name=op.f('uq_thought_photos_token'))
    )
    op.create_index('ix_thought_photos_report', 'thought_photos', ['report_id', 'id'])

    # A report and its photos are never deleted (a photo taken off is marked removed);
    # a step of a report, once written, stays as written.
    for table in ("thought_reports", "thought_photos"):
        rules.refuse(table, "DELETE", f"{table} rows are never deleted")
    for verb in ("UPDATE", "DELETE"):
        rules.refuse("thought_events", verb, "thought_events is append-only")


def downgrade():
    for verb in ("UPDATE", "DELETE"):
        rules.drop(f"thought_events_no_{verb.lower()}", "thought_events")
    for table in ("thought_reports", "thought_photos"):
        rules.drop(f"{table}_no_delete", table)
    op.drop_index('ix_thought_photos_report', table_name='thought_photos')

    op.drop_table('thought_photos')
    op.drop_index('ix_thought_events_report', table_name='thought_events')

    op.drop_table('thought_events')
    op.drop_index('ix_thought_reports_village', table_name='thought_reports')
    op.drop_index('ix_thought_reports_township', table_name='thought_reports')
    op.drop_index('ix_thought_reports_quarter', table_name='thought_reports')

    op.drop_table('thought_reports')
