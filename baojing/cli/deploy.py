"""`flask deploy check`: everything unsafe for production, demo data included."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from baojing.extensions import db
from baojing.models.meta import is_demo_marked
from baojing.models.org import TOWNSHIP, OrgUnit
from baojing.models.users import User

deploy_cli = AppGroup("deploy", help="上线前检查")


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
    base = app.config.get("PUBLIC_BASE_URL") or ""
    if not base.startswith("https://"):
        # Without it a certificate's QR code points at whatever Host header the issuing
        # request carried: a forged one would print a stranger's address on the paper.
        problems.append(
            "PUBLIC_BASE_URL 未设置或不是 https:// 地址：证件二维码须指向本站的正式地址"
        )
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
