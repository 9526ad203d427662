"""Monthly tasks: setting, completing (tick, note, photo), the grid, rejecting, points, roll."""

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import event, func, select

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.models.points import EARN, REVERSE, PointAccount, PointEntry, PointRule
from baojing.models.tasks import Task, TaskCompletion, TaskTemplate
from baojing.services.tasks import for_home, setting, todo_for
from baojing.services.tasks.files import path_of
from tests import factories


def _today():
    return local_today()


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def make_task(org, township="迁陵镇", completion="tick", due_in=10, rule=None, title="主题党日"):
    task = setting.create_task(
        org.users["township"], org.townships[township],
        {"title": title, "description": "参加线上主题党日", "completion": completion,
         "due_on": _today() + timedelta(days=due_in), "point_rule_id": rule.id if rule else None},
        _today(),
    )  # fmt: skip
    if township != "迁陵镇":
        task.township_id = org.townships[township].id
    db.session.commit()
    return task


def study_rule(points=5, auto_source=None):
    rule = PointRule(name="红星云学习", points=points, quarterly_cap=30,
                     awarder_roles="village_secretary,township_officer", auto_source=auto_source)  # fmt: skip
    db.session.add(rule)
    db.session.commit()
    return rule


def jpeg(gps=True) -> bytes:
    image = Image.new("RGB", (1200, 900), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    if gps:
        exif[0x8825] = {1: "N", 2: (28.0, 41.0, 52.0), 3: "E", 4: (109.0, 39.0, 24.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def complete(client, task, key="done-key-0001", note="", file=None):
    data = {"request_id": key, "note": note}
    if file is not None:
        data["attachment"] = (io.BytesIO(file[1]), file[0])
    return client.post(f"/tasks/{task.id}/complete", data, content_type="multipart/form-data")


def member_user(org, key, username):
    user = factories.user(username, "member", org.villages[key], org.members[key])
    db.session.commit()
    return user


def officer_of_hulu(org):
    user = factories.user("township2", "township_officer", org.townships["葫芦镇"])
    db.session.commit()
    return user


# --- setting tasks ------------------------------------------------------------------------


def test_officer_publishes_a_task_and_the_townships_member_sees_it(org, login):
    c = login("township")
    page = c.get("/tasks/new").get_data(as_text=True)
    key = re.search(r'name="request_id" type="hidden" value="([^"]+)"', page).group(1)
    due = _today() + timedelta(days=5)
    form = {"title": "红星云学习", "description": "学习本月内容", "completion": "note",
            "due_on": due.isoformat(), "point_rule_id": "", "request_id": key}  # fmt: skip
    response = c.post("/tasks/new", form)
    assert response.status_code == 303
    task = db.session.scalar(select(Task))
    assert (task.township_id, task.month, task.due_on) == (
        org.townships["迁陵镇"].id, setting.month_of(due), due,
    )  # fmt: skip
    assert count(AuditEntry, AuditEntry.action == "tasks.create") == 1
    # A second tap on a slow line publishes nothing more.
    assert c.post("/tasks/new", form).status_code == 303
    assert count(Task) == 1

    mine = login("member").get("/tasks/").get_data(as_text=True)
    assert "红星云学习" in mine and "未完成" in mine


def test_bad_task_input_is_refused_by_the_field_and_nothing_is_written(org, login):
    c = login("township")
    response = c.post("/tasks/new", {"title": "", "completion": "fly", "point_rule_id": "999",
                                     "due_on": (_today() - timedelta(days=60)).isoformat(),
                                     "request_id": "bad-task-0001"})  # fmt: skip
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请填写任务名称" in page
    response = c.post("/tasks/new", {"title": "党日", "completion": "tick", "point_rule_id": "999",
                                     "due_on": (_today() - timedelta(days=60)).isoformat(),
                                     "request_id": "bad-task-0002"})  # fmt: skip
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "截止日期不能早于本月" in page and "这项积分规则不能用于任务" in page
    assert count(Task) == 0


def test_only_a_township_officer_sets_tasks_and_csrf_is_required(org, login):
    for who in ("secretary", "member", "clerk"):
        assert login(who).get("/tasks/new").status_code == 403
    c = login("township")
    form = {"title": "党日", "completion": "tick", "due_on": _today().isoformat(),
            "request_id": "no-csrf-0001"}  # fmt: skip
    assert c.post("/tasks/new", form, csrf=False).status_code == 400
    assert count(Task) == 0


# --- scope --------------------------------------------------------------------------------


def test_another_townships_member_and_secretary_get_404(org, login, new_client):
    task = make_task(org)
    member_user(org, "xinmin", "hulu-member")
    other = new_client()
    assert other.login("hulu-member").status_code == 302
    assert other.get(f"/tasks/{task.id}").status_code == 404
    assert task.title not in other.get("/tasks/").get_data(as_text=True)
    assert complete(other, task).status_code == 404
    assert login("secretary2").get(f"/tasks/{task.id}").status_code == 404
    # The township's own secretary reads it.
    assert login("secretary").get(f"/tasks/{task.id}").status_code == 200

    done = complete(login("member"), task)
    assert done.status_code == 303
    row = db.session.scalar(select(TaskCompletion))
    assert login("secretary2").get(f"/tasks/completions/{row.id}").status_code == 404
    officer_of_hulu(org)
    hulu = new_client()
    hulu.login("township2")
    assert hulu.get(f"/tasks/completions/{row.id}").status_code == 404
    refused = hulu.post(
        f"/tasks/completions/{row.id}/reject", {"reason": "x", "request_id": "rej-0000001"}
    )
    assert refused.status_code == 404
    assert db.session.get(TaskCompletion, row.id).status == "done"
    # Another township's village as the grid's filter is no village of theirs.
    assert hulu.get(f"/tasks/?village={org.villages['tati'].id}").status_code == 404


def test_the_grid_shows_each_scope_its_own_members(org, login):
    task = make_task(org)
    complete(login("member"), task)
    grid = login("township").get("/tasks/").get_data(as_text=True)
    assert "向光明" in grid and "彭昂洞" in grid and "田新民" not in grid
    assert "已完成 1/2 人" in grid
    village = login("secretary").get("/tasks/").get_data(as_text=True)
    assert "向光明" in village and "彭昂洞" not in village
    behind = login("township").get("/tasks/?state=behind").get_data(as_text=True)
    assert "彭昂洞" in behind and "向光明" not in behind
    assert "田新民" not in login("admin").get("/tasks/").get_data(as_text=True)
    # The county picks the township.
    make_task(org, township="葫芦镇")
    hulu = login("admin").get(f"/tasks/?township={org.townships['葫芦镇'].id}")
    assert "田新民" in hulu.get_data(as_text=True)


# --- completing ---------------------------------------------------------------------------


def test_a_double_submit_completes_once(org, login):
    task = make_task(org)
    c = login("member")
    assert complete(c, task).status_code == 303
    assert complete(c, task).status_code == 303  # the same key: the first result
    assert count(TaskCompletion) == 1
    # The same key with other content is refused; a new key for a done task too.
    assert complete(c, task, note="另一句").status_code == 409
    again = complete(c, task, key="done-key-0002")
    assert again.status_code == 422 and "已经完成" in again.get_data(as_text=True)
    assert count(TaskCompletion) == 1
    assert count(AuditEntry, AuditEntry.action == "tasks.complete") == 1


def test_a_note_task_needs_a_note_and_staff_cannot_complete(org, login):
    task = make_task(org, completion="note")
    response = complete(login("member"), task)
    assert response.status_code == 422
    assert "请写一句完成情况" in response.get_data(as_text=True)
    assert count(TaskCompletion) == 0
    assert complete(login("secretary"), task).status_code == 403


def test_a_photo_is_re_encoded_without_exif_and_a_non_image_is_refused(org, login, app):
    task = make_task(org, completion="photo")
    c = login("member")
    refused = complete(c, task, file=("report.jpg", b"not an image at all"))
    assert refused.status_code == 422
    assert "只能上传 JPG、PNG 或 WebP 照片" in refused.get_data(as_text=True)
    missing = complete(c, task, key="photo-key-0002")
    assert missing.status_code == 422 and "请上传照片" in missing.get_data(as_text=True)
    assert count(TaskCompletion) == 0

    assert complete(c, task, key="photo-key-0003", file=("IMG_1.jpg", jpeg())).status_code == 303
    row = db.session.scalar(select(TaskCompletion))
    stored = path_of(row.file_token, "jpg")
    with Image.open(stored) as image:
        assert not image.getexif()
    assert "IMG_1" not in str(stored)
    # The member and the branch in scope see it; another township does not.
    for who in ("member", "secretary", "township"):
        response = login(who).get(f"/tasks/completions/{row.id}/file")
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        response.close()
    assert login("secretary2").get(f"/tasks/completions/{row.id}/file").status_code == 404
    reads = count(AuditEntry, AuditEntry.action == "sensitive.read",
                  AuditEntry.entity_type == "task_completions")  # fmt: skip
    assert reads == 2  # the secretary's and the officer's, not the member's own


def test_a_file_task_takes_a_pdf(org, login):
    task = make_task(org, completion="file")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert complete(login("member"), task, file=("汇报.pdf", pdf)).status_code == 303
    row = db.session.scalar(select(TaskCompletion))
    assert row.file_type == "pdf"
    response = login("township").get(f"/tasks/completions/{row.id}/file")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith(
        "attachment"
    )
    response.close()


def test_a_late_completion_shows_late_and_an_undone_past_task_is_red_at_home(org, login):
    task = make_task(org, due_in=-1)
    if task.month != setting.month_of(_today()) and task.month != setting.shift_month(
        setting.month_of(_today()), -1
    ):
        pytest.skip("yesterday is in neither this month nor the last")
    member = org.users["member"]
    with app_request():
        items = for_home(member)
    assert [(i.kind, i.title, i.overdue) for i in items] == [("task", "主题党日", True)]
    complete(login("member"), task)
    row = db.session.scalar(select(TaskCompletion))
    assert row.late
    grid = login("township").get(f"/tasks/?month={task.month}").get_data(as_text=True)
    assert "逾期完成" in grid


# --- points and rejecting -----------------------------------------------------------------


def test_a_completion_earns_the_tasks_rule_and_a_rejection_reverses_it(org, login):
    rule = study_rule()
    task = make_task(org, rule=rule)
    member = org.members["tati"]
    assert complete(login("member"), task).status_code == 303
    row = db.session.scalar(select(TaskCompletion))
    entry = db.session.scalar(select(PointEntry))
    assert (entry.kind, entry.points, entry.rule_id, entry.source_type, entry.source_id) == (
        EARN, 5, rule.id, "task_completion", row.id,
    )  # fmt: skip
    assert db.session.get(PointAccount, member.id).balance == 5
    assert "自动：红星云学习" in login("member").get("/points/mine").get_data(as_text=True)

    # A secretary reads but cannot send back.
    assert (
        login("secretary")
        .post(
            f"/tasks/completions/{row.id}/reject",
            {"reason": "照片不对", "request_id": "rej-0000001"},
        )
        .status_code
        == 403
    )
    c = login("township")
    empty = c.post(
        f"/tasks/completions/{row.id}/reject", {"reason": "", "request_id": "rej-0000002"}
    )
    assert empty.status_code == 422 and "请填写退回原因" in empty.get_data(as_text=True)
    form = {"reason": "没有写学习内容", "request_id": "rej-0000003"}
    assert c.post(f"/tasks/completions/{row.id}/reject", form).status_code == 303
    assert c.post(f"/tasks/completions/{row.id}/reject", form).status_code == 303  # replay
    row = db.session.get(TaskCompletion, row.id)
    assert (row.status, row.reject_reason) == ("rejected", "没有写学习内容")
    reversal = db.session.scalar(select(PointEntry).where(PointEntry.kind == REVERSE))
    assert (reversal.points, reversal.reverses_id) == (-5, entry.id)
    assert count(PointEntry, PointEntry.kind == REVERSE) == 1
    assert db.session.get(PointAccount, member.id).balance == 0

    # The member sees why, and redoes it: a new completion earns the points again.
    m = login("member")
    page = m.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "被退回：没有写学习内容" in page
    assert complete(m, task, key="redo-key-0001").status_code == 303
    assert count(TaskCompletion, TaskCompletion.status == "done") == 1
    assert db.session.get(PointAccount, member.id).balance == 5


def test_a_task_without_a_rule_earns_the_rule_marked_for_task_completions(org, login):
    rule = study_rule(points=3, auto_source="task_completion")
    task = make_task(org)
    complete(login("member"), task)
    entry = db.session.scalar(select(PointEntry))
    assert (entry.rule_id, entry.points, entry.source_type) == (rule.id, 3, "task_completion")


# --- templates and the monthly roll -------------------------------------------------------


def test_roll_twice_creates_the_months_tasks_once(org, app):
    db.session.add_all([
        TaskTemplate(township_id=org.townships["迁陵镇"].id, title="主题党日", completion="photo",
                     due_day=31, description=""),
        TaskTemplate(township_id=org.townships["葫芦镇"].id, title="缴纳党费", completion="tick",
                     due_day=15, description=""),
        TaskTemplate(township_id=org.townships["葫芦镇"].id, title="旧模板", completion="tick",
                     due_day=15, description="", active=False),
    ])  # fmt: skip
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["tasks", "roll", "--month", "2026-02"])
    assert first.exit_code == 0, first.output
    assert "新建任务 2 项" in first.output
    second = runner.invoke(args=["tasks", "roll", "--month", "2026-02"])
    assert "新建任务 0 项" in second.output
    db.session.rollback()
    tasks = db.session.scalars(select(Task).order_by(Task.id)).all()
    assert [(t.title, t.month, t.due_on.isoformat()) for t in tasks] == [
        ("主题党日", "2026-02", "2026-02-28"), ("缴纳党费", "2026-02", "2026-02-15"),
    ]  # fmt: skip
    assert runner.invoke(args=["tasks", "roll", "--month", "2026-13"]).exit_code != 0


def test_officer_keeps_templates_and_rolls_the_month_from_the_page(org, login):
    c = login("township")
    assert c.get("/tasks/templates").status_code == 200
    bad = c.post("/tasks/templates", {"title": "党费", "completion": "tick", "due_day": "40",
                                      "request_id": "tpl-00000001"})  # fmt: skip
    assert bad.status_code == 422 and "1 到 31" in bad.get_data(as_text=True)
    form = {"title": "缴纳党费", "completion": "tick", "due_day": "15", "point_rule_id": "",
            "request_id": "tpl-00000002"}  # fmt: skip
    assert c.post("/tasks/templates", form).status_code == 303
    assert c.post("/tasks/templates", form).status_code == 303
    assert count(TaskTemplate) == 1
    assert c.post("/tasks/roll").status_code == 303
    assert c.post("/tasks/roll").status_code == 303
    assert count(Task) == 1
    template = db.session.scalar(select(TaskTemplate))
    assert login("secretary").post(f"/tasks/templates/{template.id}/end").status_code == 404
    assert c.post(f"/tasks/templates/{template.id}/end").status_code == 303
    assert db.session.get(TaskTemplate, template.id).active is False


# --- home and to-do -----------------------------------------------------------------------


class app_request:  # noqa: N801 - a context manager used like a function
    """A request context on the current app, for services that build URLs."""

    def __enter__(self):
        from flask import current_app

        self.ctx = current_app.test_request_context()
        self.ctx.push()

    def __exit__(self, *exc):
        self.ctx.pop()


def test_the_secretarys_todo_counts_members_behind(org, login):
    with app_request():
        assert todo_for(org.users["secretary"]) == []
        officer_items = todo_for(org.users["township"])
    assert "还没有布置" in officer_items[0].title
    task = make_task(org, due_in=3)
    with app_request():
        (item,) = todo_for(org.users["township"])
    assert item.kind == "task" and "2 名党员未全部完成" in item.title and not item.overdue
    complete(login("member"), task)
    with app_request():
        assert todo_for(org.users["secretary"]) == []
        (item,) = todo_for(org.users["township"])
        mine = for_home(org.users["member"])
    assert "1 名党员未全部完成" in item.title
    assert [(i.title, i.note, i.overdue) for i in mine] == [("主题党日", "已完成", False)]


# --- constant queries -------------------------------------------------------------------


def _statements_for(server, client, url) -> int:
    statements = []

    def spy(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    with server.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert response.status_code == 200
    return len(statements)


def test_the_grids_query_count_does_not_grow_with_members(org, login, server):
    tasks = [make_task(org, title=f"任务{n}") for n in range(3)]
    c = login("township")
    complete(login("member"), tasks[0])
    few = _statements_for(server, c, "/tasks/")
    for n in range(30):
        m = factories.member(org.villages["angdong" if n % 2 else "tati"], name=f"党员{n:02d}")
        for task in tasks[: n % 4]:
            db.session.add(TaskCompletion(
                task_id=task.id, member_id=m.id, village_id=m.village_id,
                township_id=m.township_id, done_on=_today(),
            ))  # fmt: skip
    db.session.commit()
    many = _statements_for(server, c, "/tasks/")
    assert many == few
    assert _statements_for(server, c, "/tasks/?page=2") == few
