"""`flask audit purge`: audit rows and refusal counts past the retention period (never younger
than 183 days)."""

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete, func, select

from baojing import audit
from baojing.db import writing
from baojing.extensions import db
from baojing.models.audit import AccessDenial, AuditEntry
from baojing.models.types import utcnow

audit_cli = AppGroup("audit", help="审计日志")
MIN_AUDIT_DAYS = 183  # the database's own floor (migration b1bbe5ec8d23)


@audit_cli.command("purge")
@click.option(
    "--days", type=int, default=None, help="保留天数（默认 AUDIT_RETENTION_DAYS，最少 183）"
)
@click.option("--yes", is_flag=True, help="不再确认")
def audit_purge(days: int | None, yes: bool):
    """Delete audit rows older than the retention period; younger ones are refused."""
    keep = current_app.config["AUDIT_RETENTION_DAYS"] if days is None else days
    if keep < MIN_AUDIT_DAYS:
        raise click.ClickException(f"审计日志至少保留 {MIN_AUDIT_DAYS} 天（网络安全法第二十一条）")
    cutoff = utcnow() - timedelta(days=keep)
    tables = ((AuditEntry, AuditEntry.at), (AccessDenial, AccessDenial.minute))
    rows, denials = (
        db.session.scalar(select(func.count()).select_from(model).where(at < cutoff))
        for model, at in tables
    )
    db.session.rollback()  # no snapshot held while the operator reads the question
    if not yes:
        click.confirm(
            f"将删除 {rows} 条审计记录和 {denials} 条拒绝访问汇总（早于 {keep} 天），确定吗？",
            abort=True,
        )
    with writing():
        rows, denials = (
            db.session.execute(delete(model).where(at < cutoff)).rowcount for model, at in tables
        )
        audit.record(
            "audit.purge",
            entity_type="audit_log",
            after={"days": keep, "count": rows, "denials": denials},
            username="cli",
        )
        db.session.commit()
    click.echo(f"已删除 {rows} 条审计记录、{denials} 条拒绝访问汇总（保留最近 {keep} 天）")
