"""Family pairing, liaison service requests and the township's care figures."""

import os
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from baojing.dates import local_today, quarter_start
from baojing.extensions import db
from baojing.files import write_atomic
from baojing.models.audit import AuditEntry
from baojing.models.care import (
    CareCase,
    FamilyPairing,
    PairingHelp,
    ServiceRequest,
    ServiceUpdate,
)
from baojing.models.users import User
from baojing.services.care import cases, stats
from baojing.services.care import requests as services
from tests.conftest import sqlite_only
from tests.test_care import count, open_case


def _key(page: str) -> str:
    return re.search(r'name="request_id" type="hidden" value="([^"]+)"', page).group(1)


# --- family pairing -----------------------------------------------------------------------


def start(c, org, key="tati", **over):
    member = org.members[key]
    form = {"branch_id": str(org.villages[key].id), "helpers": "彭光华、田小兰",
            "family_note": "父母年迈", "started_on": local_today().isoformat(),
            "request_id": f"pair-{key}-0001"} | over  # fmt: skip
    return c.post(f"/care/pairings/new?member_id={member.id}", form)


def test_pairing_help_log_and_the_idle_list(org, login):
    c = login("secretary")
    assert start(c, org).status_code == 303
    pairing = db.session.scalar(select(FamilyPairing))
    assert (pairing.member_id, pairing.branch_id) == (
        org.members["tati"].id,
        org.villages["tati"].id,
    )
    # No help yet this quarter: it is on the to-do.
    todo = c.get("/care/").get_data(as_text=True)
    assert f'href="/care/pairings/{pairing.id}"' in todo

    form = {"helped_on": local_today().isoformat(), "kind": "supplies", "description": "送去防疫物资",
            "supplies": "口罩 200 只", "helpers": "彭光华", "request_id": "help-0001"}  # fmt: skip
    assert c.post(f"/care/pairings/{pairing.id}/help", form).status_code == 303
    assert c.post(f"/care/pairings/{pairing.id}/help", form).status_code == 303  # replay
    assert count(PairingHelp) == 1
    assert "口罩 200 只" in c.get(f"/care/pairings/{pairing.id}").get_data(as_text=True)
    assert f'href="/care/pairings/{pairing.id}"' not in c.get("/care/").get_data(as_text=True)


def test_help_from_last_quarter_does_not_count_for_this_one(org, login):
    c = login("secretary")
    start(c, org, started_on=(local_today() - timedelta(days=200)).isoformat())
    pairing = db.session.scalar(select(FamilyPairing))
    last_quarter = quarter_start(local_today()) - timedelta(days=1)
    form = {"helped_on": last_quarter.isoformat(), "kind": "farming", "description": "帮忙收稻谷",
            "request_id": "help-0002"}  # fmt: skip
    assert c.post(f"/care/pairings/{pairing.id}/help", form).status_code == 303
    page = c.get("/care/pairings?idle=1").get_data(as_text=True)
    assert f'href="/care/pairings/{pairing.id}"' in page and last_quarter.isoformat() in page


def test_help_logged_late_for_an_earlier_day_keeps_the_family_off_the_idle_list(org, login):
    """Help this quarter, then last quarter's written up late: the family was still
    looked in on this quarter, and the lists show the latest help."""
    c = login("secretary")
    start(c, org, started_on=(local_today() - timedelta(days=200)).isoformat())
    pairing = db.session.scalar(select(FamilyPairing))
    last_quarter = quarter_start(local_today()) - timedelta(days=1)
    for n, day in enumerate((local_today(), last_quarter)):
        form = {"helped_on": day.isoformat(), "kind": "farming", "description": "帮忙收稻谷",
                "request_id": f"help-late-{n}"}  # fmt: skip
        assert c.post(f"/care/pairings/{pairing.id}/help", form).status_code == 303
    idle = c.get("/care/pairings?idle=1").get_data(as_text=True)
    assert f'href="/care/pairings/{pairing.id}"' not in idle
    assert f'href="/care/pairings/{pairing.id}"' not in c.get("/care/").get_data(as_text=True)
    listed = c.get("/care/pairings").get_data(as_text=True)
    assert local_today().isoformat() in listed and last_quarter.isoformat() not in listed


