"""Command-line tools: demo data, backups, users, deploy checks (DESIGN.md "Contract")."""

import os
import sqlite3
import sys
import time
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, func, select

from baojing import audit
from baojing import demo as demo_data
from baojing.extensions import db, writing
from baojing.models.audit import AuditEntry
from baojing.models.meta import is_demo_marked
from baojing.models.org import MOBILE_ORG, TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.types import utcnow
from baojing.models.users import ROLES, User
from baojing.services import RuleViolation, accounts

demo_cli = AppGroup("demo", help="演示数据")
backup_cli = AppGroup("backup", help="在线备份与恢复 SQLite 数据库")
users_cli = AppGroup("users", help="账户管理")
deploy_cli = AppGroup("deploy", help="上线前检查")
audit_cli = AppGroup("audit", help="审计日志")


def init_app(app):
    from baojing.pdf_cli import pdf_cli
    from baojing.points_cli import points_cli
    from baojing.roster_cli import members_cli
    from baojing.setup_cli import setup_command

    for group in (demo_cli, backup_cli, users_cli, deploy_cli, audit_cli, points_cli, pdf_cli):
        app.cli.add_command(group)
    app.cli.add_command(members_cli)
    app.cli.add_command(setup_command)


# --- demo ----------------------------------------------------------------------------


@demo_cli.command("load")
@click.option("--members", default=300, show_default=True, type=click.IntRange(1, 200_000))
@click.option("--keep", is_flag=True, help="已有演示数据时保持不变（make run 使用）")
def demo_load(members: int, keep: bool):
    """Load deterministic demo data; refuses a database holding real data."""
    with writing():
        _demo_load(members, keep)


def _demo_load(members: int, keep: bool):
    upgrade()
    try:
        already = demo_data.refuse_if_real(db.session)
    except demo_data.RealDataPresent as exc:
        raise click.ClickException(str(exc)) from exc
    if already and keep:
        click.echo("演示数据已存在，保持不变（去掉 --keep 可重新生成）")
        return
    if already:
        _start_over()
        upgrade()
    started = time.perf_counter()
    counts = demo_data.load(members=members)
    db.session.commit()
    checkpoint()
    current_app.extensions["baojing_demo"] = True
    click.echo(
        f"已载入演示数据：{counts['townships']} 个乡镇、{counts['villages']} 个村、"
        f"{counts['members']} 名流动党员，用时 {time.perf_counter() - started:.1f} 秒"
    )
    click.echo(
        f"演示账户 admin / township / secretary / secretary2 / clerk / member / mentor / leader，"
        f"密码 {demo_data.DEMO_PASSWORD}"
    )


def _start_over() -> None:
    """Empty a demo database before a reload (refuse_if_real has said it is one).

    The audit log refuses DELETE, so the schema goes instead. A SQLite file is simply
    removed: migrating down rebuilds tables that others point at, which SQLite's foreign
    keys refuse once there are rows.
    """
    db.session.remove()
    if db.engine.url.get_backend_name() == "sqlite":
        path = database_path()
        db.engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        downgrade(revision="base")


# --- backup --------------------------------------------------------------------------


def checkpoint() -> None:
    """Copy the WAL into the database and truncate it (outside any transaction)."""
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def database_path() -> Path:
    name = db.engine.url.database
    if not name or name == ":memory:":
        raise click.ClickException("只支持文件型 SQLite 数据库")
    return Path(name)


def integrity_ok(path: Path) -> tuple[bool, str]:
    conn = sqlite3.connect(path)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return result == "ok", result


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while the app is writing."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_create(path: Path):
    """Write a consistent copy of the live database to PATH and check it."""
    source = database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.unlink(missing_ok=True)
    copy_database(source, tmp)
    ok, detail = integrity_ok(tmp)
    if not ok:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(f"备份完整性检查失败：{detail}")
    os.replace(tmp, path)
    click.echo(f"备份完成：{path}（{path.stat().st_size // 1024} KB，integrity_check ok）")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不再确认")
def backup_restore(path: Path, yes: bool):
    """Replace the live database with the backup at PATH (checked first)."""
    ok, detail = integrity_ok(path)
    if not ok:
        raise click.ClickException(f"备份文件损坏，未恢复：{detail}")
    target = database_path()
    if not yes:
        click.confirm(f"将用 {path} 覆盖 {target}，确定吗？", abort=True)
    db.session.remove()
    db.engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    copy_database(path, target)
    ok, detail = integrity_ok(target)
    if not ok:
        raise click.ClickException(f"恢复后的数据库完整性检查失败：{detail}")
    click.echo(f"已从 {path} 恢复到 {target}")


# --- users ---------------------------------------------------------------------------


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", default="", help="显示的姓名")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option(
    "--scope",
    default="",
    help="乡镇、村或流动党组织，如 迁陵镇、迁陵镇/踏梯村、迁陵镇/驻宁波流动党支部",
)
@click.option("--member-id", type=int, default=None, help="流动党员角色：党员编号")
@click.option("--password", default=None, help="不提供则交互输入；输入为空则生成一次性密码")
def users_create(username, display_name, role, scope, member_id, password):
    """Create an account (the first county admin is created this way)."""
    with writing():
        _users_create(username, display_name, role, scope, member_id, password)


