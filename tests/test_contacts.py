"""/contacts: the public list of branches with the number each contact chose to publish."""

import re

import pytest
from sqlalchemy import event, func, select

from baojing.extensions import db
from baojing.models import AuditEntry
from baojing.models.org import MOBILE_ORG, ONLINE_BRANCH, OrgUnit
from baojing.models.types import utcnow
from tests import factories

# Numbers kept for the office that their owners did not publish: never on the page.
UNPUBLISHED = ("13600002222", "13600003333", "13600004444", "13600006666")


@pytest.fixture
def units(org):
    """Contacts on the test org: published, unpublished, office, a 流动党组织, a closed village."""
    qianling, hulu = org.townships["迁陵镇"], org.townships["葫芦镇"]
    _contact(org.villages["tati"], "向平", "书记", mobile="13600001111", publish="mobile")
    _contact(org.villages["angdong"], "彭昂书", "书记", mobile="13600002222", publish="")
    _contact(
        org.villages["xinmin"], "田新书", "书记",
        mobile="13600003333", office="0743-8712345", publish="office",
    )  # fmt: skip
    online = _unit(qianling, ONLINE_BRANCH, "迁陵镇网络党支部")
    _contact(
        online, "符光春", "书记", mobile="13600004444", office="0743-8700001", publish="office"
    )
    ningbo = _unit(
        qianling, MOBILE_ORG, "迁陵镇驻宁波流动党支部",
        location="浙江省宁波市", host_org="宁波某建工集团项目部",
    )  # fmt: skip
    _contact(ningbo, "王松武", "负责人", mobile="13600005555", publish="mobile")
    closed = factories.village(hulu, "旧寨村")
    _contact(closed, "关寨书", "书记", mobile="13600006666", publish="mobile")
    closed.closed_at, closed.close_reason = utcnow(), "并村"
    db.session.commit()
    return {"online": online, "ningbo": ningbo, "closed": closed}


def _unit(township, kind, name, **kw) -> OrgUnit:
    unit = OrgUnit(kind=kind, name=name, parent_id=township.id, township_id=township.id, **kw)
    db.session.add(unit)
    db.session.flush()
    return unit


def _contact(unit, name, title, *, mobile="", office="", publish):
    unit.contact_name, unit.contact_title = name, title
    unit.contact_mobile, unit.contact_office, unit.publish_phone = mobile, office, publish


def _page(client, url="/contacts", **kw) -> str:
    response = client.get(url, **kw)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_anyone_reads_it_without_logging_in(client, units):
    response = client.get("/contacts")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert client.get("/contacts/").status_code == 200
    assert 'class="nav"' not in page and "退出" not in page  # no menu for a visitor
    assert response.headers["Cache-Control"] == "no-store"
    # Every open unit with its contact person; townships in code order.
    for text in ("踏梯村党支部", "昂洞村党支部", "新民村党支部", "迁陵镇网络党支部", "迁陵镇驻宁波流动党支部",
                 "书记 向平", "负责人 王松武", "浙江省宁波市 · 宁波某建工集团项目部"):  # fmt: skip
        assert text in page, text
    assert page.index("<h2>迁陵镇</h2>") < page.index("<h2>葫芦镇</h2>")
    # The number each chose: a mobile, an office line, as links to call.
    assert 'href="tel:13600001111"' in page
    assert 'href="tel:0743-8712345"' in page and 'href="tel:0743-8700001"' in page
    assert 'href="tel:13600005555"' in page


def test_a_number_not_published_appears_nowhere(client, units, org):
    page = _page(client)
    for number in UNPUBLISHED:
        assert number not in page, number  # not in the text, not in an attribute
    angdong = page[page.index("昂洞村党支部") :]
    assert angdong.index("未公布电话") < angdong.index("</li>")
    # Nothing personal besides: no member, no liaison, no member counts.
    for name in ("向光明", "彭昂洞", "田新民", "踏梯村联络员"):
        assert name not in page
    assert org.liaisons["tati"].phone not in page and org.members["tati"].phone not in page


def test_a_closed_unit_is_not_listed(client, units):
    assert "旧寨村" not in _page(client)
    assert "没有找到符合条件的组织" in _page(client, "/contacts?q=旧寨")
    by_person = _page(client, "/contacts?q=关寨书")
    assert "没有找到符合条件的组织" in by_person and "13600006666" not in by_person


