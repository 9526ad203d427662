"""Idempotency keys for writes whose rows carry no key column (links, invitation batches).

The key and the hash of what came with it ride in the write's own audit row, which
commits (or not) with the write: a replay finds it there, and the same key with other
content is refused like everywhere else (DuplicateRequest, HTTP 409).
"""

import json

from sqlalchemy import select

from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.services import DuplicateRequest
from baojing.services.idempotency import fingerprint


def logged_key(request_id: str | None, data: dict) -> dict:
    """What to add to the audit row's `after` so that a replay can find it."""
    if not request_id:
        return {}
    return {"request_id": request_id, "request_fingerprint": fingerprint(data)}


def replayed_in_log(action: str, entity_type: str, request_id: str | None, data: dict):
    """The `after` of the audit row an earlier submit with this key wrote, or None.

    Raises DuplicateRequest when the key came with other content (another target
    included: the target's id is part of data).
    """
    if not request_id:
        return None
    needle = json.dumps({"request_id": request_id}, ensure_ascii=False)[1:-1]
    after = db.session.scalar(
        select(AuditEntry.after)
        .where(
            AuditEntry.entity_type == entity_type,
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