def test_one_standing_pairing_per_family_and_ending_keeps_history(org, login):
    c = login("secretary")
    start(c, org)
    response = start(c, org, request_id="pair-tati-0002", helpers="龙建国")
    assert response.status_code == 422 and "已有结对" in response.get_data(as_text=True)
    pairing = db.session.scalar(select(FamilyPairing))
    end = {"reason": "党员已返乡定居", "request_id": "end-0002"}
    assert c.post(f"/care/pairings/{pairing.id}/end", end).status_code == 303
    db.session.refresh(pairing)
    assert pairing.ended_on == local_today()
    form = {
        "helped_on": local_today().isoformat(),
        "kind": "other",
        "description": "x",
        "request_id": "help-0003",
    }
    assert c.post(f"/care/pairings/{pairing.id}/help", form).status_code == 422
    assert start(c, org, request_id="pair-tati-0003").status_code == 303  # a new pairing may start
    assert count(FamilyPairing) == 2


def _end_key(page: str) -> str:
    return _key(page[page.index("/end") :])


def test_ending_a_pairing_tapped_twice_is_done_once_without_an_error(org, login):
    c = login("secretary")
    start(c, org)
    pairing = db.session.scalar(select(FamilyPairing))
    form = {
        "reason": "党员已返乡定居",
        "request_id": _end_key(c.get(f"/care/pairings/{pairing.id}").text),
    }
    refused = c.post(f"/care/pairings/{pairing.id}/end", form | {"reason": " "})
    assert refused.status_code == 422 and "请填写原因" in refused.get_data(as_text=True)
    db.session.refresh(pairing)
    assert pairing.ended_on is None  # refused: nothing changed, the form open again
    assert '<details class="card" open>' in refused.get_data(as_text=True)
    assert c.post(f"/care/pairings/{pairing.id}/end", form).status_code == 303
    assert c.post(f"/care/pairings/{pairing.id}/end", form).status_code == 303  # double tap
    page = c.get(f"/care/pairings/{pairing.id}").get_data(as_text=True)
    assert page.count("结对已结束，帮扶记录保留") == 2 and "flash error" not in page
    assert count(AuditEntry, AuditEntry.action == "care.pairing_end") == 1
    db.session.refresh(pairing)
    assert (pairing.ended_on, pairing.end_reason) == (local_today(), "党员已返乡定居")
    assert c.post(f"/care/pairings/{pairing.id}/end", form | {"reason": "x"}).status_code == 409


