"""The organisation tree as a user may see it, and its upkeep: units created, renamed,
closed, members moved between them, and who takes part in a 流动党组织."""

from dataclasses import dataclass, field

from sqlalchemy import func, inspect, select, update
from sqlalchemy.exc import IntegrityError

from baojing import audit
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.care import CareCase, FamilyPairing, ServiceRequest
from baojing.models.certificates import Certificate, Transfer
from baojing.models.members import ACTIVE, LiaisonAssignment, Member
from baojing.models.mentors import (
    HonourRecommendation,
    Invitation,
    MentorProfile,
    Mentorship,
)
from baojing.models.org import (
    COUNTY,
    KIND_LABELS,
    MOBILE_ORG,
    ONLINE_BRANCH,
    PUBLISH_CHOICES,
    TOWNSHIP,
    VILLAGE,
    OrgUnit,
)
from baojing.models.types import utcnow
from baojing.models.users import (
    COUNTY_ADMIN,
    MEMBER,
    ORG_LEADER,
    TOWNSHIP_OFFICER,
    VILLAGE_SECRETARY,
    User,
)
from baojing.scoping import member_condition, org_unit_condition, village_choices
from baojing.services import RuleViolation
from baojing.services.idempotency import keyed, logged_key, replayed, replayed_in_log
from baojing.validators import InvalidValue, normalize_mobile, normalize_phone

# Who keeps the tree: the county everywhere, a township officer in their township.
MANAGERS = (COUNTY_ADMIN, TOWNSHIP_OFFICER)
# Who may edit their own unit's contact person and publish choice (the opt-in is theirs).
OWN_CONTACT_ROLES = (VILLAGE_SECRETARY, ORG_LEADER)
# What can be created and closed here; townships are fixed (flask setup).
CREATABLE = (VILLAGE, ONLINE_BRANCH, MOBILE_ORG)
# The units whose members can be moved: a village is the home branch, a 流动党组织
# the one taken part in at the destination.
MEMBER_COLUMN = {VILLAGE: Member.village_id, MOBILE_ORG: Member.mobile_org_id}

NAME_MAX = 60
LIMITS = {
    "name": NAME_MAX, "location": 60, "host_org": 60, "contact_name": 40, "contact_title": 20,
}  # fmt: skip
CONTACT_FIELDS = ("contact_name", "contact_title", "contact_mobile", "contact_office",
                  "publish_phone")  # fmt: skip
# What each kind of unit keeps besides its contact person.
KIND_FIELDS = {
    VILLAGE: ("name", "code"),
    ONLINE_BRANCH: ("name",),
    MOBILE_ORG: ("name", "location", "host_org"),
    TOWNSHIP: (),
}
AUDITED = ("kind", "name", "code", "township_id", "location", "host_org", *CONTACT_FIELDS,
           "closed_at", "close_reason")  # fmt: skip
REASON_MAX = 100


# --- the tree -------------------------------------------------------------------------------


@dataclass
class TownshipNode:
    township: OrgUnit
    villages: list[OrgUnit] = field(default_factory=list)
    online_branches: list[OrgUnit] = field(default_factory=list)
    mobile_orgs: list[OrgUnit] = field(default_factory=list)
    # Closed units of any kind: history, listed apart.
    closed: list[OrgUnit] = field(default_factory=list)
    member_count: int = 0


def tree(user: User) -> tuple[list[TownshipNode], dict[int, int]]:
    """Townships with their units, and active members per village and per 流动党组织
    (taking part there) — three queries in all, whatever the number of units."""
    if user.role not in MANAGERS:
        return [], {}
    units = select(OrgUnit).where(org_unit_condition(user), OrgUnit.kind != COUNTY)
    village_counts = select(Member.village_id, func.count()).where(Member.status == ACTIVE)
    mobile_counts = select(Member.mobile_org_id, func.count()).where(
        Member.status == ACTIVE, Member.mobile_org_id.is_not(None)
    )
    if user.role == TOWNSHIP_OFFICER:
        village_counts = village_counts.where(Member.township_id == user.township_id)
        # Members of other townships may take part in this township's organisation.
        mobile_counts = mobile_counts.where(
            Member.mobile_org_id.in_(
                select(OrgUnit.id).where(
                    OrgUnit.township_id == user.township_id, OrgUnit.kind == MOBILE_ORG
                )
            )
        )
    nodes: dict[int, TownshipNode] = {}
    rows = list(db.session.scalars(units.order_by(OrgUnit.code, OrgUnit.id)))
    for unit in rows:
        if unit.kind == TOWNSHIP:
            nodes[unit.id] = TownshipNode(unit)
    lists = {VILLAGE: "villages", ONLINE_BRANCH: "online_branches", MOBILE_ORG: "mobile_orgs"}
    for unit in rows:
        node = nodes.get(unit.township_id)
        if node is None or unit.kind not in lists:
            continue
        getattr(node, lists[unit.kind] if unit.is_open else "closed").append(unit)
    counts = dict(db.session.execute(village_counts.group_by(Member.village_id)).all())
    counts |= dict(db.session.execute(mobile_counts.group_by(Member.mobile_org_id)).all())
    for node in nodes.values():
        node.member_count = sum(counts.get(v.id, 0) for v in node.villages)
    return list(nodes.values()), counts


