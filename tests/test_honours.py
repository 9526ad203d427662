"""Honours recommendations and their outcome; events, invitations, answers and attendance."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from baojing.dates import local_today, quarter_of
from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.models.mentors import Event, HonourRecommendation, Invitation
from baojing.services.audit_log import ACTION_LABELS
from baojing.services.mentors import honours as svc
from baojing.services.points import ledger
from tests import factories
from tests.points_factories import fund

TODAY = local_today


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def key_of(page: str) -> str:
    return re.search(r'name="request_id" type="hidden" value="([^"]+)"', page).group(1)


def error_of(page: str, field: str) -> str:
    match = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', page)
    assert match, f"no error slot for {field}"
    return match.group(1)


def counted(page: str, name: str) -> int:
    return int(re.search(rf'data-count="{name}">(\d+)<', page).group(1))


def recommend_form(**over):
    return {"honour": "model_member", "honour_name": "", "reason": "在宁波带动 12 名村民就业",
            "evidence": "2025 年获评宁波市优秀外来务工人员", "request_id": "honour-key-0001"} | over  # fmt: skip


def recommendation(org, key="tati", honour="two_reps", by="secretary"):
    rec = svc.recommend(org.members[key], org.users[by],
                        {"honour": honour, "honour_name": "", "reason": "返乡创业带动就业", "evidence": ""})  # fmt: skip
    db.session.commit()
    return rec


# --- recommending ----------------------------------------------------------------------------


def test_secretary_recommends_their_member_with_the_points_shown(org, login):
    member = org.members["tati"]
    fund(member.id, 135)
    # Spent at the store: the recommendation still shows what was earned, not what is left.
    ledger.post(member.id, "redeem", -50, quarter=quarter_of(local_today()),
                occurred_on=local_today(), actor_id=None)  # fmt: skip
    db.session.commit()
    assert ledger.balance_of(member.id) == 85
    c = login("secretary")
    # Without a member: first find one (by POST, so the name stays out of the URL).
    assert c.get("/mentors/honours/new").headers["Location"].endswith("/mentors/honours/pick")
    found = c.post("/mentors/honours/pick", {"q": "向光明"}).get_data(as_text=True)
    assert f"/mentors/honours/new?member_id={member.id}" in found
    # A name in the query string is not searched: it would be in the access log.
    linked = c.get("/mentors/honours/pick?q=向光明").get_data(as_text=True)
    assert f"/mentors/honours/new?member_id={member.id}" not in linked
    page = c.get(f"/mentors/honours/new?member_id={member.id}").get_data(as_text=True)
    assert re.search(r'id="points-earned">135<', page)
    assert re.search(r'id="points-earned-year">135<', page) and ">85<" not in page
    form = recommend_form(request_id=key_of(page))
    response = c.post(f"/mentors/honours/new?member_id={member.id}", form)
    assert response.status_code == 303
    rec = db.session.scalar(select(HonourRecommendation))
    assert (rec.member_id, rec.village_id, rec.status, rec.honour) == (
        member.id,
        member.village_id,
        "recommended",
        "model_member",
    )
    detail = c.get(f"/mentors/honours/{rec.id}").get_data(as_text=True)
    assert "最美共产党员" in detail and "已推荐" in detail and "带动 12 名村民就业" in detail
    assert re.search(r'id="points-earned">135<', detail)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "honour.recommend"))
    assert entry.entity_id == rec.id and '"points_earned": 135' in entry.after
    assert "向光明" in c.get("/mentors/honours").get_data(as_text=True)

    # Sent twice: one recommendation; the same key with other content: 409.
    assert c.post(f"/mentors/honours/new?member_id={member.id}", form).status_code == 303
    assert (
        c.post(
            f"/mentors/honours/new?member_id={member.id}", form | {"reason": "别的理由"}
        ).status_code
        == 409
    )
    assert count(HonourRecommendation) == 1
    # A second, separate form for the same honour while the first is open: refused.
    again = c.post(
        f"/mentors/honours/new?member_id={member.id}", form | {"request_id": "honour-key-0002"}
    )
    assert again.status_code == 422
    assert "正在办理" in error_of(again.get_data(as_text=True), "honour")
    assert count(HonourRecommendation) == 1


def test_a_resent_recommendation_with_a_stray_honour_name_is_a_replay(org, login):
    # 荣誉名称 typed, then a listed honour chosen: the name is blanked before it is saved,
    # and the replay's fingerprint must be of the same blanked data.
    c = login("secretary")
    url = f"/mentors/honours/new?member_id={org.members['tati'].id}"
    form = recommend_form(honour_name="优秀农民工", request_id="honour-key-0010")
    first = c.post(url, form)
    assert first.status_code == 303
    again = c.post(url, form)
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert count(HonourRecommendation) == 1
    assert db.session.scalar(select(HonourRecommendation.honour_name)) == ""
    assert count(AuditEntry, AuditEntry.action == "honour.recommend") == 1
    # The same key with other content is still refused.
    assert c.post(url, form | {"evidence": "别的材料"}).status_code == 409
    assert count(HonourRecommendation) == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"honour": ""}, "honour", "请选择推荐的荣誉"),
        ({"honour": "nobel"}, "honour", ""),
        ({"honour": "other", "honour_name": ""}, "honour_name", "请填写荣誉名称"),
        ({"reason": ""}, "reason", "请填写推荐理由"),
        ({"reason": "好" * 501}, "reason", "最多 500 个字"),
    ],
)
def test_bad_recommendations_are_refused_next_to_the_field(org, login, change, field, message):
    c = login("secretary")
    response = c.post(
        f"/mentors/honours/new?member_id={org.members['tati'].id}", recommend_form() | change
    )
    assert response.status_code == 422
    error = error_of(response.get_data(as_text=True), field)
    assert error and message in error
    assert count(HonourRecommendation) == 0


def test_another_honour_is_named(org, login):
    c = login("township")
    form = recommend_form(honour="other", honour_name="优秀农民工")
    assert (
        c.post(f"/mentors/honours/new?member_id={org.members['angdong'].id}", form).status_code
        == 303
    )
    rec = db.session.scalar(select(HonourRecommendation))
    assert rec.honour_name == "优秀农民工"
    assert "优秀农民工" in c.get(f"/mentors/honours/{rec.id}").get_data(as_text=True)


def test_members_outside_the_scope_cannot_be_recommended(org, login):
    c = login("secretary")
    for key in ("angdong", "xinmin"):
        assert c.get(f"/mentors/honours/new?member_id={org.members[key].id}").status_code == 404
        assert (
            c.post(
                f"/mentors/honours/new?member_id={org.members[key].id}", recommend_form()
            ).status_code
            == 404
        )
    assert count(HonourRecommendation) == 0


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("township", 200),
        ("secretary", 200),
        ("secretary2", 404),
        ("member", 403),
        ("clerk", 403),
    ],
)
def test_who_sees_a_recommendation(org, login, who, status):
    rec = recommendation(org)
    c = login(who)
    assert c.get(f"/mentors/honours/{rec.id}").status_code == status
    listing = c.get("/mentors/honours")
    if status == 403:
        assert listing.status_code == 403
    else:
        assert ("向光明" in listing.get_data(as_text=True)) is (status == 200)


# --- the outcome -----------------------------------------------------------------------------


def test_recommended_goes_through_review_before_an_outcome(org, login):
    rec = recommendation(org)
    c = login("township")
    url = f"/mentors/honours/{rec.id}/status"
    # No jumping from 已推荐 straight to 已获评.
    response = c.post(url, {"status": "awarded", "decided_on": TODAY().isoformat()})
    assert response.status_code == 422
    assert "审核中" in error_of(response.get_data(as_text=True), "status")
    assert db.session.get(HonourRecommendation, rec.id).status == "recommended"

    assert (
        c.post(url, {"status": "reviewing", "decision_note": "已报县委组织部"}).status_code == 303
    )
    assert (
        c.post(url, {"status": "reviewing", "decision_note": "已报县委组织部"}).status_code == 303
    )  # resent
    assert db.session.get(HonourRecommendation, rec.id).status == "reviewing"
    future = (TODAY() + timedelta(days=1)).isoformat()
    response = c.post(url, {"status": "awarded", "decided_on": future})
    assert response.status_code == 422
    assert "不能晚于今天" in error_of(response.get_data(as_text=True), "decided_on")
    response = c.post(url, {"status": "awarded", "decided_on": ""})
    assert "请填写评定日期" in error_of(response.get_data(as_text=True), "decided_on")

    decided = {
        "status": "awarded",
        "decided_on": TODAY().isoformat(),
        "decision_note": "当选县人大代表",
    }
    assert c.post(url, decided).status_code == 303
    assert c.post(url, decided).status_code == 303  # resent: no error
    rec = db.session.get(HonourRecommendation, rec.id)
    assert (rec.status, rec.decided_on, rec.decision_note) == ("awarded", TODAY(), "当选县人大代表")
    # An outcome is final.
    assert c.post(url, {"status": "reviewing"}).status_code == 422
    assert c.post(url, decided | {"status": "declined"}).status_code == 422
    assert db.session.get(HonourRecommendation, rec.id).status == "awarded"
    assert count(AuditEntry, AuditEntry.action == "honour.status") == 2
    page = c.get(f"/mentors/honours/{rec.id}").get_data(as_text=True)
    assert "已获评" in page and "当选县人大代表" in page
    assert "已获评" in c.get("/mentors/honours?status=awarded").get_data(as_text=True)


def test_a_declined_recommendation_can_be_made_again(org, login):
    rec = recommendation(org)
    c = login("admin")
    assert c.post(f"/mentors/honours/{rec.id}/status", {"status": "reviewing"}).status_code == 303
    assert c.post(f"/mentors/honours/{rec.id}/status",
                  {"status": "declined", "decided_on": TODAY().isoformat()}).status_code == 303  # fmt: skip
    assert db.session.get(HonourRecommendation, rec.id).status == "declined"
    s = login("secretary")
    form = recommend_form(honour="two_reps", request_id="honour-key-0003")
    assert (
        s.post(f"/mentors/honours/new?member_id={org.members['tati'].id}", form).status_code == 303
    )
    assert count(HonourRecommendation) == 2


@pytest.mark.parametrize(
    ("who", "status"), [("secretary", 403), ("secretary2", 403), ("member", 403), ("clerk", 403)]
)
def test_only_county_and_townships_decide(org, login, who, status):
    rec = recommendation(org)
    response = login(who).post(f"/mentors/honours/{rec.id}/status", {"status": "reviewing"})
    assert response.status_code == status
    assert db.session.get(HonourRecommendation, rec.id).status == "recommended"


def test_another_townships_recommendation_is_404_for_a_township(org, login):
    rec = recommendation(org, key="xinmin", by="secretary2")
    c = login("township")
    assert c.get(f"/mentors/honours/{rec.id}").status_code == 404
    assert c.post(f"/mentors/honours/{rec.id}/status", {"status": "reviewing"}).status_code == 404
    assert db.session.get(HonourRecommendation, rec.id).status == "recommended"


# --- events ----------------------------------------------------------------------------------


def event_form(**over):
    return {"title": "春节返乡流动党员座谈会", "held_on": (TODAY() + timedelta(days=10)).isoformat(),
            "place": "县委党校报告厅", "description": "通报家乡发展，听取意见建议",
            "request_id": "event-key-0001"} | over  # fmt: skip


def make_event(org, by="admin", held_on=None, title="春节座谈会"):
    event = svc.create_event(org.users[by], {"title": title, "held_on": held_on or TODAY(),
                             "place": "县委党校", "description": ""})  # fmt: skip
    db.session.commit()
    return event


def more_members(org, village="tati", names=("彭家兴", "龙小英")):
    members = [factories.member(org.villages[village], name=name) for name in names]
    db.session.commit()
    return members


def test_county_creates_a_county_wide_event_once(org, login):
    c = login("admin")
    page = c.get("/mentors/events/new").get_data(as_text=True)
    form = event_form(request_id=key_of(page))
    response = c.post("/mentors/events/new", form)
    assert response.status_code == 303
    event = db.session.scalar(select(Event))
    assert event.township_id is None
    assert response.headers["Location"].endswith(f"/mentors/events/{event.id}/invite")
    assert c.post("/mentors/events/new", form).status_code == 303
    assert c.post("/mentors/events/new", form | {"place": "县政府"}).status_code == 409
    assert count(Event) == 1
    listing = c.get("/mentors/events").get_data(as_text=True)
    assert "春节返乡流动党员座谈会" in listing and "全县" in listing
    # County-wide: every township and village sees it.
    for who in ("township", "secretary", "secretary2"):
        assert login(who).get(f"/mentors/events/{event.id}").status_code == 200


def test_a_townships_event_is_its_own(org, login):
    c = login("township")
    assert c.post("/mentors/events/new", event_form(title="迁陵镇创业分享会")).status_code == 303
    event = db.session.scalar(select(Event))
    assert event.township_id == org.townships["迁陵镇"].id
    assert login("secretary").get(f"/mentors/events/{event.id}").status_code == 200
    assert login("secretary2").get(f"/mentors/events/{event.id}").status_code == 404
    assert "迁陵镇创业分享会" not in login("secretary2").get("/mentors/events").get_data(
        as_text=True
    )


@pytest.mark.parametrize(("who", "status"), [("secretary", 403), ("member", 403), ("clerk", 403)])
def test_villages_members_and_clerks_do_not_create_events(org, login, who, status):
    c = login(who)
    assert c.get("/mentors/events/new").status_code == status
    assert c.post("/mentors/events/new", event_form()).status_code == status
    assert count(Event) == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [({"title": ""}, "title", "请填写活动名称"), ({"held_on": ""}, "held_on", "请填写活动日期"),
     ({"held_on": "2020-02-30"}, "held_on", ""), ({"held_on": "2019-01-01"}, "held_on", "一年以前")],
)  # fmt: skip
def test_bad_events_are_refused_next_to_the_field(org, login, change, field, message):
    response = login("admin").post("/mentors/events/new", event_form() | change)
    assert response.status_code == 422
    error = error_of(response.get_data(as_text=True), field)
    assert error and message in error
    assert count(Event) == 0


def test_secretary_invites_the_whole_village_once(org, login):
    event = make_event(org, held_on=TODAY() + timedelta(days=5))
    more_members(org)
    c = login("secretary")
    page = c.get(f"/mentors/events/{event.id}/invite").get_data(as_text=True)
    assert "向光明" in page and "彭家兴" in page and "彭昂洞" not in page  # 踏梯村 only
    form = {"everyone": "1", "request_id": key_of(page)}
    url = f"/mentors/events/{event.id}/invite?village={org.villages['tati'].id}"
    assert c.post(url, form).status_code == 303
    assert count(Invitation) == 3
    assert c.post(url, form).status_code == 303  # the same form again: nobody twice
    assert count(Invitation) == 3
    assert c.post(url, form | {"member_ids": str(org.members["tati"].id)}).status_code == 409
    assert count(AuditEntry, AuditEntry.action == "event.invite") == 1
    detail = c.get(f"/mentors/events/{event.id}").get_data(as_text=True)
    assert counted(detail, "invited") == 3 and counted(detail, "accepted") == 0
    # The township sees them too; 葫芦镇's secretary, none of them.
    assert (
        counted(
            login("township").get(f"/mentors/events/{event.id}").get_data(as_text=True), "invited"
        )
        == 3
    )
    assert (
        counted(
            login("secretary2").get(f"/mentors/events/{event.id}").get_data(as_text=True), "invited"
        )
        == 0
    )


@pytest.mark.parametrize("everyone", [True, False])
def test_a_resent_invitation_shows_the_first_result(org, login, everyone):
    event = make_event(org, held_on=TODAY() + timedelta(days=5))
    jia, ying = more_members(org)
    c = login("secretary")
    url = f"/mentors/events/{event.id}/invite?village={org.villages['tati'].id}"
    assert (
        c.post(url, {"member_ids": str(jia.id), "request_id": "invite-key-0020"}).status_code == 303
    )
    c.get(f"/mentors/events/{event.id}")  # that flash is read
    form = {"request_id": "invite-key-0021"}
    if everyone:
        form["everyone"] = "1"
        said = "已邀请 2 人"  # 向光明 and 龙小英; 彭家兴 was invited before, so not ticked
    else:
        form["member_ids"] = [str(jia.id), str(ying.id)]
        said = "已邀请 1 人（1 人此前已邀请）"
    messages = []
    for _ in range(2):  # a double tap, or a retry after a lost response
        assert c.post(url, form).status_code == 303
        page = c.get(f"/mentors/events/{event.id}").get_data(as_text=True)
        messages.append(re.search(r"已邀请 [^<]*", page).group(0))
    assert messages == [said, said]
    assert count(Invitation) == (3 if everyone else 2)
    assert count(AuditEntry, AuditEntry.action == "event.invite") == 2


def test_ticked_members_only_and_only_in_scope(org, login):
    event = make_event(org, held_on=TODAY() + timedelta(days=5))
    jia, _ = more_members(org)
    c = login("secretary")
    url = f"/mentors/events/{event.id}/invite?village={org.villages['tati'].id}"
    response = c.post(url, {"request_id": "invite-key-0001"})
    assert response.status_code == 422
    assert "请至少勾选" in error_of(response.get_data(as_text=True), "member_ids")
    assert (
        c.post(url, {"member_ids": str(jia.id), "request_id": "invite-key-0002"}).status_code == 303
    )
    assert db.session.scalars(select(Invitation.member_id)).all() == [jia.id]
    # Someone of another village, by form field or by the village in the URL: not found.
    other = {"member_ids": str(org.members["angdong"].id), "request_id": "invite-key-0003"}
    assert c.post(url, other).status_code == 404
    other_village = f"/mentors/events/{event.id}/invite?village={org.villages['angdong'].id}"
    assert c.post(other_village, other | {"request_id": "invite-key-0004"}).status_code == 404
    assert count(Invitation) == 1


def test_a_township_event_invites_the_townships_members_only(org, login):
    event = make_event(org, by="township", held_on=TODAY() + timedelta(days=3))
    c = login("admin")
    page = c.get(f"/mentors/events/{event.id}/invite").get_data(as_text=True)
    assert "踏梯村" in page and "新民村" not in page
    url = f"/mentors/events/{event.id}/invite?village={org.villages['xinmin'].id}"
    assert c.post(url, {"everyone": "1", "request_id": "invite-key-0010"}).status_code == 404
    assert count(Invitation) == 0


def test_member_answers_their_own_invitation_only(org, login):
    event = make_event(org, held_on=TODAY() + timedelta(days=7))
    invited = svc.invite(
        event, org.users["admin"], [org.members["tati"], org.members["angdong"]], {}
    )
    db.session.commit()
    assert invited.added == 2
    mine = db.session.scalar(
        select(Invitation).where(Invitation.member_id == org.members["tati"].id)
    )
    theirs = db.session.scalar(
        select(Invitation).where(Invitation.member_id == org.members["angdong"].id)
    )
    c = login("member")
    page = c.get("/mentors/events").get_data(as_text=True)
    assert "春节座谈会" in page and "已邀请" in page and "县委党校" in page
    assert (
        c.post(f"/mentors/invitations/{mine.id}/answer", {"answer": "accepted"}).status_code == 303
    )
    assert db.session.get(Invitation, mine.id).status == "accepted"
    assert "将参加" in c.get("/mentors/events").get_data(as_text=True)
    # Somebody else's invitation: not found, unchanged.
    assert (
        c.post(f"/mentors/invitations/{theirs.id}/answer", {"answer": "declined"}).status_code
        == 404
    )
    assert db.session.get(Invitation, theirs.id).status == "invited"
    # A member cannot open the branch's pages of the event.
    assert c.get(f"/mentors/events/{event.id}").status_code == 403
    assert c.get(f"/mentors/events/{event.id}/invite").status_code == 403
    assert (
        login("clerk")
        .post(f"/mentors/invitations/{mine.id}/answer", {"answer": "declined"})
        .status_code
        == 403
    )
    # Nonsense is refused next to the buttons.
    response = c.post(f"/mentors/invitations/{mine.id}/answer", {"answer": "maybe"})
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "answer")
    assert db.session.get(Invitation, mine.id).status == "accepted"
    assert count(AuditEntry, AuditEntry.action == "event.answer") == 1


def test_the_branch_records_an_answer_for_its_member(org, login):
    event = make_event(org, held_on=TODAY() + timedelta(days=7))
    svc.invite(event, org.users["admin"], [org.members["tati"], org.members["xinmin"]], {})
    db.session.commit()
    tati = db.session.scalar(
        select(Invitation).where(Invitation.member_id == org.members["tati"].id)
    )
    xinmin = db.session.scalar(
        select(Invitation).where(Invitation.member_id == org.members["xinmin"].id)
    )
    c = login("secretary")
    assert (
        c.post(f"/mentors/invitations/{tati.id}/answer", {"answer": "declined"}).status_code == 303
    )
    assert (
        c.post(f"/mentors/invitations/{xinmin.id}/answer", {"answer": "accepted"}).status_code
        == 404
    )
    assert (
        db.session.get(Invitation, tati.id).status,
        db.session.get(Invitation, xinmin.id).status,
    ) == ("declined", "invited")
    page = c.get(f"/mentors/events/{event.id}").get_data(as_text=True)
    assert counted(page, "invited") == 1 and counted(page, "declined") == 1


def test_answers_close_when_the_event_is_over(org, login):
    event = make_event(org, held_on=TODAY() - timedelta(days=1))
    db.session.add(Invitation(event_id=event.id, member_id=org.members["tati"].id,
                              village_id=org.villages["tati"].id, township_id=org.townships["迁陵镇"].id,
                              invited_by_id=org.users["admin"].id))  # fmt: skip
    db.session.commit()
    invitation = db.session.scalar(select(Invitation))
    c = login("member")
    response = c.post(f"/mentors/invitations/{invitation.id}/answer", {"answer": "accepted"})
    assert response.status_code == 422
    assert db.session.get(Invitation, invitation.id).status == "invited"


def test_attendance_is_ticked_on_the_day(org, login):
    event = make_event(org, held_on=TODAY() + timedelta(days=2))
    jia, ying = more_members(org)
    svc.invite(
        event, org.users["admin"], [org.members["tati"], jia, ying, org.members["xinmin"]], {}
    )
    db.session.commit()
    ids = {m: db.session.scalar(select(Invitation.id).where(Invitation.member_id == m.id))
           for m in (org.members["tati"], jia, ying, org.members["xinmin"])}  # fmt: skip
    c = login("secretary")
    url = f"/mentors/events/{event.id}/attendance"
    # Not yet: the event is in two days.
    response = c.post(url, {"attended": [ids[jia]]})
    assert response.status_code == 422
    assert "当天或之后" in error_of(response.get_data(as_text=True), "attended")
    assert count(Invitation, Invitation.attended.is_not(None)) == 0

    db.session.get(Event, event.id).held_on = TODAY()
    db.session.commit()
    page = c.get(f"/mentors/events/{event.id}").get_data(as_text=True)
    assert "勾选到会的党员" in page and "data-filter-checks" in page
    # 田新民 of 新民村 is not 踏梯村's to tick.
    assert c.post(url, {"attended": [ids[jia], ids[org.members["xinmin"]]]}).status_code == 404
    assert count(Invitation, Invitation.attended.is_not(None)) == 0
    assert c.post(url, {"attended": [ids[jia], ids[ying]]}).status_code == 303
    attended = dict(db.session.execute(select(Invitation.member_id, Invitation.attended)).all())
    assert attended == {
        org.members["tati"].id: False,
        jia.id: True,
        ying.id: True,
        org.members["xinmin"].id: None,
    }
    page = c.get(f"/mentors/events/{event.id}").get_data(as_text=True)
    assert counted(page, "attended") == 2 and counted(page, "invited") == 3
    # The county sees the whole event: 4 invited, 2 came (葫芦镇 has not ticked yet).
    county = login("admin").get(f"/mentors/events/{event.id}").get_data(as_text=True)
    assert counted(county, "invited") == 4 and counted(county, "attended") == 2
    # Ticked again with one fewer: the record follows the latest list.
    assert c.post(url, {"attended": [ids[ying]]}).status_code == 303
    assert db.session.scalar(select(Invitation.attended).where(Invitation.id == ids[jia])) is False
    assert count(AuditEntry, AuditEntry.action == "event.attendance") == 2


def test_every_action_has_a_label_in_the_audit_log():
    for action in ("honour.recommend", "honour.status", "event.create", "event.invite",
                   "event.answer", "event.attendance"):  # fmt: skip
        assert action in ACTION_LABELS