def test_help_typed_after_the_pairing_ended_is_kept(org, login):
    c = login("secretary")
    start(c, org)
    pairing = db.session.scalar(select(FamilyPairing))
    end = {"reason": "党员已返乡定居", "request_id": "end-0001"}
    assert c.post(f"/care/pairings/{pairing.id}/end", end).status_code == 303
    form = {"helped_on": local_today().isoformat(), "kind": "farming", "description": "帮忙插秧三亩",
            "supplies": "化肥 2 袋", "request_id": "help-0009"}  # fmt: skip
    response = c.post(f"/care/pairings/{pairing.id}/help", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "这个结对已经结束，不能再记录帮扶" in page
    assert re.search(r"<textarea[^>]*readonly[^>]*>帮忙插秧三亩</textarea>", page)
    assert re.search(r"<textarea[^>]*readonly[^>]*>化肥 2 袋</textarea>", page)
    assert count(PairingHelp) == 0


def test_pairing_scope(org, login):
    c = login("secretary")
    start(c, org)
    pairing = db.session.scalar(select(FamilyPairing))
    other = login("secretary2")
    assert other.get(f"/care/pairings/{pairing.id}").status_code == 404
    form = {
        "helped_on": local_today().isoformat(),
        "kind": "other",
        "description": "x",
        "request_id": "help-0004",
    }
    assert other.post(f"/care/pairings/{pairing.id}/help", form).status_code == 404
    # A branch outside the secretary's scope cannot be named as the pairing branch.
    response = start(
        c, org, "tati", request_id="pair-tati-0009", branch_id=str(org.villages["xinmin"].id)
    )
    assert response.status_code in (404, 422)
    assert count(PairingHelp) == 0
    assert login("member").get("/care/pairings").status_code == 403


# --- liaison service requests -------------------------------------------------------------


def test_member_asks_and_follows_the_thread_to_done(org, login):
    member = login("member")
    page = member.get("/care/requests/new").get_data(as_text=True)
    form = {"kind": "school", "subject": "孩子秋季转学回县城", "description": "需要学校接收证明",
            "request_id": _key(page)}  # fmt: skip
    response = member.post("/care/requests/new", form)
    assert response.status_code == 303
    assert member.post("/care/requests/new", form).status_code == 303  # double tap
    req = db.session.scalar(select(ServiceRequest))
    assert count(ServiceRequest) == 1
    assert (req.opened_via, req.status, req.liaison_id) == (
        "member",
        "received",
        org.members["tati"].liaison_id,
    )

    secretary = login("secretary")
    assert "孩子秋季转学回县城" in secretary.get("/care/").get_data(as_text=True)
    step = {"body": "已联系县城小学", "status": "in_progress", "request_id": "upd-0001"}
    assert secretary.post(f"/care/requests/{req.id}/update", step).status_code == 303
    # A member writes into the thread but cannot move the status.
    reply = {"body": "谢谢，材料已寄回", "status": "done", "request_id": "upd-0002"}
    assert member.post(f"/care/requests/{req.id}/update", reply).status_code == 422
    assert member.post(f"/care/requests/{req.id}/update", reply | {"status": ""}).status_code == 303
    done = {"body": "已办好转学手续", "status": "done", "request_id": "upd-0003"}
    assert secretary.post(f"/care/requests/{req.id}/update", done).status_code == 303
    db.session.refresh(req)
    assert (req.status, req.closed_on) == ("done", local_today())
    page = member.get(f"/care/requests/{req.id}").get_data(as_text=True)
    assert "已联系县城小学" in page and "谢谢，材料已寄回" in page and "已办好转学手续" in page
    # Closed stays closed.
    again = {"body": "再改一下", "status": "", "request_id": "upd-0004"}
    assert secretary.post(f"/care/requests/{req.id}/update", again).status_code == 422
    assert count(ServiceUpdate) == 3


def test_no_jump_back_and_cannot_help_needs_a_reason(org, login):
    secretary = login("secretary")
    member = org.members["tati"]
    form = {"kind": "loan", "subject": "创业贷款担保", "description": "开小超市", "opened_via": "liaison",
            "request_id": "req-0001"}  # fmt: skip
    assert secretary.post(f"/care/requests/new?member_id={member.id}", form).status_code == 303
    req = db.session.scalar(select(ServiceRequest))
    assert req.opened_via == "liaison"
    assert (
        secretary.post(
            f"/care/requests/{req.id}/update",
            {"body": "", "status": "declined", "request_id": "upd-9001"},
        ).status_code
        == 422
    )
    assert (
        secretary.post(
            f"/care/requests/{req.id}/update",
            {"body": "x", "status": "received", "request_id": "upd-9002"},
        ).status_code
        == 422
    )
    declined = {"body": "不符合担保条件", "status": "declined", "request_id": "upd-9003"}
    assert secretary.post(f"/care/requests/{req.id}/update", declined).status_code == 303
    db.session.refresh(req)
    assert req.status == "declined"


@pytest.mark.parametrize("status", ["", "in_progress"])
def test_reply_typed_while_the_request_was_closed_is_kept(org, login, status):
    secretary = login("secretary")
    form = {"kind": "loan", "subject": "创业贷款担保", "description": "开小超市", "opened_via": "liaison",
            "request_id": "req-0101"}  # fmt: skip
    secretary.post(f"/care/requests/new?member_id={org.members['tati'].id}", form)
    req = db.session.scalar(select(ServiceRequest))
    typing = secretary.get(f"/care/requests/{req.id}")  # the page a liaison is typing into
    done = {"body": "已办好", "status": "done", "request_id": "upd-0101"}
    assert login("secretary").post(f"/care/requests/{req.id}/update", done).status_code == 303
    # status "in_progress" is no longer offered: the choice itself is refused.
    reply = {"body": "材料明天送到<script>", "status": status, "request_id": _key(typing.text)}
    response = secretary.post(f"/care/requests/{req.id}/update", reply)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "这件事已经办结，不能再回复" in page
    assert re.search(r"<textarea[^>]*readonly[^>]*>材料明天送到&lt;script&gt;</textarea>", page)
    assert count(ServiceUpdate) == 1


def test_requests_are_scoped(org, login):
    member = login("member")
    form = {
        "kind": "land",
        "subject": "承包地续签",
        "description": "合同到期",
        "request_id": "req-0002",
    }
    member.post("/care/requests/new", form)
    req = db.session.scalar(select(ServiceRequest))
    assert login("secretary2").get(f"/care/requests/{req.id}").status_code == 404
    assert (
        login("secretary2")
        .post(f"/care/requests/{req.id}/update", {"body": "x", "request_id": "upd-9009"})
        .status_code
        == 404
    )
    assert login("township").get(f"/care/requests/{req.id}").status_code == 200
    assert login("clerk").get(f"/care/requests/{req.id}").status_code == 404
    assert count(ServiceUpdate) == 0


def test_thread_query_count_does_not_grow_with_its_messages(org, login, server):
    """Each message by a different author: 3 messages or 12, the same statements."""
    req = services.open_request(org.members["tati"], org.users["secretary"], {
        "kind": "land", "subject": "承包地续签", "description": "合同到期", "opened_via": "phone",
    })  # fmt: skip
    db.session.commit()
    c = login("township")
    with server.app_context():
        engine = db.engine

    def add_messages(start: int, n: int):
        for i in range(start, start + n):
            author = User(username=f"writer{i}", display_name=f"写信人{i}", role="village_secretary",
                          org_unit_id=org.villages["tati"].id, password_hash="x")  # fmt: skip
            db.session.add(author)
            db.session.flush()
            db.session.add(ServiceUpdate(service_request_id=req.id, author_id=author.id,
                                         body=f"第{i}条"))  # fmt: skip
        db.session.commit()

    def statements() -> tuple[int, str]:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            page = c.get(f"/care/requests/{req.id}").get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen), page

    add_messages(0, 3)
    statements()  # warm up: per-process caches fill once
    few, page = statements()
    assert "写信人2" in page
    add_messages(3, 9)
    many, page = statements()
    assert "写信人11" in page and page.count("第") >= 12
    assert many == few


