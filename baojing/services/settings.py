"""County settings: the periods DOMAIN.md leaves to local practice, changed by the county admin.

Each is a whole number with its unit, a default and the range the county may choose
from. They live in app_meta ("setting.<key>"); a change is audited with the value
before and after. A value is read when a record is made (a letter's receipt date, a
ranking's objection period) and kept on that record, so a later change never moves
the dates of papers already handed out.
"""

from dataclasses import dataclass

from flask import g, has_request_context
from sqlalchemy import select

from baojing import audit
from baojing.extensions import db
from baojing.models.meta import AppMeta
from baojing.services import RuleViolation

PREFIX = "setting."


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    unit: str
    default: int
    low: int
    high: int
    hint: str


SETTINGS = {
    s.key: s
    for s in (
        Setting("letter_valid_months", "证明信有效期", "个月", 6, 1, 24,
                "开具证明信时默认的有效期，开具时仍可改短"),
        Setting("card_check_months", "活动证年审周期", "个月", 12, 6, 24,
                "活动证长期有效，每隔这么久须年审一次（与民主评议一并进行）"),
        Setting("renewal_window_days", "到期提醒提前", "天", 30, 7, 90,
                "证明信到期或活动证年审到期前多少天起列入待办"),
        Setting("receipt_months", "转接回执期限", "个月", 1, 1, 6,
                "介绍信有效期满后，回执须在这段时间内寄回，逾期列入待办"),
        Setting("objection_days", "积分排名公示异议期", "天", 7, 3, 30,
                "排名发布后，党员可在这段时间内提出异议"),
        Setting("thought_grace_days", "思想汇报提交期限", "天", 15, 0, 60,
                "季度结束后这么多天内提交的思想汇报算按时；过期未交列为逾期"),
        Setting("thought_review_village", "思想汇报审阅（0 乡镇，1 村）", "", 0, 0, 1,
                "0：由乡镇组织委员审阅；1：由村党支部书记审阅，乡镇不再查看汇报内容"),
        Setting("question_overdue_days", "咨询留言回复期限", "天", 3, 1, 30,
                "党员的咨询、留言或建议超过这么多天未回复，列入县、乡镇的待办"),
    )
}  # fmt: skip


def values() -> dict[str, int]:
    """Every setting, the county's value or the default; read once per request."""
    cached = g.get("county_settings") if has_request_context() else None
    if cached is not None:
        return cached
    stored = dict(
        db.session.execute(
            select(AppMeta.key, AppMeta.value).where(AppMeta.key.startswith(PREFIX))
        ).all()
    )
    out = {}
    for key, setting in SETTINGS.items():
        raw = stored.get(PREFIX + key, "")
        out[key] = int(raw) if raw.isdigit() else setting.default
    if has_request_context():
        g.county_settings = out
    return out


def value(key: str) -> int:
    return values()[key]


def save(data: dict[str, int | None], actor) -> dict[str, int]:
    """Set every setting in data; each outside its range is refused with its own message."""
    errors = {}
    for key, setting in SETTINGS.items():
        number = data.get(key)
        if number is None or not setting.low <= number <= setting.high:
            errors[key] = (
                f"请填 {setting.low} 到 {setting.high}{setting.unit and ' ' + setting.unit}"
            )
    if errors:
        raise RuleViolation(errors)
    before = values()
    changed = {key: data[key] for key in SETTINGS if data[key] != before[key]}
    for key, number in changed.items():
        row = db.session.get(AppMeta, PREFIX + key) or AppMeta(key=PREFIX + key)
        row.value = str(number)
        db.session.add(row)
    if changed:
        audit.record(
            "settings.save", entity_type="app_meta",
            before={k: before[k] for k in changed}, after=changed, user=actor,
        )  # fmt: skip
    g.pop("county_settings", None)
    return changed
