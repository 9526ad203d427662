"""`flask demo load` never rebuilds a demo database someone has worked in for real."""

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from baojing import audit, demo
from baojing.extensions import db
from baojing.models import AuditEntry, Member, RosterImport, User
from baojing.models.meta import AppMeta
from baojing.models.types import utcnow
from tests.conftest import Client, make_app


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    """One small demo database, loaded by the command, copied for every test."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    app = make_app(path)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "load", "--members", "10"])
        assert result.exit_code == 0, result.output
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def demo_path(demo_template, tmp_path):
    path = tmp_path / "demo.db"
    shutil.copy(demo_template, path)
    return path


@pytest.fixture
def demo_app(demo_path):
    app = make_app(demo_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def demo_server(demo_app, demo_path):
    """A second instance that serves requests, outside the test's app context (conftest)."""
    server = make_app(demo_path)
    yield server
    with server.app_context():
        db.engine.dispose()


def _reload(app):
    return app.test_cli_runner().invoke(args=["demo", "load", "--members", "10"])


def _audit_actions() -> list[str]:
    db.session.rollback()  # read what the requests committed
    return db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


def test_a_demo_visited_only_by_demo_accounts_and_strangers_reloads(demo_app, demo_server):
    client = Client(demo_server.test_client())
    assert client.login("admin", demo.DEMO_PASSWORD).status_code == 302
    assert client.get("/members/").status_code == 200
    client.logout()
    stranger = Client(demo_server.test_client())
    assert stranger.login("nobody", "a guess at some password").status_code == 401
    assert stranger.login("secretary", "a wrong password, twice").status_code == 401
    assert "auth.login" in _audit_actions()

    # The command goes ahead (it rebuilds the schema once refuse_if_real lets it).
    assert demo.refuse_if_real(db.session) is True


@pytest.mark.parametrize(
    "actor",
    [
        {"username": "cli"},  # an operator's command after the load, e.g. a roster import
        {"user_id": 9999, "username": "real-officer", "role": "township_officer"},
    ],
    ids=["command", "account-not-in-the-demo"],
)
def test_recent_real_activity_blocks_the_reload(demo_app, actor):
    members = db.session.scalar(select(func.count()).select_from(Member))
    for _ in range(2):
        db.session.add(AuditEntry(action="member.create", entity_type="members", **actor))
    db.session.add(AuditEntry(action="member.update", entity_type="members", **actor))
    db.session.commit()

    result = _reload(demo_app)
    assert result.exit_code != 0
    assert "拒绝" in result.output
    assert "3 条" in result.output and "member.create 2 条" in result.output
    assert "member.update 1 条" in result.output
    assert "183" in result.output
    assert "real-officer" not in result.output  # counts, nothing personal
    # Nothing was dropped.
    assert _audit_actions().count("member.create") == 2
    assert db.session.scalar(select(func.count()).select_from(Member)) == members
    assert db.session.scalar(select(AppMeta.value).where(AppMeta.key == "demo")) == "1"


def test_rows_past_the_retention_period_do_not_block(demo_app):
    old = utcnow() - timedelta(days=demo_app.config["AUDIT_RETENTION_DAYS"] + 1)
    db.session.add(AuditEntry(at=old, action="member.create", username="cli"))
    db.session.commit()
    assert demo.refuse_if_real(db.session) is True


def test_the_retention_period_is_the_setting(demo_app):
    db.session.add(AuditEntry(at=utcnow() - timedelta(days=250), action="member.create"))
    db.session.commit()
    assert demo.refuse_if_real(db.session) is True  # 250 days is past the default 183
    demo_app.config["AUDIT_RETENTION_DAYS"] = 365
    with pytest.raises(demo.RealDataPresent, match="近 365 天"):
        demo.refuse_if_real(db.session)


def test_a_demo_accounts_own_rows_do_not_block(demo_app):
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    audit.record("member.update", entity_type="members", entity_id=1, user=admin)
    db.session.commit()
    assert demo.refuse_if_real(db.session) is True


def test_a_demo_database_nobody_worked_in_reloads_at_another_size(demo_app):
    result = demo_app.test_cli_runner().invoke(args=["demo", "load", "--members", "25"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Member)) == 25
    assert db.session.scalar(select(AppMeta.value).where(AppMeta.key == "demo")) == "1"


def test_a_roster_imported_into_the_demo_blocks_the_reload(demo_app, demo_server, tmp_path):
    import io

    from tests.roster_files import member_row, write_xlsx

    demo_app.config["ROSTER_JOBS_INLINE"] = True
    client = Client(demo_server.test_client())
    assert client.login("admin", demo.DEMO_PASSWORD).status_code == 302
    path = write_xlsx(tmp_path / "真名册.xlsx", [member_row("踏梯村", 姓名="真实的人")])
    client.post(
        "/members/import", {"file": (io.BytesIO(path.read_bytes()), path.name)},
        content_type="multipart/form-data",
    )  # fmt: skip
    result = _reload(demo_app)
    assert result.exit_code != 0 and "导入过 1 次花名册" in result.output
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(RosterImport)) == 1  # still there
