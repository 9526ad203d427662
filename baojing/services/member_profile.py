"""The member profile as a read model: a handful of Core selects, no ORM objects.

The profile is the page a secretary opens most; its statements are built once per
process (SQLAlchemy caches their compiled form) and only bound per request.
"""

import functools
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased

from baojing.extensions import db
from baojing.models.members import (
    BranchContact,
    ContactLog,
    LiaisonAssignment,
    Member,
    RegistrationVisit,
)
from baojing.models.org import OrgUnit
from baojing.models.users import User
from baojing.scoping import member_condition_by_kind, member_scope

VISITS_SHOWN = 20
CONTACTS_SHOWN = 10


@dataclass
class Profile:
    member: object  # a Row with every member column plus village and liaison names
    visits: list
    contacts: list
    liaison_history: list
    liaisons: list  # (id, name, role) of the village's liaisons, for the change form


@functools.lru_cache(maxsize=8)
def _member_statement(scope: str):
    mobile_org = aliased(OrgUnit)
    return (
        select(
            *Member.__table__.c,
            OrgUnit.name.label("village_name"),
            BranchContact.name.label("liaison_name"),
            BranchContact.phone.label("liaison_phone"),
            BranchContact.role.label("liaison_role"),
            mobile_org.name.label("mobile_org_name"),
            mobile_org.location.label("mobile_org_location"),
        )
        .join(OrgUnit, OrgUnit.id == Member.village_id)
        .outerjoin(BranchContact, BranchContact.id == Member.liaison_id)
        .outerjoin(mobile_org, mobile_org.id == Member.mobile_org_id)
        .where(Member.id == bindparam("member_id"), member_condition_by_kind(scope))
    )


_VISITS = (
    select(
        RegistrationVisit.id,
        RegistrationVisit.cancelled_at,
        RegistrationVisit.cancel_reason,
        RegistrationVisit.visited_on,
        RegistrationVisit.met_with,
        RegistrationVisit.items_verified,
        RegistrationVisit.whereabouts_confirmed,
        RegistrationVisit.note,
        User.display_name.label("verifier"),
    )  # fmt: skip
    .join(User, User.id == RegistrationVisit.verified_by_id)
    .where(RegistrationVisit.member_id == bindparam("member_id"))
    .order_by(RegistrationVisit.visited_on.desc(), RegistrationVisit.id.desc())
    .limit(VISITS_SHOWN)
)
_CONTACTS = (
    select(
        ContactLog.contacted_on,
        ContactLog.channel,
        ContactLog.note,
        User.display_name.label("by_name"),
    )  # fmt: skip
    .join(User, User.id == ContactLog.by_user_id)
    .where(ContactLog.member_id == bindparam("member_id"))
    .order_by(ContactLog.contacted_on.desc(), ContactLog.id.desc())
    .limit(CONTACTS_SHOWN)
)
_HISTORY = (
    select(
        LiaisonAssignment.started_on,
        LiaisonAssignment.ended_on,
        LiaisonAssignment.note,
        BranchContact.name.label("liaison_name"),
    )  # fmt: skip
    .join(BranchContact, BranchContact.id == LiaisonAssignment.liaison_id)
    .where(LiaisonAssignment.member_id == bindparam("member_id"))
    .order_by(LiaisonAssignment.started_on.desc(), LiaisonAssignment.id.desc())
)
_LIAISONS = (
    select(BranchContact.id, BranchContact.name, BranchContact.role)
    .where(BranchContact.village_id == bindparam("village_id"), BranchContact.active.is_(True))
    .order_by(BranchContact.name)
)


def load(user, member_id: int, *, registry: bool) -> Profile | None:
    """Everything the profile shows, or None when the member is out of the user's scope.

    Registry users (secretaries and up) also get contacts, liaison history and the
    village's liaisons; a member looking at themself does not.
    """
    scope, scope_id = member_scope(user)
    run = db.session.connection().execute
    member = run(_member_statement(scope), {"member_id": member_id, "scope_id": scope_id}).first()
    if member is None:
        return None
    ids = {"member_id": member_id}
    visits = run(_VISITS, ids).all()
    if not registry:
        return Profile(member, visits, [], [], [])
    return Profile(
        member,
        visits,
        run(_CONTACTS, ids).all(),
        run(_HISTORY, ids).all(),
        run(_LIAISONS, {"village_id": member.village_id}).all(),
    )
