"""flask users create and flask deploy check."""

import pytest
from sqlalchemy import select

from baojing.cli import deploy_problems
from baojing.extensions import db
from baojing.models import User


def test_first_admin_from_the_command_line(app, org, new_client):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "chief",
            "--role",
            "county_admin",
            "--password",
            "the river runs past our village",
        ]
    )
    assert result.exit_code == 0, result.output
    assert new_client().login("chief", "the river runs past our village").status_code == 302


def test_users_create_with_scope_and_generated_password(app, org):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--username",
            "xm-sec",
            "--role",
            "village_secretary",
            "--scope",
            "葫芦镇/新民村",
        ],
        input="\n",
    )
    assert result.exit_code == 0, result.output
    assert "一次性密码" in result.output
    user = db.session.scalar(select(User).where(User.username == "xm-sec"))
    assert user.org_unit_id == org.villages["xinmin"].id and user.must_change_password


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "township_officer", "--scope", "火星镇"], "没有名为"),
        (["--role", "township_officer", "--scope", "迁陵镇/不存在村"], "没有名为"),
        (["--role", "village_secretary", "--scope", "迁陵镇"], "须指定所在村"),
        (["--role", "county_admin", "--password", "short"], "至少"),
    ],
)
def test_users_create_refuses_bad_input(app, org, args, message):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--username", "someone", *args], input="\n"
    )
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(User).where(User.username == "someone")) is None


def test_deploy_check_rules(app):
    assert app.test_cli_runner().invoke(args=["setup"]).exit_code == 0
    app.config.update(
        SESSION_COOKIE_SECURE=True, SECRET_KEY="x" * 40, DEBUG=False,
        PUBLIC_BASE_URL="https://dangyuan.baojing.gov.cn",
    )  # fmt: skip
    assert deploy_problems(app) == []
    for change, word in (
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL"),  # QR codes would follow the Host header
        ({"PUBLIC_BASE_URL": "http://dangyuan.baojing.gov.cn"}, "PUBLIC_BASE_URL"),
        ({"DEBUG": True}, "DEBUG"),
        ({"SECRET_KEY": "dev"}, "SECRET_KEY"),
        ({"SESSION_COOKIE_SECURE": False}, "SECURE"),
        ({"SESSION_COOKIE_HTTPONLY": False}, "HTTPONLY"),
        ({"SESSION_COOKIE_SAMESITE": None}, "SAMESITE"),
    ):
        saved = {k: app.config[k] for k in change}
        app.config.update(change)
        problems = deploy_problems(app)
        app.config.update(saved)
        assert any(word in p for p in problems), (change, problems)


def test_deploy_check_command_fails_on_the_default_dev_settings(app):
    result = app.test_cli_runner().invoke(args=["deploy", "check"])
    assert result.exit_code == 1
    assert "SESSION_COOKIE_SECURE" in result.output


def test_deploy_check_catches_a_weakened_csp(app):
    app.config.update(SESSION_COOKIE_SECURE=True, SECRET_KEY="x" * 40)

    @app.after_request
    def weaken(response):  # a view that sets its own, wider policy
        response.headers["Content-Security-Policy"] = "default-src * 'unsafe-inline'"
        return response

    assert any("Content-Security-Policy" in p for p in deploy_problems(app))


def test_the_demo_loaders_stay_out_of_the_server_processes(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from baojing import create_app; "
        f"create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path / 'x.db'}', "
        "'SECRET_KEY': 'x' * 40}); "
        "print(sorted(m for m in sys.modules if m.startswith('baojing.demo')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_backup_commands_send_postgresql_to_its_own_tools(app, tmp_path):
    if app.extensions["sqlalchemy"].engines[None].dialect.name != "postgresql":
        pytest.skip("SQLite's backup is tested in test_database.py")
    result = app.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "x.db")])
    assert result.exit_code != 0 and "pg_dump" in result.output
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(b"whatever it holds")
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(archive), "--yes"])
    assert result.exit_code != 0 and "pg_restore" in result.output
