"""`flask points …`: verify the ledger, apply the expiry policy."""

import sys

import click
from flask.cli import AppGroup

from baojing.dates import local_today
from baojing.db import writing
from baojing.extensions import db
from baojing.services.points import expiry, verify

points_cli = AppGroup("points", help="积分账本")


@points_cli.command("verify")
def points_verify():
    """Exit 1 when any balance, stock or reversal disagrees with the ledger."""
    found = verify.problems()
    db.session.rollback()
    if found:
        for line in found:
            click.echo(line, err=True)
        click.echo(f"积分账本不一致：{len(found)} 处", err=True)
        sys.exit(1)
    click.echo("积分账本一致")


@points_cli.command("expire")
@click.option("--year", type=int, default=None, help="按哪一年年底结算（默认：去年）")
def points_expire(year: int | None):
    """Apply the county's expiry policy at the end of a year; safe to run twice."""
    year = year or local_today().year - 1
    with writing():
        years = expiry.policy_years()
        if not years:
            click.echo("县里没有设置积分有效期，没有积分过期")
            return
        members, points = expiry.expire_year(year)
        db.session.commit()
    click.echo(f"{year} 年底：{members} 人共 {points} 分过期（有效期 {years} 年）")
