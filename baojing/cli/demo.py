"""`flask demo load`: deterministic demo data (the only importer of baojing.demo)."""

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import downgrade, upgrade

from baojing.cli.backup import checkpoint, database_path
from baojing.db import refresh_statistics, writing
from baojing.extensions import db

demo_cli = AppGroup("demo", help="演示数据")


@demo_cli.command("load")
@click.option("--members", default=300, show_default=True, type=click.IntRange(1, 200_000))
@click.option("--keep", is_flag=True, help="已有演示数据时保持不变（make run 使用）")
def demo_load(members: int, keep: bool):
    """Load deterministic demo data; refuses a database holding real data."""
    with writing():
        _demo_load(members, keep)


def _demo_load(members: int, keep: bool):
    # Imported here, not at the top: the demo loaders stay out of every server process.
    from baojing import demo as demo_data

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
    refresh_statistics()
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
