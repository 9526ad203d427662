"""Writing the audit log: who, when, from where, what, before/after (SECURITY.md item 30).

Every page that shows a private record in full writes one read entry (record_read): a
care case with its visits, a visit photo, a profile's full phone and address, and every
later module's private records (thought reports …). Refusals are counted, not logged one
by one (record_denied).
"""

import json
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import insert
from sqlalchemy.exc import OperationalError

from baojing.db import upsert_insert, write_apart, write_now, writing_now
from baojing.extensions import db
from baojing.models.audit import AccessDenial, AuditEntry
from baojing.models.types import utcnow
from baojing.validators import mask_id, mask_phone

# Values the log must never hold in full (SECURITY.md item 31).
_MASKERS = {
    "id_number": mask_id,
    "phone": mask_phone,
    "family_contact_phone": mask_phone,
    "contact_mobile": mask_phone,
}
# Who acts when there is no request: a background job runs for the user who started it,
# a command for "cli". Set with acting_as(); record() falls back to it.
_acting: ContextVar[tuple | None] = ContextVar("audit_acting", default=None)


@contextmanager
def acting_as(user=None, username: str = "", ip: str = ""):
    """Audit rows written inside, outside any request, name this user (or username) and
    the address the work was asked from."""
    token = _acting.set((user, username, ip))
    try:
        yield
    finally:
        _acting.reset(token)


_NEVER = {"password", "password_hash", "csrf_token", "token_hash"}


def _plain(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def snapshot(obj, fields) -> dict:
    """The named attributes of obj as JSON-ready values, identifiers masked."""
    out = {}
    for name in fields:
        if name in _NEVER:
            continue
        value = _plain(getattr(obj, name))
        masker = _MASKERS.get(name)
        out[name] = masker(value) if masker and value else value
    return out


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _background_ip() -> str:
    """Outside a request: the address a background job was asked from, else the command line."""
    acting = _acting.get()
    return (acting[2] if acting else "") or "cli"


def _entry_values(action, *, entity_type, entity_id, before, after, outcome, actor, username):
    return {
        "user_id": actor.id if actor else None,
        "username": actor.username if actor else username,
        "role": actor.role if actor else "",
        "ip": (request.remote_addr or "") if has_request_context() else _background_ip(),
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "outcome": outcome,
        "before": json.dumps(before, ensure_ascii=False) if before else None,
        "after": json.dumps(after, ensure_ascii=False) if after else None,
    }


def record_denied(outcome: str, *, endpoint: str, path: str) -> None:
    """Count a refused request (403, 404) of the signed-in user in access_denials.

    One row per user, endpoint and minute, its count going up: one statement (an upsert)
    on its own short transaction, so that a flood of refusals neither fills the disk nor
    holds the write lock for long. The request's own transaction is rolled back, and the
    count must survive that. Best effort: a busy database loses the count, not the page.
    """
    if not (has_request_context() and current_user.is_authenticated):
        return
    user = current_user
    table = AccessDenial.__table__
    statement = (
        upsert_insert(table)
        .values(
            minute=utcnow().replace(second=0, microsecond=0),
            user_id=user.id,
            username=user.username,
            role=user.role,
            endpoint=endpoint[:80],
            outcome=outcome,
            ip=(request.remote_addr or "")[:45],
            path=path[:200],
            count=1,
        )
        .on_conflict_do_update(
            index_elements=["user_id", "endpoint", "minute"],
            set_={"count": table.c["count"] + 1},
        )
    )
    try:
        with write_apart() as conn:
            conn.execute(statement)
    except OperationalError:
        current_app.logger.warning("could not count the refusal of %s (database busy)", endpoint)


def record(
    action: str,
    entity=None,
    *,
    entity_type: str = "",
    entity_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    outcome: str = "ok",
    user=None,
    username: str = "",
) -> AuditEntry:
    """Add one audit row to the current transaction; it commits (or not) with the change."""
    if entity is not None:
        entity_type = entity_type or entity.__tablename__
        entity_id = entity_id if entity_id is not None else entity.id
    actor = user
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    acting = None if has_request_context() else _acting.get()
    if actor is None and not username and acting is not None:
        actor, username = acting[0], acting[1]
    entry = AuditEntry(
        **_entry_values(
            action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            outcome=outcome,
            actor=actor,
            username=username,
        )  # fmt: skip
    )
    db.session.add(entry)
    return entry


def record_access(action: str, entity=None, **kwargs) -> AuditEntry:
    """record() for a GET that shows or hands over something private (a PDF, an export):
    the read itself is what is written, so the request writes from here on."""
    write_now()
    return record(action, entity, **kwargs)


READ = "sensitive.read"


def record_read(
    entity_type: str, entity_id: int, *, member_id: int | None = None, after: dict | None = None
) -> None:
    """Record that the signed-in user was shown a private record: who, which, what kind.

    The one way to audit a read, for every module: health and family data (a care case
    with its visits, a visit photo), full contact details (a profile's phone and address),
    and each later module's private records (thought reports …). Call it once per page
    view, after the scope check (a refusal is a denial, not a read), and not on lists
    that show masked values. Name the record by its table and id; `after` may name the
    related rows shown (ids), never the personal data itself or a name. `member_id` is
    the member the record is about: a member reading their own is not recorded.

    A page that only reads stays one: the row is written at once on its own short
    transaction, so the request keeps its snapshot and renders without the write lock.
    If the insert fails the page fails: nothing private is shown unrecorded.
    """
    if not has_request_context() or not current_user.is_authenticated:
        return
    if member_id is not None and current_user.member_id == member_id:
        return
    if writing_now():
        # The request holds (or will take) the lock: the row commits with its write.
        record(READ, entity_type=entity_type, entity_id=entity_id, after=after)
        return
    values = _entry_values(
        READ, entity_type=entity_type, entity_id=entity_id, before=None, after=after,
        outcome="ok", actor=current_user, username="",
    )  # fmt: skip
    with write_apart() as conn:
        conn.execute(insert(AuditEntry).values(at=utcnow(), **values))


def insert_all(entries) -> None:
    """Rows made by record(), sent as one executemany instead of one INSERT each.

    For writes that touch many members at once (a bulk move, a roster batch): flushed
    by the ORM each would be its own INSERT asking for its new id back, all of them
    under the write lock.
    """
    entries = list(entries)
    for entry in entries:
        db.session.expunge(entry)
    # Its id and time are filled in by the INSERT, as a flush would.
    columns = [c.key for c in AuditEntry.__table__.columns if c.key not in ("id", "at")]
    if entries:
        db.session.execute(
            insert(AuditEntry), [{name: getattr(e, name) for name in columns} for e in entries]
        )
