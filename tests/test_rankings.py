"""比积分: quarterly ranking published per online branch, frozen, amended, queried."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DatabaseError

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models import RankingLine, RankingPublication
from baojing.models.points import EARN
from baojing.services import rankings
from baojing.services.points import awards, ledger
from tests import factories
from tests.points_factories import build_store

LAST_QUARTER = rankings.completed_quarters()[0]


@pytest.fixture
def store(org):
    s = build_store()
    db.session.commit()
    return s


def earn(member, points, rule, quarter=LAST_QUARTER):
    return ledger.post(member.id, EARN, points, quarter=quarter, occurred_on=local_today(),
                       actor_id=None, rule_id=rule.id, reason="测试")  # fmt: skip


def publish(c, org, quarter=LAST_QUARTER):
    return c.post("/rankings/publish",
                  {"township_id": org.townships["迁陵镇"].id, "quarter": quarter})  # fmt: skip


def test_officer_publishes_a_frozen_ranking_with_shared_ranks(login, org, store):
    tati, angdong = org.members["tati"], org.members["angdong"]
    third = factories.member(org.villages["tati"], name="石秀英")
    earn(tati, 30, store.rule)
    earn(angdong, 30, store.rule)
    earn(third, 10, store.rule)
    earn(third, 500, store.rule, quarter="2020Q1")  # another quarter does not count
    db.session.commit()
    c = login("township")
    r = publish(c, org)
    assert r.status_code == 303
    pub = db.session.scalar(select(RankingPublication))
    lines = db.session.scalars(
        select(RankingLine).where(RankingLine.publication_id == pub.id).order_by(RankingLine.rank)
    ).all()
    assert [(line.name, line.rank, line.score) for line in lines] == [
        ("向光明", 1, 30), ("彭昂洞", 1, 30), ("石秀英", 3, 10),
    ]  # fmt: skip
    assert publish(c, org).status_code == 422  # once per quarter
    with pytest.raises(DatabaseError, match="frozen"):
        db.session.execute(text("UPDATE ranking_lines SET score = 999"))
    db.session.rollback()
    # Spending at the store does not lower anyone's standing.
    assert rankings.live_scores(org.townships["迁陵镇"].id, LAST_QUARTER)[tati.id] == 30


def test_a_refused_publication_keeps_the_list_as_the_page_shows_it(login, org, store):
    earlier = rankings.completed_quarters()[1]
    c = login("admin")
    assert publish(c, org, quarter=earlier).status_code == 303
    assert publish(c, org).status_code == 303
    index = c.get("/rankings/").get_data(as_text=True)
    refused = publish(c, org)  # the same quarter again
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    for page in (index, body):  # newest quarter first, each with its township
        shown = page[page.index("已公示") :]
        assert shown.index(f"迁陵镇网络党支部 · {LAST_QUARTER}") < shown.index(
            f"迁陵镇网络党支部 · {earlier}"
        )
    # A township officer publishes only their own township's ranking.
    officer = login("township")
    other = org.townships["葫芦镇"].id
    assert f'value="{other}"' not in officer.get("/rankings/").get_data(as_text=True)
    r = officer.post("/rankings/publish", {"township_id": other, "quarter": LAST_QUARTER})
    assert r.status_code == 422
    assert login("clerk").get("/rankings/").status_code == 403


def test_members_see_masked_names_and_their_own_line(login, org, store):
    earn(org.members["tati"], 20, store.rule)
    earn(org.members["angdong"], 10, store.rule)
    db.session.commit()
    publish(login("township"), org)
    pub_id = db.session.scalar(select(RankingPublication.id))
    page = login("member").get(f"/rankings/{pub_id}").get_data(as_text=True)
    assert "向光明" in page and "第 <strong>1</strong> 名" in page
    assert "彭昂洞" not in page and "彭*洞" in page
    secretary = login("secretary").get(f"/rankings/{pub_id}").get_data(as_text=True)
    assert "向*明" in secretary
    assert login("secretary2").get(f"/rankings/{pub_id}").status_code == 404  # other township
    assert login("clerk").get(f"/rankings/{pub_id}").status_code == 403
    officer = login("township").get(f"/rankings/{pub_id}").get_data(as_text=True)
    assert "向光明" in officer and "彭昂洞" in officer


def test_later_corrections_are_amendments(login, org, store):
    entry = earn(org.members["tati"], 30, store.rule)
    db.session.commit()
    c = login("township")
    publish(c, org)
    pub_id = db.session.scalar(select(RankingPublication.id))
    awards.reverse_entry(entry, org.users["township"], "重复登记")
    db.session.commit()
    r = c.post(f"/rankings/{pub_id}/amend", {"reason": "冲正重复登记"})
    assert r.status_code == 303
    page = c.get(f"/rankings/{pub_id}").get_data(as_text=True)
    assert "更正为 0" in page and "30 → 0" in page
    line = db.session.scalar(
        select(RankingLine).where(RankingLine.member_id == org.members["tati"].id)
    )
    assert line.score == 30  # the published line itself is untouched
    assert c.post(f"/rankings/{pub_id}/amend", {"reason": "再复核"}).status_code == 303
    assert c.get(f"/rankings/{pub_id}").get_data(as_text=True).count("30 → 0") == 1


def test_objection_period(login, org, store):
    earn(org.members["tati"], 10, store.rule)
    db.session.commit()
    officer = login("township")
    publish(officer, org)
    pub = db.session.scalar(select(RankingPublication))
    member = login("member")
    assert member.post(f"/rankings/{pub.id}/objections", {"text": ""}).status_code == 422
    r = member.post(f"/rankings/{pub.id}/objections", {"text": "我 10 月参加了主题党日，没有计分"})
    assert r.status_code == 303
    page = officer.get(f"/rankings/{pub.id}").get_data(as_text=True)
    assert "没有计分" in page and "向光明" in page
    objection_id = db.session.execute(text("SELECT id FROM ranking_objections")).scalar()
    r = officer.post(f"/rankings/{pub.id}/objections/{objection_id}/answer", {"answer": "已补登"})
    assert r.status_code == 303
    assert "已补登" in member.get(f"/rankings/{pub.id}").get_data(as_text=True)
    assert (
        login("secretary").post(f"/rankings/{pub.id}/objections", {"text": "x"}).status_code == 403
    )
    db.session.execute(
        text("UPDATE ranking_publications SET objections_until = :d"),
        {"d": local_today() - timedelta(days=1)},
    )
    db.session.commit()
    late = member.post(f"/rankings/{pub.id}/objections", {"text": "还有一个问题"})
    assert late.status_code == 422 and "异议期" in late.get_data(as_text=True)


def test_ranking_page_queries_do_not_grow_with_members(login, org, store, server):
    publish(login("township"), org)
    c = login("township")

    def queries_for_page():
        pub_id = db.session.scalar(
            select(RankingPublication.id).order_by(RankingPublication.id.desc())
        )
        seen = []
        with server.app_context():
            engine = db.engine
        listener = lambda *a: seen.append(a[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert c.get(f"/rankings/{pub_id}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    few = queries_for_page()
    assert few > 0
    for i in range(40):
        m = factories.member(org.villages["tati"], name=f"党员{i:02d}",
                             id_number=factories.resident_id(), phone=factories.mobile())  # fmt: skip
        earn(m, i % 7 + 1, store.rule, quarter=rankings.completed_quarters()[1])
    db.session.commit()
    r = login("township").post(
        "/rankings/publish",
        {"township_id": org.townships["迁陵镇"].id, "quarter": rankings.completed_quarters()[1]},
    )
    assert r.status_code == 303
    many = queries_for_page()
    assert many == few


def test_an_objection_key_of_another_member_is_409(login, org, store):
    earn(org.members["tati"], 10, store.rule)
    earn(org.members["angdong"], 10, store.rule)
    org.users["member2"] = factories.user(
        "member2", "member", org.villages["angdong"], org.members["angdong"]
    )
    db.session.commit()
    publish(login("township"), org)
    pub_id = db.session.scalar(select(RankingPublication.id))
    key = "objection-key-0001"
    assert login("member").post(f"/rankings/{pub_id}/objections",
                                {"text": "我的疑问", "request_id": key}).status_code == 303  # fmt: skip
    r = login("member2").post(
        f"/rankings/{pub_id}/objections", {"text": "另一个", "request_id": key}
    )
    assert r.status_code == 409
