"""monthly tasks of the online branch: templates, tasks, members' completions

Revision ID: 86e21b880ded
Revises: 584d075b641c
Create Date: 2026-12-07 23:33:32.314388

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "86e21b880ded"
down_revision = "584d075b641c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "task_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("completion", sa.String(length=10), nullable=False),
        sa.Column("due_day", sa.Integer(), nullable=False),
        sa.Column("point_rule_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_task_templates_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["point_rule_id"],
            ["point_rules.id"],
            name=op.f("fk_task_templates_point_rule_id_point_rules"),
        ),
        sa.ForeignKeyConstraint(
            ["township_id"], ["org_units.id"], name=op.f("fk_task_templates_township_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_templates")),
    )
    op.create_index(
        "ix_task_templates_township", "task_templates", ["township_id", "active"], unique=False
    )

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("completion", sa.String(length=10), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("point_rule_id", sa.Integer(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_tasks_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["point_rule_id"], ["point_rules.id"], name=op.f("fk_tasks_point_rule_id_point_rules")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["task_templates.id"], name=op.f("fk_tasks_template_id_task_templates")
        ),
        sa.ForeignKeyConstraint(
            ["township_id"], ["org_units.id"], name=op.f("fk_tasks_township_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("request_id", name=op.f("uq_tasks_request_id")),
        sa.UniqueConstraint("template_id", "month", name="uq_tasks_template_month"),
    )
    op.create_index(
        "ix_tasks_township_month", "tasks", ["township_id", "month", "due_on"], unique=False
    )

    op.create_table(
        "task_completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("file_token", sa.String(length=32), nullable=True),
        sa.Column("file_type", sa.String(length=8), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("rejected_at", sa.DateTime(), nullable=True),
        sa.Column("rejected_by_id", sa.Integer(), nullable=True),
        sa.Column("reject_reason", sa.String(length=100), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_task_completions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_task_completions_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["rejected_by_id"], ["users.id"], name=op.f("fk_task_completions_rejected_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_completions_task_id_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["township_id"],
            ["org_units.id"],
            name=op.f("fk_task_completions_township_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_units.id"], name=op.f("fk_task_completions_village_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_completions")),
        sa.UniqueConstraint("file_token", name=op.f("uq_task_completions_file_token")),
        sa.UniqueConstraint("request_id", name=op.f("uq_task_completions_request_id")),
    )
    op.create_index(
        "ix_task_completions_member", "task_completions", ["member_id", "task_id"], unique=False
    )
    op.create_index(
        "ix_task_completions_township",
        "task_completions",
        ["township_id", "task_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_task_completions_village",
        "task_completions",
        ["village_id", "task_id", "status"],
        unique=False,
    )
    op.create_index(
        "uq_task_completions_done",
        "task_completions",
        ["task_id", "member_id"],
        unique=True,
        sqlite_where=sa.text("status = 'done'"),
        postgresql_where=sa.text("status = 'done'"),
    )


def downgrade():
    op.drop_index("uq_task_completions_done", table_name="task_completions")
    op.drop_index("ix_task_completions_village", table_name="task_completions")
    op.drop_index("ix_task_completions_township", table_name="task_completions")
    op.drop_index("ix_task_completions_member", table_name="task_completions")

    op.drop_table("task_completions")
    op.drop_index("ix_tasks_township_month", table_name="tasks")

    op.drop_table("tasks")
    op.drop_index("ix_task_templates_township", table_name="task_templates")

    op.drop_table("task_templates")
