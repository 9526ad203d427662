"""The audit log under load: refusals counted per user, endpoint and minute."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from baojing import audit
from baojing.extensions import db
from baojing.models.audit import AccessDenial, AuditEntry

NOON = datetime(2026, 12, 8, 4, 0, 30, tzinfo=UTC)  # 12:00:30 in Shanghai


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def clock(monkeypatch):
    """The audit log's clock, stopped at NOON; clock.now = … moves it."""

    class Clock:
        now = NOON

    stopped = Clock()
    monkeypatch.setattr(audit, "utcnow", lambda: stopped.now)
    return stopped


# --- item 4: refusals ------------------------------------------------------------------


def test_fifty_refusals_in_a_minute_are_one_row_counting_fifty(login, org, clock):
    c = login("secretary2")  # 新民村's secretary asks for 踏梯村's member
    url = f"/members/{org.members['tati'].id}"
    for n in range(50):
        clock.now = NOON + timedelta(seconds=n % 29)
        assert c.get(url).status_code == 404
    row = db.session.scalar(select(AccessDenial))
    assert count(AccessDenial) == 1
    assert (row.username, row.endpoint, row.outcome, row.count) == (
        "secretary2", "members.profile", "404", 50,
    )  # fmt: skip
    assert row.minute == NOON.replace(second=0)
    assert row.path == url  # ids only, never a name
    # The log itself is not filled: no row per refusal.
    assert count(AuditEntry, AuditEntry.action == "access.denied") == 0


def test_another_endpoint_or_minute_or_user_is_another_row(login, org, clock):
    c = login("secretary2")
    member = org.members["tati"]
    c.get(f"/members/{member.id}")
    c.get(f"/members/{member.id}/edit")
    clock.now = NOON + timedelta(minutes=1)
    c.get(f"/members/{member.id}")
    login("clerk").get(f"/members/{member.id}")
    rows = db.session.execute(
        select(AccessDenial.username, AccessDenial.endpoint, AccessDenial.minute, AccessDenial.count)
        .order_by(AccessDenial.id)
    ).all()  # fmt: skip
    first, second = NOON.replace(second=0), NOON.replace(second=0) + timedelta(minutes=1)
    assert rows == [
        ("secretary2", "members.profile", first, 1),
        ("secretary2", "members.edit", first, 1),
        ("secretary2", "members.profile", second, 1),
        ("clerk", "members.profile", second, 1),
    ]


def test_a_refusal_is_one_statement_on_its_own_short_transaction(server, login, org):
    c = login("secretary2")
    url = f"/members/{org.members['tati'].id}"
    c.get(url)  # warm up: per-process caches fill once
    seen = []
    with server.app_context():
        engine = db.engine
    listener = lambda *a: seen.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert c.get(url).status_code == 404
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    writes = [s for s in seen if "access_denials" in s or "audit_log" in s]
    assert len(writes) == 1, seen
    assert writes[0].startswith("INSERT INTO access_denials") and "ON CONFLICT" in writes[0]
    assert count(AccessDenial) == 1


def test_the_admin_sees_refusals_with_their_count(login, org, clock):
    c = login("secretary2")
    for _ in range(3):
        c.get(f"/members/{org.members['tati'].id}")
    admin = login("admin")
    page = admin.get("/admin/audit?action=access.denied").get_data(as_text=True)
    assert "secretary2" in page and "members.profile" in page
    assert re.search(r"3\s*次", page)
    assert "不在范围内或不存在" in page
    # The whole log shows the latest refusals beside it, with a way to all of them.
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "最近的拒绝访问" in page and re.search(r"3\s*次", page)
    assert "action=access.denied" in page
    # Filtered by user: someone else's refusals are not listed.
    page = admin.get("/admin/audit?action=access.denied&username=clerk").get_data(as_text=True)
    assert "secretary2" not in page


def test_refusal_rows_only_count_up_and_stay_six_months(app, org):
    now = datetime.now(UTC)  # the database's own clock decides what is too young to delete
    old, recent = now - timedelta(days=200), now - timedelta(days=100)
    for at, username in ((old, "old"), (recent, "recent")):
        db.session.add(
            AccessDenial(minute=at.replace(second=0, microsecond=0), user_id=1, username=username)
        )
    db.session.commit()
    for sql in (
        "UPDATE access_denials SET count = 0",
        "UPDATE access_denials SET username = 'forged'",
        "DELETE FROM access_denials",
    ):
        with pytest.raises(IntegrityError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
    db.session.execute(text("UPDATE access_denials SET count = count + 1"))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["audit", "purge", "--yes"])
    assert result.exit_code == 0, result.output
    assert db.session.scalars(select(AccessDenial.username)).all() == ["recent"]
    assert "1 条拒绝访问汇总" in result.output
