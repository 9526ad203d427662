"""flask setup: a county's start on an empty database, and the demo kept out of production."""

import pytest
from sqlalchemy import func, select

from baojing.cli import deploy_problems
from baojing.extensions import db
from baojing.models import AppMeta, AuditEntry, OrgUnit, User
from baojing.models.org import ONLINE_BRANCH, TOWNSHIP
from baojing.services.setup import township_rows


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _password(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("一次性密码："))
    return line.removeprefix("一次性密码：").split("（")[0]


def test_setup_creates_the_county_its_townships_and_a_first_admin(app, new_client):
    result = app.test_cli_runner().invoke(args=["setup", "--admin", "zzb"])
    assert result.exit_code == 0, result.output
    townships = dict(
        db.session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.kind == TOWNSHIP)).all()
    )
    assert townships == {row["code"]: row["name"] for row in township_rows()}
    assert len(townships) == 12 and townships["433125109"] == "迁陵镇"
    assert _count(OrgUnit, OrgUnit.kind == ONLINE_BRANCH) == 12
    admin = db.session.scalar(select(User).where(User.username == "zzb"))
    assert admin.role == "county_admin" and admin.must_change_password and not admin.is_demo
    assert _count(User, User.is_demo.is_(True)) == 0

    client = new_client()
    response = client.login("zzb", _password(result.output))
    assert response.status_code == 302
    # The one-time password opens nothing but the page that replaces it.
    assert client.get("/members/").headers["Location"].endswith("/account/password")
    assert (
        client.change_password(_password(result.output), "青山绿水 保靖的春天 2026").status_code
        == 302
    )
    assert client.get("/members/").status_code == 200


def test_after_setup_users_can_be_created_in_a_township(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["setup"]).exit_code == 0
    result = runner.invoke(
        args=["users", "create", "--username", "ql-zz", "--role", "township_officer",
              "--scope", "迁陵镇"], input="\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "ql-zz"))
    assert user.org_unit.name == "迁陵镇"


def test_rerunning_setup_changes_nothing_and_says_so(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["setup"]).exit_code == 0
    before = (_count(OrgUnit), _count(User), _count(AuditEntry, AuditEntry.action == "setup.run"))
    again = runner.invoke(args=["setup", "--admin", "someone-else"])
    assert again.exit_code == 0, again.output
    assert "未做任何更改" in again.output and "一次性密码" not in again.output
    after = (_count(OrgUnit), _count(User), _count(AuditEntry, AuditEntry.action == "setup.run"))
    assert after == before


def test_setup_refuses_a_demo_database(app):
    db.session.merge(AppMeta(key="demo", value="1"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code != 0
    assert "演示数据库" in result.output
    assert _count(OrgUnit) == 0 and _count(User) == 0


@pytest.mark.parametrize("username", ["a", "有中文", "bad name!"])
def test_setup_refuses_a_bad_admin_name(app, username):
    result = app.test_cli_runner().invoke(args=["setup", "--admin", username])
    assert result.exit_code != 0
    assert _count(User) == 0


def _production_settings(app):
    app.config.update(
        SESSION_COOKIE_SECURE=True, SECRET_KEY="x" * 40, DEBUG=False,
        PUBLIC_BASE_URL="https://dangyuan.baojing.gov.cn",
    )  # fmt: skip


def test_deploy_check_passes_after_setup_and_fails_before(app):
    _production_settings(app)
    assert any("flask setup" in p for p in deploy_problems(app))
    assert app.test_cli_runner().invoke(args=["setup"]).exit_code == 0
    assert deploy_problems(app) == []


def test_deploy_check_fails_on_a_demo_database_and_on_a_demo_account(app):
    _production_settings(app)
    assert app.test_cli_runner().invoke(args=["setup"]).exit_code == 0
    db.session.merge(AppMeta(key="demo", value="1"))
    db.session.commit()
    assert any("演示数据库" in p for p in deploy_problems(app))
    db.session.merge(AppMeta(key="demo", value="0"))
    admin = db.session.scalar(select(User).where(User.role == "county_admin"))
    admin.is_demo = True
    db.session.commit()
    problems = deploy_problems(app)
    assert any("演示账户" in p and admin.username in p for p in problems)
    admin.active = False  # a demo account that is switched off is no longer a way in
    db.session.commit()
    assert deploy_problems(app) == []
    result = app.test_cli_runner().invoke(args=["deploy", "check"])
    assert result.exit_code == 0, result.output
