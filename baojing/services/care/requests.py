"""Liaison service requests (土地承包, 贷款担保, 子女入学 …) and their thread of updates."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from baojing import audit
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.care import (
    DECLINED,
    DONE,
    RECEIVED,
    SERVICE_KINDS,
    SERVICE_NEXT,
    SERVICE_WAITING,
    ServiceRequest,
    ServiceUpdate,
)
from baojing.models.members import ACTIVE, Member
from baojing.models.types import utcnow
from baojing.models.users import MEMBER, User
from baojing.services import RuleViolation
from baojing.services.idempotency import keyed, replayed


def open_request(
    member: Member, actor: User, data: dict, request_id: str | None = None
) -> ServiceRequest:
    """Open a request for a member in scope (a member opens their own).

    data: kind, subject, description, opened_via.
    """
    if (earlier := replayed(ServiceRequest, request_id, data, member_id=member.id)) is not None:
        return earlier
    if member.status != ACTIVE:
        raise RuleViolation({"kind": "该党员已不在流动党员名册中"})
    if data["kind"] not in SERVICE_KINDS:
        raise RuleViolation({"kind": "请选择事项类型"})
    opened_via = "member" if actor.role == MEMBER else data["opened_via"]
    req = ServiceRequest(
        member_id=member.id, village_id=member.village_id, township_id=member.township_id,
        kind=data["kind"], subject=data["subject"], description=data["description"],
        status=RECEIVED, opened_via=opened_via, opened_by_id=actor.id,
        liaison_id=member.liaison_id, **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(req)
    db.session.flush()
    audit.record(
        "care.request_open", req,
        after={"member_id": member.id, "kind": req.kind, "subject": req.subject,
               "opened_via": opened_via},
    )  # fmt: skip
    return req


def next_statuses(req: ServiceRequest, actor: User) -> tuple[str, ...]:
    """Where this user may move the request: the branch moves it on; a member only writes."""
    if actor.role == MEMBER:
        return ()
    return SERVICE_NEXT.get(req.status, ())


def add_update(
    req: ServiceRequest, actor: User, data: dict, request_id: str | None = None
) -> ServiceUpdate:
    """Add a message to the thread, optionally moving the status on.

    data: body, status ('' for a plain message). 无法办理 needs its reason in body.
    """
    if (
        earlier := replayed(ServiceUpdate, request_id, data, service_request_id=req.id)
    ) is not None:
        return earlier
    new_status = data["status"] or None
    if req.status not in SERVICE_WAITING:
        raise RuleViolation({"body": "这件事已经办结，不能再回复；如有新情况请另行提出"})
    if new_status and new_status not in next_statuses(req, actor):
        raise RuleViolation({"status": "不能改成这个状态"})
    before = {"status": req.status}
    update = ServiceUpdate(
        service_request_id=req.id, author_id=actor.id, body=data["body"], status=new_status,
        **keyed(request_id, data),
    )  # fmt: skip
    db.session.add(update)
    req.updated_at = utcnow()
    if new_status:
        req.status = new_status
        if new_status in (DONE, DECLINED):
            req.closed_on = local_today()
    db.session.flush()
    audit.record(
        "care.request_update", req, before=before,
        after={"status": req.status, "update_id": update.id},
    )  # fmt: skip
    return update


def thread(req: ServiceRequest) -> list[ServiceUpdate]:
    """The request's messages, oldest first, with their authors loaded in one more query."""
    return list(
        db.session.scalars(
            select(ServiceUpdate)
            .where(ServiceUpdate.service_request_id == req.id)
            .options(selectinload(ServiceUpdate.author))
            .order_by(ServiceUpdate.id)
        )
    )
