"""Reading the audit log and the account list (county admin)."""

import json
from dataclasses import dataclass

from sqlalchemy import or_, select

from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.models.users import User


@dataclass
class AuditPage:
    entries: list
    next_before: int | None


def list_entries(
    *,
    action: str = "",
    username: str = "",
    entity_type: str = "",
    entity_id: int | None = None,
    before_id: int | None = None,
    per_page: int = 50,
) -> AuditPage:
    """Newest first; keyset paging on id so deep pages cost the same as the first."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(per_page + 1)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    if username:
        stmt = stmt.where(AuditEntry.username == username)
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if before_id:
        stmt = stmt.where(AuditEntry.id < before_id)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return AuditPage(rows, rows[-1].id if more else None)


def describe(entry: AuditEntry) -> list[tuple[str, object, object]]:
    """(field, before, after) triples for display."""
    before = json.loads(entry.before) if entry.before else {}
    after = json.loads(entry.after) if entry.after else {}
    keys = list(dict.fromkeys([*before, *after]))
    return [(k, before.get(k), after.get(k)) for k in keys]


def list_users(*, q: str = "", role: str = "") -> list[User]:
    stmt = select(User).order_by(User.role, User.username)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.username.like(like), User.display_name.like(like)))
    if role:
        stmt = stmt.where(User.role == role)
    return list(db.session.scalars(stmt.limit(500)))