@pytest.mark.parametrize(
    "query,shown,hidden",
    [
        ("踏梯", ["踏梯村党支部"], ["昂洞村党支部", "新民村党支部", "迁陵镇网络党支部"]),
        ("踏梯村党支部", ["踏梯村党支部"], ["昂洞村党支部"]),
        ("王松武", ["迁陵镇驻宁波流动党支部"], ["踏梯村党支部", "迁陵镇网络党支部"]),
        ("宁波", ["迁陵镇驻宁波流动党支部"], ["踏梯村党支部"]),
        ("50%", [], ["踏梯村党支部"]),  # typed literally, no wildcard
    ],
)
def test_search_by_unit_name_or_contact_person(client, units, query, shown, hidden):
    page = _page(client, "/contacts", query_string={"q": query})
    for text in shown:
        assert text in page, (query, text)
    for text in hidden:
        assert text not in page, (query, text)
    assert f'value="{query}"' in page  # the box keeps what was typed


def test_filter_by_township(client, units, org):
    hulu = org.townships["葫芦镇"]
    page = _page(client, f"/contacts?township={hulu.id}")
    assert "新民村党支部" in page and "<h2>葫芦镇</h2>" in page
    assert "踏梯村党支部" not in page and "<h2>迁陵镇</h2>" not in page
    assert f'<option value="{hulu.id}" selected>' in page
    # Township and name together; a township that does not exist lists nothing.
    assert "新民村党支部" not in _page(client, f"/contacts?township={hulu.id}&q=踏梯")
    assert "没有找到符合条件的组织" in _page(client, "/contacts?township=99999")
    assert "踏梯村党支部" in _page(client, "/contacts?township=abc")  # ignored, not a 500


def test_a_members_name_reveals_nothing(client, units):
    """Searching for a person who is a member looks like searching for anyone (SECURITY 37)."""
    member = _page(client, "/contacts?q=向光明")
    stranger = _page(client, "/contacts?q=张无名")
    assert "没有找到符合条件的组织" in member
    # The CSRF token carries a timestamp: two requests a second apart differ there.
    token = re.compile(r'(name="csrf[-_]token" (?:type="hidden" value|content))="[^"]*"')
    assert token.sub(r"\1", member.replace("向光明", "张无名")) == token.sub(r"\1", stranger)


def test_htmx_gets_the_results_fragment(client, units):
    response = client.get("/contacts?q=踏梯", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in body and "<form" not in body
    assert "踏梯村党支部" in body and "昂洞村党支部" not in body
    assert "13600002222" not in body
    # A boosted request or a history restore gets the whole page.
    boosted = client.get("/contacts?q=踏梯", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_the_page_is_rate_limited_per_address(client, units, app):
    app.config["CONTACTS_RATE_LIMIT"] = "3 per minute"
    codes = [client.get("/contacts").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/contacts?q=踏梯", headers={"HX-Request": "true"})
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert limited.headers["HX-Retarget"] == "#messages"  # not swapped in as results
    other = client.get("/contacts", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_statements_do_not_grow_with_rows_and_pages_keep_the_search(server, client, units, org):
    def statements(url: str) -> int:
        seen = []

        def spy(conn, cursor, statement, *args):
            seen.append(statement)

        with server.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", spy)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", spy)
        return len(seen)

    client.get("/contacts")  # per-process caches (the demo flag) filled
    few = statements("/contacts?q=村")
    for n in range(60):
        factories.village(org.townships["葫芦镇"], f"新{n:02d}村")
    db.session.commit()
    assert statements("/contacts?q=村") == few

    first = _page(client, "/contacts?q=村")
    assert first.count("<li>") == 50
    assert 'href="?q=%E6%9D%91&amp;page=2"' in first  # 下一页 keeps the search
    second = _page(client, "/contacts?q=村&page=2")
    assert second.count("<li>") == 63 - 50 and "上一页" in second


def test_reading_the_list_writes_nothing(client, units):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    _page(client, "/contacts?q=踏梯")
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_the_login_page_points_to_the_list(client):
    page = _page(client, "/login")
    assert 'href="/contacts/"' in page and "找组织：各支部联系电话" in page