def county() -> OrgUnit | None:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.kind == COUNTY))


def township_of(unit: OrgUnit) -> OrgUnit:
    return unit if unit.kind == TOWNSHIP else db.session.get(OrgUnit, unit.township_id)


def township_names() -> dict[int, str]:
    """The twelve townships' names by id, for labels."""
    return dict(
        db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == TOWNSHIP)).all()
    )


def active_member_count(unit: OrgUnit) -> int:
    """Active members whose home branch (village) or destination organisation this is."""
    column = MEMBER_COLUMN.get(unit.kind)
    if column is None:
        return 0
    return db.session.scalar(
        select(func.count()).select_from(Member).where(column == unit.id, Member.status == ACTIVE)
    )


def enabled_account_count(unit: OrgUnit) -> int:
    """Enabled accounts attached to the unit (its secretary, leader, members' logins)."""
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.org_unit_id == unit.id, User.active.is_(True))
    )


def move_targets(user: User, source: OrgUnit) -> list[OrgUnit]:
    """Open units of the source's kind the user may move its members to."""
    if source.kind not in MEMBER_COLUMN:
        return []
    return list(
        db.session.scalars(
            select(OrgUnit)
            .where(
                org_unit_condition(user),
                OrgUnit.kind == source.kind,
                OrgUnit.closed_at.is_(None),
                OrgUnit.id != source.id,
            )
            .order_by(OrgUnit.township_id, OrgUnit.name, OrgUnit.id)
        )
    )


def unit_members(unit: OrgUnit, user: User | None = None):
    """Active members of the unit, name first, as a Core select (for fetch_page).

    With a user, only those the user may see (a 流动党组织 takes members from several
    townships; a township officer lists their own).
    """
    column = MEMBER_COLUMN[unit.kind]
    village = OrgUnit.__table__.alias("village")
    stmt = (
        select(Member.id, Member.name, Member.dest_city, village.c.name.label("village_name"))
        .join(village, village.c.id == Member.village_id)
        .where(column == unit.id, Member.status == ACTIVE)
        .order_by(Member.name, Member.id)
    )
    return stmt.where(member_condition(user)) if user is not None else stmt


