"""`flask backup create|verify|restore`: the SQLite instance as one checked archive.

What an archive holds and how it is checked: baojing/services/backup.py.
"""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from baojing import audit, serving
from baojing.db import writing
from baojing.extensions import db
from baojing.models.certificates import Certificate, Transfer
from baojing.services import backup
from baojing.services.backup import BackupProblem, copy_database
from baojing.services.points import verify

__all__ = ["backup_cli", "checkpoint", "copy_database", "database_path"]

backup_cli = AppGroup("backup", help="备份与恢复（数据库、上传文件、已发证件、密钥）")


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


def _uploads() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def _secret() -> Path:
    return Path(current_app.config["SECRET_KEY_FILE"])


def _fail(title: str, problems: list[str]):
    for line in problems:
        click.echo(f"  {line}", err=True)
    raise click.ClickException(title)


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_create(path: Path):
    """Write the database, the uploads and the secret key to one checked archive at PATH."""
    source = database_path()
    try:
        manifest = backup.write_archive(path, source, _uploads(), _secret())
    except BackupProblem as exc:
        _fail("备份完整性检查失败，没有写备份", exc.problems)
    size = path.stat().st_size // 1024
    click.echo(
        f"备份完成：{path}（{size} KB，{len(manifest['files'])} 个文件，"
        f"结构版本 {manifest['schema_revision']}，integrity_check ok）"
    )


@backup_cli.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_verify(path: Path):
    """Check an archive: every checksum, the manifest, the database and its ledger."""
    work = backup.private_folder(None, "baojing-verify-")
    try:
        unpacked = _unpack(path, work)
    except BackupProblem as exc:
        _fail(f"备份未通过检查：{path}", exc.problems)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest = unpacked.manifest
    click.echo(
        f"备份完好：{path}（{len(manifest['files'])} 个文件，校验和一致，integrity_check ok，"
        f"外键一致，积分账本一致；结构版本 {unpacked.revision}，"
        f"建于 {manifest.get('created_at', '未知')}）"
    )
    if unpacked.revision != backup.code_revision():
        click.echo(
            f"注意：本程序的结构版本是 {backup.code_revision()}，恢复它要用建备份时的版本",
            err=True,
        )


def _unpack(path: Path, work: Path) -> backup.Unpacked:
    if backup.is_sqlite_file(path):
        return backup.unpack_database(path, work)
    return backup.unpack(path, work)


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不再确认")
def backup_restore(path: Path, yes: bool):
    """Replace the database with the backup at PATH; kept files are only ever added.

    In order: the archive is checked; its schema revision must be this code's; no server
    may be running (the serving lock); the current database is copied aside; the
    uploads the archive has and this instance lacks are put back, the database
    replaced, and integrity, foreign keys and the ledger checked (on failure the copy
    aside goes back); last, serial counters move past every number already used.
    """
    target = database_path()
    work = backup.private_folder(target.parent, ".restore-")
    try:
        try:
            unpacked = _unpack(path, work)
        except BackupProblem as exc:
            _fail("备份文件未通过检查，未恢复", exc.problems)
        head = backup.code_revision()
        if unpacked.revision != head:
            raise click.ClickException(
                f"备份的数据库结构版本是 {unpacked.revision}，本程序是 {head}，未恢复。"
                "请用建备份时的程序版本恢复，再用本版本运行 flask db upgrade"
            )
        try:
            with serving.exclusive(current_app):
                if not yes:
                    click.confirm(f"将用 {path} 替换 {target}，确定吗？", abort=True)
                _restore(path, unpacked, target)
        except serving.Serving:
            raise click.ClickException(
                "服务正在运行，未恢复：请先停止服务（systemctl stop baojing），再恢复"
            ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _restore(path: Path, unpacked: backup.Unpacked, target: Path) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = backup.private_folder(target.parent, f"before-restore-{stamp}-")
    before = backup.set_aside(target, aside)
    click.echo(f"恢复前的数据库已复制到 {aside}")
    uploads = _uploads()
    placed = backup.restore_uploads(unpacked, uploads, aside)
    secret = backup.restore_secret(unpacked, _secret())
    db.session.remove()
    db.engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    copy_database(unpacked.database, target)
    problems = backup.database_problems(target)
    if not problems:
        problems = verify.problems()
        db.session.rollback()
    if problems:
        db.session.remove()
        db.engine.dispose()
        if before is not None and before.exists():
            copy_database(before, target)
            _fail(f"恢复后的检查失败，已放回恢复前的数据库（{before}）", problems)
        _fail("恢复后的检查失败，恢复前没有可放回的数据库", problems)
    with writing():
        # The restored counters are as old as the backup; papers and receipts numbered
        # since are in people's hands. Next numbers must come after all of them.
        used = backup.used_serials([p for p in (before, target) if p], uploads)
        moved = backup.catch_up_serials(used)
        recorded = set(db.session.scalars(select(Certificate.serial))) | set(
            db.session.scalars(select(Transfer.serial))
        )
        audit.record(
            "backup.restore", entity_type="database",
            after={"archive": path.name, "revision": unpacked.revision,
                   "created_at": unpacked.manifest.get("created_at"), "aside": aside.name,
                   "files_added": placed.added, "serials_moved": moved},
            username="cli",
        )  # fmt: skip
        db.session.commit()
    click.echo(f"已从 {path} 恢复到 {target}：integrity_check、foreign_key_check、积分账本检查通过")
    click.echo(f"上传文件：补回 {placed.added} 个，{placed.present} 个原本就在；{secret}")
    for name in placed.differing:
        click.echo(f"  {name}：现有文件与备份不同，保留现有的；备份中的放在 {aside}/from-archive")
    for series, number in moved.items():
        click.echo(f"编号 {series} 已用到 {number}（备份之后发出的），下一个从 {number + 1} 起")
    if unrecorded := backup.unrecorded_papers(uploads, recorded):
        click.echo(
            f"{len(unrecorded)} 份已发出的证件在恢复的数据库里没有记录（PDF 保留在上传目录）：",
            err=True,
        )
        for serial in unrecorded:
            click.echo(f"  {serial}", err=True)
    click.echo("恢复完成，可以启动服务了（systemctl start baojing）")
