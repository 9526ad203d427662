"""Idempotency keys (SECURITY.md item 23): a replayed form finds what it made the first time."""

import hashlib
import json

from sqlalchemy import select

from baojing.extensions import db
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
