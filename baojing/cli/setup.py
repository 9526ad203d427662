"""`flask setup`: a county's first command on an empty machine (DESIGN.md "Contract")."""

import re

import click
from flask_migrate import upgrade

from baojing import audit
from baojing.db import writing
from baojing.extensions import db
from baojing.services import RuleViolation, setup

_USERNAME = re.compile(r"[a-z0-9_.-]{3,40}")


@click.command("setup")
@click.option("--admin", "admin_username", default="admin", show_default=True,
              help="第一个县级管理员的用户名")  # fmt: skip
def setup_command(admin_username: str):
    """Create the county, its 12 townships and the first county admin; safe to rerun."""
    admin_username = admin_username.strip().lower()
    if not _USERNAME.fullmatch(admin_username):
        raise click.ClickException("用户名 3–40 个字符，只能用字母、数字、下划线、点和横线")
    upgrade()
    with writing(), audit.acting_as(username="cli"):
        try:
            result = setup.run(admin_username)
        except setup.DemoDatabase as exc:
            raise click.ClickException(str(exc)) from exc
        except RuleViolation as exc:
            raise click.ClickException("；".join(exc.errors.values())) from exc
        db.session.commit()
    if not result.changed:
        click.echo(f"已经初始化过，未做任何更改（县级管理员：{'、'.join(result.existing_admins)}）")
        return
    if result.county_created:
        click.echo(f"已建立 {setup.COUNTY_NAME}（{setup.COUNTY_CODE}）")
    if result.townships_created:
        click.echo(
            f"已建立 {len(result.townships_created)} 个乡镇：{'、'.join(result.townships_created)}"
        )
    if result.online_branches_created:
        click.echo(f"已建立 {len(result.online_branches_created)} 个乡镇网络党支部")
    if result.admin:
        click.echo(f"县级管理员：{result.admin.username}")
        click.echo(f"一次性密码：{result.admin_password}（首次登录须修改）")
    elif result.existing_admins:
        click.echo(f"已有县级管理员 {'、'.join(result.existing_admins)}，未新建")
