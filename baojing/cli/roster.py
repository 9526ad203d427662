"""`flask members import`: the county's roster spreadsheet into the registry (DESIGN.md "Contract")."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from baojing import audit
from baojing.dates import local_today
from baojing.db import writing
from baojing.extensions import db
from baojing.services import RuleViolation
from baojing.services.roster import checking, fields, jobs, reading

members_cli = AppGroup("members", help="流动党员名册")


@members_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@click.option("--create-villages", is_flag=True, help="新建表中出现、组织架构中还没有的村党支部")
@click.option("--update", is_flag=True, help="已登记且信息有变化的党员，按表中信息更新")
def members_import(path: Path, dry_run: bool, create_villages: bool, update: bool):
    """Check every row, then register the good ones; one line per refused row."""
    sheet = _read(path)
    importer = jobs.Importer(None, None)
    mapping = fields.guess_mapping(sheet.headings)
    found = jobs.plan(sheet, mapping, importer, local_today())
    db.session.rollback()
    if found.missing:
        raise click.ClickException(f"缺少必需的列：{'、'.join(found.missing)}")
    if found.unknown:
        click.echo(f"未识别的列（已忽略）：{'、'.join(h for _c, h in found.unknown)}")
    if dry_run:
        if not create_villages:
            for check in found.needs_village():
                check.refuse("所在党支部", check.new_village, _no_village(check.new_village))
        for _tid, township, village, rows in found.new_villages():
            click.echo(f"将新建村党支部：{township} {village}（{rows} 行）")
        changed = len(found.of(checking.CHANGED))
        _report(
            found.of(checking.REFUSED), 0 if update else changed,
            new=len(found.of(checking.NEW)), updated=changed if update else 0,
            unchanged=len(found.of(checking.UNCHANGED)) + (0 if update else changed),
        )  # fmt: skip
        return
    _import(sheet, mapping, importer, found, create_villages, update)


def _read(path: Path) -> reading.Sheet:
    limit = current_app.config["ROSTER_MAX_BYTES"]
    if path.stat().st_size > limit:
        raise click.ClickException(f"文件超过 {limit // (1024 * 1024)} MB，请分成几个文件")
    try:
        kind = reading.sniff(path.read_bytes()[:8])
        return jobs.read_file(path, kind)
    except reading.UnreadableFile as exc:
        raise click.ClickException(str(exc)) from exc
    except RuleViolation as exc:
        raise click.ClickException("；".join(exc.errors.values())) from exc


def _no_village(name: str) -> str:
    return f"组织架构中还没有村党支部“{name}”（加 --create-villages 可新建）"


def _import(sheet, mapping, importer, found, create_villages: bool, update: bool) -> None:
    today = local_today()
    totals = {checking.NEW: 0, checking.CHANGED: 0, checking.UNCHANGED: 0}
    refused: list = []
    with writing(), audit.acting_as(username="cli"):
        if create_villages:
            for unit in jobs.create_villages(found.new_villages(), importer):
                click.echo(f"已新建村党支部：{unit.name}")
            db.session.commit()
        seen: dict[str, int] = {}
        for start in range(0, len(sheet.rows), jobs.BATCH_ROWS):
            rows = sheet.rows[start : start + jobs.BATCH_ROWS]
            # was=None updates every changed row; {} none of them (they count as 未变).
            counts, refusals = jobs.apply_batch(
                rows, mapping, importer, today, seen, None if update else {}
            )
            db.session.commit()  # each batch is its own transaction
            for key in totals:
                totals[key] += counts[key]
            refused += refusals
    left = 0 if update else len(found.of(checking.CHANGED))
    _report(
        refused, left, new=totals[checking.NEW], updated=totals[checking.CHANGED],
        unchanged=totals[checking.UNCHANGED],
    )  # fmt: skip


def _report(refused, changed_left: int, *, new: int, updated: int, unchanged: int) -> None:
    """One line per refused row (第 R 行：…), then the counts; rows that differ from the
    registry and were left alone are counted as 未变 and said once, without row numbers."""
    for check in sorted(refused, key=lambda c: c.row):
        reasons = "；".join(f"{r.column}：{r.reason}" for r in check.refusals)
        click.echo(f"第 {check.row} 行：{reasons}")
    if changed_left:
        click.echo(f"另有 {changed_left} 人已登记但信息与表中不同，未更新（加 --update 可更新）")
    click.echo(f"新增 {new}，更新 {updated}，未变 {unchanged}，出错 {len(refused)}")