def _users_create(username, display_name, role, scope, member_id, password):
    unit = _find_scope(scope) if scope else None
    if password is None:
        password = (
            click.prompt(
                "密码（留空则生成一次性密码）", default="", hide_input=True, show_default=False
            )
            or None
        )
    data = {
        "username": username,
        "display_name": display_name or username,
        "role": role,
        "org_unit_id": unit.id if unit else None,
        "member_id": member_id,
    }
    try:
        user, issued = accounts.create_user(data, password=password)
    except RuleViolation as exc:
        raise click.ClickException("；".join(exc.errors.values())) from exc
    db.session.commit()
    click.echo(f"已创建账户 {user.username}（{user.role_label}）")
    if password is None:
        click.echo(f"一次性密码：{issued}（首次登录须修改）")


def _find_scope(text: str) -> OrgUnit:
    """迁陵镇, 迁陵镇/踏梯村 (or 踏梯村党支部), 迁陵镇/<a 流动党组织's name>; open units only."""
    township_name, _, unit_name = text.partition("/")
    township = db.session.scalar(
        select(OrgUnit).where(OrgUnit.kind == TOWNSHIP, OrgUnit.name == township_name.strip())
    )
    if township is None:
        raise click.ClickException(f"没有名为 {township_name} 的乡镇")
    if not unit_name:
        return township
    unit_name = unit_name.strip()
    names = {unit_name, unit_name.removesuffix("党支部")}
    unit = db.session.scalar(
        select(OrgUnit).where(
            OrgUnit.kind.in_((VILLAGE, MOBILE_ORG)),
            OrgUnit.township_id == township.id,
            OrgUnit.name.in_(names),
            OrgUnit.closed_at.is_(None),
        )
    )
    if unit is None:
        raise click.ClickException(f"{township_name} 没有名为 {unit_name} 的村或流动党组织")
    return unit


# --- audit ---------------------------------------------------------------------------


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
    count = db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.at < cutoff)
    )
    db.session.rollback()  # no snapshot held while the operator reads the question
    if not yes:
        click.confirm(f"将删除 {count} 条早于 {keep} 天的审计记录，确定吗？", abort=True)
    with writing():
        count = db.session.execute(delete(AuditEntry).where(AuditEntry.at < cutoff)).rowcount
        audit.record(
            "audit.purge",
            entity_type="audit_log",
            after={"days": keep, "count": count},
            username="cli",
        )
        db.session.commit()
    click.echo(f"已删除 {count} 条审计记录（保留最近 {keep} 天）")


# --- deploy --------------------------------------------------------------------------

MIN_AUDIT_DAYS = 183  # the database's own floor (migration b1bbe5ec8d23)

WEAK_KEYS = {"dev", "secret", "changeme", "change-me", "development", "test", "secret-key"}


def deploy_problems(app) -> list[str]:
    """Each rule a production instance must meet; empty when all hold."""
    problems = []
    if app.debug or app.config.get("DEBUG"):
        problems.append("DEBUG 已开启：生产环境必须关闭")
    key = app.config.get("SECRET_KEY") or ""
    if len(key) < 32 or key.lower() in WEAK_KEYS:
        problems.append("SECRET_KEY 太短或是常见默认值：至少 32 个随机字符")
    if not app.config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE 未开启：通过 HTTPS 提供服务时必须开启")
    if not app.config.get("SESSION_COOKIE_HTTPONLY"):
        problems.append("SESSION_COOKIE_HTTPONLY 未开启")
    if app.config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        problems.append("SESSION_COOKIE_SAMESITE 应为 Lax 或 Strict")
    problems += _data_problems()
    response = app.test_client().get("/healthz")
    csp = response.headers.get("Content-Security-Policy", "")
    if "default-src" not in csp or "unsafe-inline" in csp or "frame-ancestors 'none'" not in csp:
        problems.append("Content-Security-Policy 缺失或过宽")
    return problems


def _data_problems() -> list[str]:
    """A production database was made by `flask setup` and holds no demo account."""
    problems = []
    if is_demo_marked(db.session):
        problems.append("这是演示数据库（flask demo load 生成）：生产环境请用 flask setup 新建")
    demo_users = list(
        db.session.scalars(
            select(User.username).where(User.is_demo.is_(True), User.active.is_(True))
        )
    )
    if demo_users:
        problems.append(f"存在启用的演示账户：{'、'.join(demo_users)}，请停用")
    if (
        db.session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.kind == TOWNSHIP))
        == 0
    ):
        problems.append("尚未初始化：请先运行 flask setup")
    db.session.rollback()
    return problems


@deploy_cli.command("check")
def deploy_check():
    """Fail on settings that must not reach production."""
    problems = deploy_problems(current_app)
    for p in problems:
        click.echo(f"✗ {p}", err=True)
    if problems:
        sys.exit(1)
    click.echo("✓ 上线检查通过")
