"""`flask users create`: accounts from the command line (the first admin, whole townships)."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from baojing.db import writing
from baojing.extensions import db
from baojing.models.org import MOBILE_ORG, TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.users import ROLES
from baojing.services import RuleViolation, accounts

users_cli = AppGroup("users", help="账户管理")


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
