"""Idempotency keys (SECURITY.md item 23): a replayed form finds what it made the first time."""

import hashlib
import json

from sqlalchemy import select

from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.services import DuplicateRequest


def fingerprint(data: dict) -> str:
    """What a form submitted, as one hash to compare a replay against."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def keyed(request_id: str | None, data: dict) -> dict:
    """The two columns a keyed row stores: the key and the hash of what came with it."""
    return {
        "request_id": request_id or None,
        "request_fingerprint": fingerprint(data) if request_id else None,
    }


def replayed(model, request_id: str | None, data: dict, **same):
    """The row an earlier submit of the same form created, if any.

    The key must come back with the same target and the same content; a key reused
    for anything else is a DuplicateRequest (HTTP 409), never a silent first result.
    """
    if not request_id:
        return None
    row = db.session.scalar(select(model).where(model.request_id == request_id))
    if row is None:
        return None
    if any(getattr(row, k) != v for k, v in same.items()) or (
        row.request_fingerprint != fingerprint(data)
    ):
        raise DuplicateRequest(request_id)
    return row


# --- keys in the audit log ------------------------------------------------------------------
# For writes whose rows carry no key column (links, invitation batches, a case's cancel):
# the key and the hash of what came with it ride in the write's own audit row, which
# commits (or not) with the write, and a replay finds it there.


def logged_key(request_id: str | None, data: dict) -> dict:
    """What to add to the audit row's `after` so that a replay can find it."""
    if not request_id:
        return {}
    return {"request_id": request_id, "request_fingerprint": fingerprint(data)}


def replayed_in_log(action: str, entity, request_id: str | None, data: dict):
    """The `after` of the audit row an earlier submit with this key wrote about this
    entity, or None; DuplicateRequest when the key came with other content.

    Looked up by the entity (ix_audit_log_entity, both columns), so the LIKE reads
    that entity's few rows, not every row of its kind.
    """
    if not request_id:
        return None
    needle = json.dumps({"request_id": request_id}, ensure_ascii=False)[1:-1]
    after = db.session.scalar(
        select(AuditEntry.after)
        .where(
            AuditEntry.entity_type == entity.__tablename__,
            AuditEntry.entity_id == entity.id,
            AuditEntry.action == action,
            AuditEntry.after.contains(needle, autoescape=True),
        )
        .limit(1)
    )
    if after is None:
        return None
    earlier = json.loads(after)
    if earlier.get("request_fingerprint") != fingerprint(data):
        raise DuplicateRequest(request_id)
    return earlier
