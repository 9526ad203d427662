"""Each role's home page and the one-row menu (issue 16): a member sees what is for them now."""

import re
from datetime import timedelta

import pytest

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.mentors import Event, Invitation
from tests.points_factories import fund
from tests.test_care import open_case


def _invite(org, key, title, days):
    member = org.members[key]
    event = Event(title=title, held_on=local_today() + timedelta(days=days), place="县委礼堂",
                  created_by_id=org.users["admin"].id)  # fmt: skip
    db.session.add(event)
    db.session.flush()
    db.session.add(Invitation(event_id=event.id, member_id=member.id, village_id=member.village_id,
                              township_id=member.township_id,
                              invited_by_id=org.users["admin"].id))  # fmt: skip
    db.session.commit()


def test_a_member_home_lists_what_is_for_them_now(login, org):
    fund(org.members["tati"].id, 120)
    open_case(org, "tati")  # the branch will visit: shown under 关怀和服务
    open_case(org, "xinmin", by="secretary2")  # someone else's
    _invite(org, "tati", "春节流动党员座谈会", 20)
    _invite(org, "tati", "去年的座谈会", -300)  # past: not shown
    _invite(org, "xinmin", "别人的活动", 5)
    page = login("member").get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="balance">120<' in text
    assert "春节流动党员座谈会" in text and "请回复是否参加" in text
    assert "去年的座谈会" not in text and "别人的活动" not in text
    assert "生病住院：支部会来看望" in text and text.count("支部会来看望") == 1
    # In DESIGN.md's order: events before points before care.
    assert (
        text.index("春节流动党员座谈会") < text.index('id="balance"') < text.index("支部会来看望")
    )


def test_the_quarters_thought_report_waits_on_the_home_page_until_handed_in(login, org):
    text = login("member").get("/").get_data(as_text=True)
    assert "思想汇报" in text and "待提交" in text and 'id="balance">0<' in text
    assert "暂时没有需要您办的事" not in text


def test_a_member_with_nothing_waiting_is_told_so(login, org, monkeypatch):
    from baojing.blueprints.main import views

    monkeypatch.setattr(views, "MEMBER_HOME", ())
    text = login("member").get("/").get_data(as_text=True)
    assert "暂时没有需要您办的事" in text and 'id="balance">0<' in text


@pytest.mark.parametrize("role", ["admin", "township", "secretary", "clerk", "member", "leader"])
def test_the_menu_is_one_row_and_the_rest_is_under_more(login, org, role):
    """DESIGN.md: at most one row on a phone; a few entries, the rest behind 更多."""
    if role == "leader" and "leader" not in org.users:
        pytest.skip("no org leader in the test org")
    page = login(role).get("/", follow_redirects=True).get_data(as_text=True)
    nav = re.search(r'<nav class="nav".*?</nav>', page, re.S).group(0)
    row, more = nav.split('<details class="more">')
    assert len(re.findall(r"<a ", row)) <= 3, row
    assert "修改密码" in more and "修改密码" not in row
