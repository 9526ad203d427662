"""`flask backup create|restore`: consistent online copies of the SQLite database."""

import os
import sqlite3
from pathlib import Path

import click
from flask.cli import AppGroup

from baojing.extensions import db

backup_cli = AppGroup("backup", help="在线备份与恢复 SQLite 数据库")


def checkpoint() -> None:
    """Copy SQLite's WAL into the database and truncate it (outside any transaction).

    PostgreSQL's WAL belongs to the server, which checkpoints it itself: nothing to do.
    """
    if db.engine.dialect.name != "sqlite":
        return
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def database_path() -> Path:
    if db.engine.dialect.name != "sqlite":
        # PostgreSQL has its own tools for this: pg_dump and WAL archiving (docs/deploy.md).
        raise click.ClickException(
            "PostgreSQL 数据库请用 pg_dump 备份、pg_restore 恢复（见 docs/deploy.md）"
        )
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
