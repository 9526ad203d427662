"""`flask tasks …`: the month's tasks from the townships' templates (a cron line runs it)."""

import click
from flask.cli import AppGroup

from baojing.audit import acting_as
from baojing.dates import local_today
from baojing.db import writing
from baojing.extensions import db
from baojing.services.tasks import setting

tasks_cli = AppGroup("tasks", help="月度党建任务")


@tasks_cli.command("roll")
@click.option("--month", default=None, help="哪个月，如 2026-12（默认：本月）")
def tasks_roll(month: str | None):
    """Create the month's tasks from every active template; safe to rerun."""
    if month is not None and setting.parse_month(month) is None:
        raise click.BadParameter("请写成 2026-12 这样的年月", param_hint="--month")
    month = month or setting.month_of(local_today())
    with writing(), acting_as(username="cli"):
        created = setting.roll(month)
        db.session.commit()
    click.echo(f"{setting.month_label(month)}：按模板新建任务 {len(created)} 项")
