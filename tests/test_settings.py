"""县级设置: periods the county chooses (DOMAIN.md leaves them to practice), used by the papers."""

import pytest
from sqlalchemy import select

from baojing.dates import local_today
from baojing.extensions import db
from baojing.models import AuditEntry, RankingPublication
from baojing.services import settings
from tests.points_factories import build_store

DEFAULTS = {key: s.default for key, s in settings.SETTINGS.items()}


def test_the_county_admin_changes_a_period_and_it_is_audited(login, org):
    admin = login("admin")
    page = admin.get("/settings/").get_data(as_text=True)
    assert "转接回执期限" in page and 'value="30"' in page  # the renewal window's default
    response = admin.post("/settings/", DEFAULTS | {"objection_days": 10})
    assert response.status_code == 303
    assert settings.values() == DEFAULTS | {"objection_days": 10}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "settings.save"))
    assert '"objection_days": 7' in entry.before and '"objection_days": 10' in entry.after
    assert 'value="10"' in admin.get("/settings/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("objection_days", "1", "请填 3 到 30 天"), ("receipt_months", "", "请填写一个整数"),
     ("letter_valid_months", "六", "不是有效的整数"), ("card_check_months", "99", "请填 6 到 24 个月")],
)  # fmt: skip
def test_a_period_out_of_range_is_refused_next_to_its_field(login, org, field, value, message):
    admin = login("admin")
    response = admin.post("/settings/", DEFAULTS | {"objection_days": 12, field: value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error" role="alert">{message}' in page
    assert settings.values() == DEFAULTS  # nothing half-saved, the valid field included


def test_only_the_county_admin_sees_the_settings(login, org):
    for role in ("township", "secretary", "clerk", "member"):
        assert login(role).get("/settings/").status_code == 403, role
        assert login(role).post("/settings/", DEFAULTS).status_code == 403, role
    assert settings.values() == DEFAULTS


def test_a_ranking_takes_the_objection_period_of_the_day_it_is_published(login, org):
    from baojing.services import rankings

    build_store()
    db.session.commit()
    assert login("admin").post("/settings/", DEFAULTS | {"objection_days": 12}).status_code == 303
    township = login("township")
    response = township.post(
        "/rankings/publish",
        {"township_id": org.townships["迁陵镇"].id, "quarter": rankings.completed_quarters()[0]},
    )
    assert response.status_code in (302, 303)
    publication = db.session.scalar(select(RankingPublication))
    assert (publication.objections_until - local_today()).days == 12