# --- township and county figures -------------------------------------------------------


def test_median_days_to_visit_per_township_and_cases_per_month(org, login):
    today = local_today()
    for days_to_visit, key in ((1, "tati"), (2, "tati"), (6, "angdong")):
        case = open_case(org, key, days_ago=10)
        cases.record_visit(case, org.users["secretary"], {
            "visited_on": case.opened_on + timedelta(days=days_to_visit), "visitors": "书记",
            "method": "home", "findings": "", "money_fen": 0, "goods": "", "help_arranged": "",
            "follow_up": False, "follow_up_on": None, "shared_with_member": False,
        })  # fmt: skip
    late = open_case(org, "xinmin", days_ago=9)
    db.session.commit()

    result = stats.care_stats(org.users["admin"], today)
    by_name = {
        name: (visited, median, waiting) for name, visited, median, waiting in result.townships
    }
    assert by_name["迁陵镇"] == (3, 2, 0)
    assert by_name["葫芦镇"] == (0, None, 1)
    assert [row.id for row in result.overdue] == [late.id]
    month = (today - timedelta(days=10)).strftime("%Y-%m")
    assert result.per_month[(month, "illness")] >= 1
    assert sum(result.per_month.values()) == 4

    township = stats.care_stats(org.users["township"], today)
    assert [name for name, *_ in township.townships] == ["迁陵镇"] and township.overdue == []
    page = login("township").get("/care/stats").get_data(as_text=True)
    assert "迁陵镇" in page and "葫芦镇" not in page
    assert login("secretary").get("/care/stats").status_code == 403


