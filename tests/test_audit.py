"""The audit log: refusals counted per user, endpoint and minute; reads of private records."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from baojing import audit
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.audit import AccessDenial, AuditEntry
from baojing.services.care import cases, photos
from tests.test_care import jpeg

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


# --- item 6: reads of private records ----------------------------------------------------

READ = "sensitive.read"


@pytest.fixture
def visited(org):
    """踏梯村's member's care case with one visit (shared with the member) and its photo."""
    member, secretary = org.members["tati"], org.users["secretary"]
    case = cases.open_case(
        member, secretary,
        {"kind": "illness", "event_on": local_today(), "description": "母亲住院",
         "reported_via": "liaison"},
    )  # fmt: skip
    visit = cases.record_visit(
        case, secretary,
        {"visited_on": local_today(), "visitors": "彭书记", "method": "hospital",
         "findings": "已出院回家休养", "money_fen": 0, "goods": "", "help_arranged": "",
         "follow_up": True, "follow_up_on": None, "shared_with_member": True},
        [photos.process(jpeg(), 1)],
    )  # fmt: skip
    db.session.commit()
    return case, visit, visit.photos[0]


def reads():
    """The read entries written so far: (user, what kind, which record, what else)."""
    return db.session.execute(
        select(AuditEntry.username, AuditEntry.entity_type, AuditEntry.entity_id, AuditEntry.after)
        .where(AuditEntry.action == READ)
        .order_by(AuditEntry.id)
    ).all()  # fmt: skip


@pytest.mark.parametrize("who", ["secretary", "township", "admin"])
def test_opening_a_care_case_records_one_read_naming_it_and_its_visits(login, visited, who):
    case, visit, _photo = visited
    c = login(who)
    assert c.get(f"/care/cases/{case.id}").status_code == 200
    assert reads() == [(who, "care_cases", case.id, f'{{"visits": [{visit.id}]}}')]


def test_opening_a_visit_photo_records_one_read_naming_it(login, visited):
    _case, _visit, photo = visited
    c = login("secretary")
    response = c.get(f"/care/photos/{photo.id}")
    response.get_data()
    response.close()
    assert response.status_code == 200
    assert reads() == [("secretary", "care_photos", photo.id, None)]
    # The thumbnails are part of the case page, whose read names the visit.
    response = c.get(f"/care/photos/{photo.id}/thumb")
    response.get_data()
    response.close()
    assert response.status_code == 200 and len(reads()) == 1


@pytest.mark.parametrize("who", ["secretary", "township"])
def test_opening_a_profile_records_one_read_of_its_phone_and_address(login, org, who):
    member = org.members["tati"]
    page = login(who).get(f"/members/{member.id}").get_data(as_text=True)
    assert member.phone in page  # shown in full
    assert reads() == [(who, "members", member.id, None)]


def test_a_member_reading_their_own_records_is_not_recorded(login, org, visited):
    case, _visit, photo = visited
    c = login("member")
    assert c.get(f"/members/{org.members['tati'].id}").status_code == 200
    assert c.get(f"/care/cases/{case.id}").status_code == 200
    response = c.get(f"/care/photos/{photo.id}")
    response.get_data()
    response.close()
    assert response.status_code == 200
    assert reads() == []


def test_another_villages_case_is_a_denial_not_a_read(login, org, visited):
    case, _visit, photo = visited
    c = login("secretary2")
    assert c.get(f"/care/cases/{case.id}").status_code == 404
    assert c.get(f"/care/photos/{photo.id}").status_code == 404
    assert c.get(f"/members/{org.members['tati'].id}").status_code == 404
    assert reads() == []
    assert count(AccessDenial) == 3


def test_list_pages_with_masked_values_record_no_read(login, visited):
    c = login("secretary")
    for url in ("/members/", "/care/", "/care/cases"):
        assert c.get(url).status_code == 200, url
    assert reads() == []


def test_a_read_is_one_insert_and_the_page_takes_no_write_lock(server, login, org):
    c = login("secretary")
    url = f"/members/{org.members['tati'].id}"
    c.get(url)  # warm up: per-process caches fill once
    seen = []
    with server.app_context():
        engine = db.engine
    listener = lambda *a: seen.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert c.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    writes = [s for s in seen if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO audit_log"), writes
    # On SQLite, the lock is taken for that insert alone, on its own transaction.
    assert seen.count("BEGIN IMMEDIATE") <= 1


def test_the_admin_sees_reads_by_record(login, visited):
    case, visit, _photo = visited
    login("secretary").get(f"/care/cases/{case.id}")
    page = login("admin").get("/admin/audit?action=sensitive.read").get_data(as_text=True)
    assert "查看个人敏感信息" in page and f"care_cases #{case.id}" in page
    assert f"走访记录：{visit.id}" in page
    assert "母亲住院" not in page and "向光明" not in page  # never the data itself