def members_outside_scope(unit: OrgUnit, user: User) -> int:
    """Active members of the unit the user may not see (named nowhere, only counted)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Member)
        .where(
            MEMBER_COLUMN[unit.kind] == unit.id, Member.status == ACTIVE, ~member_condition(user)
        )
    )


def units_changed() -> None:
    """This worker just created, renamed or closed a unit: menus show it at once."""
    village_choices.cache_clear()


# --- rules shared by create and update ----------------------------------------------------


def can_manage(user: User) -> bool:
    return user.role in MANAGERS


def editable_fields(user: User, unit: OrgUnit) -> tuple[str, ...]:
    """What this user may change on this unit (scope is checked by the caller's look-up)."""
    if unit.closed_at is not None or unit.kind == COUNTY:
        return ()
    if unit.kind == TOWNSHIP:
        # Townships are fixed; the county keeps their contact person.
        return CONTACT_FIELDS if user.role == COUNTY_ADMIN else ()
    if user.role in MANAGERS:
        return (*KIND_FIELDS[unit.kind], *CONTACT_FIELDS)
    if user.role in OWN_CONTACT_ROLES and user.org_unit_id == unit.id:
        return CONTACT_FIELDS
    return ()


def _clean(kind: str, data: dict, fields: tuple[str, ...]) -> tuple[dict, dict]:
    """The values for these fields trimmed and normalised, and the errors, by field."""
    values, errors = {}, {}
    for name in fields:
        value = data.get(name)
        values[name] = value.strip() if isinstance(value, str) else ("" if value is None else value)
    if kind == VILLAGE and values.get("name", "").endswith("党支部"):
        # The branch is named from its village (踏梯村 → 踏梯村党支部).
        values["name"] = values["name"].removesuffix("党支部").strip()
    for name, limit in LIMITS.items():
        if name in values and len(values[name]) > limit:
            errors[name] = f"最多 {limit} 个字"
    if "name" in values and not values["name"]:
        errors["name"] = "请填写名称"
    if values.get("code"):
        if not (
            len(values["code"]) == 12 and values["code"].isascii() and values["code"].isdigit()
        ):
            errors["code"] = "村代码应为 12 位数字（统计用区划代码，如 433125109201），不知道可不填"
    if kind == MOBILE_ORG and "location" in values and not values["location"]:
        errors["location"] = "请填写所在地，如：浙江省宁波市"
    for name, normalize in (
        ("contact_mobile", normalize_mobile),
        ("contact_office", normalize_phone),
    ):
        if values.get(name):
            try:
                values[name] = normalize(values[name])
            except InvalidValue as exc:
                errors[name] = str(exc)
    if "publish_phone" in values:
        choice = values["publish_phone"]
        if choice not in PUBLISH_CHOICES:
            errors["publish_phone"] = "请选择是否公布电话"
        elif choice == "mobile" and not values.get("contact_mobile"):
            errors.setdefault("contact_mobile", "选择公布手机，请填写手机号码")
        elif choice == "office" and not values.get("contact_office"):
            errors.setdefault("contact_office", "选择公布办公电话，请填写办公电话")
    return values, errors


def _check_unique(township: OrgUnit, kind: str, values: dict, errors: dict, unit_id=None):
    """Two open units of one kind in a township never share a name; a village code is
    one village's; a township runs one online branch."""
    others = OrgUnit.id != (unit_id or 0)
    if values.get("name") and "name" not in errors:
        clash = db.session.scalar(
            select(OrgUnit.id).where(
                OrgUnit.township_id == township.id,
                OrgUnit.kind == kind,
                OrgUnit.name == values["name"],
                OrgUnit.closed_at.is_(None),
                others,
            )
        )
        if clash:
            errors["name"] = f"{township.name}已有名为“{values['name']}”的{KIND_LABELS[kind]}"
    if values.get("code") and "code" not in errors:
        clash = db.session.scalar(
            select(OrgUnit.name).where(OrgUnit.code == values["code"], others).limit(1)
        )
        if clash:
            errors["code"] = f"这个代码已用于“{clash}”，请核对"
    if kind == ONLINE_BRANCH and unit_id is None:
        existing = db.session.scalar(
            select(OrgUnit.name).where(
                OrgUnit.township_id == township.id,
                OrgUnit.kind == ONLINE_BRANCH,
                OrgUnit.closed_at.is_(None),
            )
        )
        if existing:
            errors["kind"] = f"{township.name}已有网络党支部（{existing}），每个乡镇只设一个"


def _snapshot(unit: OrgUnit) -> dict:
    """The unit's audited fields (audit.snapshot masks a contact's mobile number)."""
    return audit.snapshot(unit, AUDITED)


def _flush_unit() -> None:
    """Flush, with the partial unique index as the last word on a duplicate name (the
    view rolls the transaction back on the RuleViolation)."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise RuleViolation({"name": "同一乡镇已有同名的组织，请换一个名称"}) from exc


# --- create, update, close ------------------------------------------------------------------


def create_unit(
    user: User, township: OrgUnit, kind: str, data: dict, request_id: str | None = None
) -> OrgUnit:
    """A new village branch, online branch or 流动党组织 under a township the user keeps.

    data: name, and by kind code (village) or location and host_org (流动党组织), and
    the contact fields. A replay of the same form returns the unit it created.
    """
    fields = (*KIND_FIELDS.get(kind, ()), *CONTACT_FIELDS)
    key_data = {"kind": kind, **{k: data.get(k, "") for k in fields}}
    earlier = replayed(OrgUnit, request_id, key_data, township_id=township.id, kind=kind)
    if earlier is not None:
        return earlier
    if (
        township.kind != TOWNSHIP
        or user.role not in MANAGERS
        or (user.role == TOWNSHIP_OFFICER and township.id != user.township_id)
    ):
        raise RuleViolation({"township_id": "只能在您负责的乡镇下新建组织"})
    return add_unit(township, kind, data, request_id)


def add_unit(township: OrgUnit, kind: str, data: dict, request_id: str | None = None) -> OrgUnit:
    """create_unit's rules without its permission check, for callers that have made their
    own (the roster import, already scoped to its importer's townships)."""
    if kind not in CREATABLE:
        raise RuleViolation({"kind": "请选择要新建的组织类型"})
    fields = (*KIND_FIELDS.get(kind, ()), *CONTACT_FIELDS)
    key_data = {"kind": kind, **{k: data.get(k, "") for k in fields}}
    values, errors = _clean(kind, data, fields)
    _check_unique(township, kind, values, errors)
    if errors:
        raise RuleViolation(errors)
    unit = OrgUnit(
        kind=kind, parent_id=township.id, township_id=township.id,
        **{k: v or (None if k in ("code", "location") else "") for k, v in values.items()},
        **keyed(request_id, key_data),
    )  # fmt: skip
    db.session.add(unit)
    _flush_unit()
    audit.record("org.create", unit, after=_snapshot(unit))
    return unit


def update_unit(user: User, unit: OrgUnit, data: dict) -> OrgUnit:
    """Rename a unit, or change its code, place, host or contact person — whichever of
    those this user may change; other keys in data are ignored."""
    allowed = editable_fields(user, unit)
    if not allowed:
        raise RuleViolation(
            {"name": "该组织已撤销，不能修改" if unit.closed_at else "您不能修改这个组织"}
        )
    fields = tuple(f for f in allowed if f in data)
    # The contact fields are checked as a whole (publishing a mobile number needs one,
    # whether it was typed now or before); the others only when sent.
    checked = tuple(f for f in allowed if f in data or f in CONTACT_FIELDS)
    values, errors = _clean(unit.kind, {**_current(unit, checked), **data}, checked)
    values = {k: values[k] for k in fields}
    if unit.kind != TOWNSHIP:
        _check_unique(township_of(unit), unit.kind, values, errors, unit_id=unit.id)
    if errors:
        raise RuleViolation(errors)
    before = _snapshot(unit)
    for name, value in values.items():
        setattr(unit, name, value or (None if name in ("code", "location") else ""))
    old, new = audit.changes(before, _snapshot(unit))
    if new:
        _flush_unit()
        audit.record("org.update", unit, before=old, after=new)
    return unit


def _current(unit: OrgUnit, fields) -> dict:
    """The unit's stored values of these fields, as a form would send them."""
    return {name: getattr(unit, name) or "" for name in fields}


def close_unit(user: User, unit: OrgUnit, reason: str) -> OrgUnit:
    """Close a unit, keeping the row and its history; refused while members or enabled
    accounts still belong to it."""
    if user.role not in MANAGERS:
        raise RuleViolation({"reason": "您不能撤销组织"})
    if unit.kind not in CREATABLE:
        raise RuleViolation({"reason": "乡镇党委不能在这里撤销"})
    if unit.closed_at is not None:
        return unit  # the same form sent twice
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation({"reason": "请填写撤销原因"})
    if len(reason) > REASON_MAX:
        raise RuleViolation({"reason": f"最多 {REASON_MAX} 个字"})
    members = active_member_count(unit)
    if members:
        where = "支部" if unit.kind == VILLAGE else "组织"
        raise RuleViolation(
            {"members": f"还有 {members} 名在册党员在这个{where}，请先把他们转到其他{where}再撤销"}
        )
    accounts = enabled_account_count(unit)
    if accounts:
        raise RuleViolation(
            {"accounts": f"还有 {accounts} 个启用的账户属于这个组织（如书记、负责人），"
                         "请先在账户管理中改到其他组织或停用"}
        )  # fmt: skip
    before = _snapshot(unit)
    unit.closed_at = utcnow()
    unit.close_reason = reason
    db.session.flush()
    old, new = audit.changes(before, _snapshot(unit))
    audit.record("org.close", unit, before=old, after=new)
    return unit


# --- moving members -----------------------------------------------------------------------

# Rows that keep a copy of their member's village and township so that a branch's list
# is one indexed range (scoping.member_condition): they follow the member, and the
# new branch sees them. Keyed by the column naming the member whose branch it is.
_COPIES = (
    (CareCase, CareCase.member_id),
    (FamilyPairing, FamilyPairing.member_id),
    (ServiceRequest, ServiceRequest.member_id),
    (MentorProfile, MentorProfile.member_id),
    (Mentorship, Mentorship.mentee_member_id),  # the mentee's branch arranged it
    (HonourRecommendation, HonourRecommendation.member_id),
    (Invitation, Invitation.member_id),
    (Certificate, Certificate.member_id),
    (Transfer, Transfer.member_id),
)


def move_members(
    user: User,
    source: OrgUnit,
    member_ids: list[int] | None,
    target: OrgUnit | None,
    reason: str,
    request_id: str | None = None,
) -> int:
    """Move active members of a village to another village, or of a 流动党组织 to another
    one (target None: they just leave it). member_ids None: all of them.

    Returns how many moved. Statements are set-based (their number does not grow with
    the members), and every member moved gets their own audit row.
    """
    column = MEMBER_COLUMN.get(source.kind)
    if user.role not in MANAGERS:
        raise RuleViolation({"target_id": "您不能转移党员"})
    if column is None:
        raise RuleViolation({"target_id": "只有村党支部和流动党组织有党员可转移"})
    key_data = {
        "member_ids": sorted(member_ids) if member_ids is not None else "all",
        "target_id": target.id if target else None, "reason": reason,
    }  # fmt: skip
    if (earlier := replayed_in_log("org.move_members", source, request_id, key_data)) is not None:
        return earlier.get("count", 0)
    errors = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "请填写转移原因"
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"最多 {REASON_MAX} 个字"
    target_error = _target_error(user, source, target)
    if target_error:
        errors["target_id"] = target_error
    rows = movable(source, member_ids, user)
    if not rows and not errors:
        errors["member_ids"] = (
            "这里没有在册党员可转移" if member_ids is None else "请勾选要转移的党员"
        )
    if errors:
        raise RuleViolation(errors)
    relocate(source, rows, target, reason)
    audit.record(
        "org.move_members", source,
        after={"target_id": target.id if target else None, "count": len(rows), "reason": reason,
               **logged_key(request_id, key_data)},
    )  # fmt: skip
    db.session.flush()
    return len(rows)


def movable(source: OrgUnit, member_ids: list[int] | None = None, user: User | None = None) -> list:
    """The source's active members (or those of member_ids still there), as relocate wants;
    with a user, only those the user may see (a 流动党组织 may have members from other
    townships, whom only the county moves)."""
    column = MEMBER_COLUMN[source.kind]
    stmt = select(Member.id, Member.village_id, Member.township_id, Member.mobile_org_id).where(
        column == source.id, Member.status == ACTIVE
    )
    if user is not None:
        stmt = stmt.where(member_condition(user))
    if member_ids is not None:
        # Ids not (or no longer) in the source are left alone: someone else moved them.
        stmt = stmt.where(Member.id.in_(member_ids))
    return db.session.execute(stmt.order_by(Member.id)).all()


def relocate(source: OrgUnit, rows: list, target: OrgUnit | None, reason: str) -> None:
    """Move these members (rows from movable()) from source to target, one audit row each.

    No permission check: move_members makes it for a person, the roster import has
    scoped its rows to its importer already.
    """
    ids = [r.id for r in rows]
    if source.kind == VILLAGE:
        _move_home_branch(ids, source, target)
        changed = {"village_id": target.id, "township_id": target.township_id}
    else:
        db.session.execute(
            update(Member)
            .where(Member.id.in_(ids))
            .values(mobile_org_id=target.id if target else None, version=Member.version + 1)
            .execution_options(synchronize_session=False)
        )
        changed = {"mobile_org_id": target.id if target else None}
    _expire_members(set(ids))
    audit.insert_all(
        audit.record(
            "member.move",
            entity_type="members",
            entity_id=row.id,
            before={name: getattr(row, name) for name in changed},
            after={**changed, "reason": reason, "from_unit_id": source.id},
        )  # fmt: skip
        for row in rows
    )


def _target_error(user: User, source: OrgUnit, target: OrgUnit | None) -> str:
    if target is None:
        return "" if source.kind == MOBILE_ORG else "请选择转入的村党支部"
    if target.id == source.id:
        return "请选择另一个组织"
    if target.kind != source.kind:
        return f"只能转到另一个{KIND_LABELS[source.kind]}"
    if target.closed_at is not None:
        return "该组织已撤销，不能转入"
    in_scope = db.session.scalar(
        select(OrgUnit.id).where(OrgUnit.id == target.id, org_unit_condition(user))
    )
    return "" if in_scope else "只能转到您负责的乡镇的组织"


def _move_home_branch(ids: list[int], source: OrgUnit, target: OrgUnit) -> None:
    """The members' village and township, the copies other rows keep of them, their
    liaison (a liaison belongs to a village) and a member's own login."""
    moved = {"village_id": target.id, "township_id": target.township_id}
    for model, member_column in _COPIES:
        db.session.execute(
            update(model)
            .where(member_column.in_(ids))
            .values(**moved)
            .execution_options(synchronize_session=False)
        )
    # A standing pairing made by the old branch is carried on by the new one.
    db.session.execute(
        update(FamilyPairing)
        .where(
            FamilyPairing.member_id.in_(ids),
            FamilyPairing.branch_id == source.id,
            FamilyPairing.ended_on.is_(None),
        )
        .values(branch_id=target.id)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(LiaisonAssignment)
        .where(LiaisonAssignment.member_id.in_(ids), LiaisonAssignment.ended_on.is_(None))
        .values(ended_on=local_today())
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(User)
        .where(User.member_id.in_(ids), User.role == MEMBER)
        .values(org_unit_id=target.id)
        .execution_options(synchronize_session=False)
    )
    # A bulk UPDATE bypasses the ORM's version counter, so bump it here: an editor
    # holding one of these members open must see that the record changed.
    db.session.execute(
        update(Member)
        .where(Member.id.in_(ids))
        .values(**moved, liaison_id=None, version=Member.version + 1)
        .execution_options(synchronize_session=False)
    )


def _expire_members(ids: set[int]) -> None:
    """Members already loaded in this session reload what the bulk UPDATE wrote."""
    for obj in list(db.session.identity_map.values()):
        # The identity, not obj.id: reading an expired attribute would load the row.
        if isinstance(obj, Member) and inspect(obj).identity[0] in ids:
            db.session.expire(obj)


# --- taking part in a 流动党组织 ----------------------------------------------------------


def _check_mobile_org(org: OrgUnit) -> None:
    if org.kind != MOBILE_ORG:
        raise RuleViolation({"member_id": "只有流动党组织可以吸收党员参加"})
    if org.closed_at is not None:
        raise RuleViolation({"member_id": "该组织已撤销"})


def join_mobile_org(user: User, org: OrgUnit, member: Member) -> bool:
    """The member takes part in this 流动党组织 too (their home branch stays); False if
    they already did."""
    _check_mobile_org(org)
    if user.role not in MANAGERS:
        raise RuleViolation({"member_id": "您不能调整流动党组织的成员"})
    if member.mobile_org_id == org.id:
        return False
    if member.status != ACTIVE:
        raise RuleViolation({"member_id": f"{member.name}已不在流动党员名册中"})
    if member.mobile_org_id is not None:
        other = db.session.get(OrgUnit, member.mobile_org_id)
        raise RuleViolation({"member_id": f"{member.name}已参加{other.name}，请先在那里办理退出"})
    member.mobile_org_id = org.id
    db.session.flush()  # the ORM bumps the member's version
    audit.record("member.join_mobile_org", member, before={"mobile_org_id": None},
                 after={"mobile_org_id": org.id})  # fmt: skip
    return True


def leave_mobile_org(user: User, org: OrgUnit, member: Member, reason: str) -> bool:
    """The member no longer takes part in this 流动党组织; False if they already left."""
    if user.role not in MANAGERS:
        raise RuleViolation({"reason": "您不能调整流动党组织的成员"})
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation({"reason": "请填写退出原因"})
    if len(reason) > REASON_MAX:
        raise RuleViolation({"reason": f"最多 {REASON_MAX} 个字"})
    if member.mobile_org_id != org.id:
        return False
    member.mobile_org_id = None
    db.session.flush()
    audit.record("member.leave_mobile_org", member, before={"mobile_org_id": org.id},
                 after={"mobile_org_id": None, "reason": reason})  # fmt: skip
    return True