def test_care_figures_counted_in_sql_match_hand_made_cases(org, login):
    today = local_today()
    since = stats.care_stats(org.users["admin"], today).since

    def visit(case, after_days):
        cases.record_visit(case, org.users["secretary"], {
            "visited_on": case.opened_on + timedelta(days=after_days), "visitors": "书记",
            "method": "home", "findings": "", "money_fen": 0, "goods": "", "help_arranged": "",
            "follow_up": False, "follow_up_on": None, "shared_with_member": False,
        })  # fmt: skip

    visit(open_case(org, "tati", "illness", days_ago=12), 1)
    visit(open_case(org, "angdong", "setback", days_ago=12), 4)
    waiting = open_case(org, "tati", "hardship", days_ago=20)
    old = open_case(org, "angdong", "illness", days_ago=400)  # before the figures' year
    cancelled = open_case(org, "xinmin", "illness", days_ago=5)
    cases.cancel_case(cancelled, org.users["secretary2"], "登记错了")
    db.session.commit()

    result = stats.care_stats(org.users["admin"], today)
    assert old.opened_on < since
    assert result.townships == [("迁陵镇", 2, 2.5, 1)]  # 葫芦镇 had only a cancelled case
    assert result.overdue_total == 2
    assert [row.id for row in result.overdue] == [old.id, waiting.id]
    expected = {}
    for days_ago, kind in ((12, "illness"), (12, "setback"), (20, "hardship")):
        key = ((today - timedelta(days=days_ago)).strftime("%Y-%m"), kind)
        expected[key] = expected.get(key, 0) + 1
    assert result.per_month == expected
    page = login("admin").get("/care/stats").get_data(as_text=True)
    assert '<td class="num">2.5</td>' in page


def test_to_do_query_count_does_not_grow_with_rows(org, login, server):
    """Constant queries per page: 1 case or 26, the to-do runs the same statements."""
    c = login("secretary")
    with server.app_context():
        engine = db.engine  # the serving app's engine, not the test's

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert c.get("/care/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    open_case(org, "tati")
    few = statements()
    for _ in range(25):
        open_case(org, "tati")
    assert few > 3 and statements() == few


# --- SQL and files ------------------------------------------------------------------------


def test_write_atomic_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        what = "dir" if os.path.isdir(f"/proc/self/fd/{fd}") else os.readlink(f"/proc/self/fd/{fd}")
        calls.append(("fsync", what))
        real_fsync(fd)

    def replace(src, dst):
        calls.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "photo.jpg"
    data = os.urandom(300_000)
    write_atomic(target, data)
    assert target.read_bytes() == data
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left
    assert [c[0] for c in calls] == ["fsync", "replace", "fsync"]
    assert calls[0][1].startswith(str(tmp_path / ".photo.jpg."))  # the temporary file
    assert calls[2] == ("fsync", "dir")
    assert target.stat().st_mode & 0o777 == 0o600


@sqlite_only  # the plan as SQLite reports it
def test_a_key_in_the_audit_log_is_looked_up_by_its_entity(app):
    """Both columns of ix_audit_log_entity: the LIKE reads one case's rows, not every case's."""
    from baojing.services.idempotency import replayed_in_log

    seen = []
    listen = lambda conn, cur, sql, params, *a: seen.append((sql, params))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert replayed_in_log("care.case_cancel", CareCase(id=7), "key-0001", {}) is None
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    sql, params = next((q, p) for q, p in seen if "audit_log" in q)
    rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, tuple(params))
    plan = " ".join(str(r) for r in rows)
    assert "ix_audit_log_entity (entity_type=? AND entity_id=?)" in plan, plan
