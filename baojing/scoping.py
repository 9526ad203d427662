"""Who may see which rows. Every member query goes through here (DESIGN.md "Scoping")."""

from flask import abort
from sqlalchemy import bindparam, false, or_, select, true

from baojing.cache import ttl_cache
from baojing.extensions import db
from baojing.models.hub import (
    SCOPE_COUNTY,
    SCOPE_TOWNSHIP,
    SCOPE_VILLAGE,
    TO_TOWNSHIP,
    Announcement,
    Question,
)
from baojing.models.members import ACTIVE, BranchContact, Member
from baojing.models.mentors import Enterprise, Event
from baojing.models.org import COUNTY, TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.rankings import RankingPublication
from baojing.models.tasks import Task, TaskTemplate
from baojing.models.users import (
    CLERK,
    COUNTY_ADMIN,
    MEMBER,
    ORG_LEADER,
    TOWNSHIP_OFFICER,
    VILLAGE_SECRETARY,
    User,
)

# Roles that manage the member registry (create, edit, register, hand over liaisons).
REGISTRY_ROLES = (COUNTY_ADMIN, TOWNSHIP_OFFICER, VILLAGE_SECRETARY)
# Roles that look members up in the list and read their profiles: the registry, and a
# 流动党组织's leader for the members who take part there (read only).
MEMBER_LIST_ROLES = (*REGISTRY_ROLES, ORG_LEADER)


def member_scope(user: User) -> tuple[str, int | None]:
    """The user's scope over members as (kind, id): the one place roles map to rows."""
    if user.role == COUNTY_ADMIN:
        return "all", None
    if user.role == TOWNSHIP_OFFICER and user.org_unit_id:
        return "township", user.township_id
    if user.role == VILLAGE_SECRETARY and user.org_unit_id:
        return "village", user.org_unit_id
    if user.role == MEMBER and user.member_id:
        return "self", user.member_id
    if user.role == ORG_LEADER and user.org_unit_id:
        return "mobile_org", user.org_unit_id
    # The clerk's counter look-up is its own narrow query (points store), not this one.
    return "none", None


# Where each scope kind is found: on Member itself, and on the tables that copy their
# member's village and township (care cases, certificates, honours …), so that a
# secretary's or a township's rows are one indexed range without a join to members.
_MEMBER_COLUMNS = {"township": "township_id", "village": "village_id", "self": "id",
                   "mobile_org": "mobile_org_id"}  # fmt: skip
_COPIED_COLUMNS = {"township": "township_id", "village": "village_id", "self": "member_id"}


def _condition(kind: str, model, value):
    if kind == "all":
        return true()
    name = (_MEMBER_COLUMNS if model is Member else _COPIED_COLUMNS).get(kind)
    # A table without the column (an enterprise has no member_id) has no such rows.
    column = getattr(model, name, None) if name else None
    return column == value if column is not None else false()


def member_condition(user: User, model=Member):
    """SQL condition limiting rows of `model` to the members the user may see."""
    kind, scope_id = member_scope(user)
    return _condition(kind, model, scope_id)


def member_condition_by_kind(kind: str, model=Member):
    """member_condition with the id left as the bind parameter :scope_id, for a statement
    built once per scope kind (a hot page's select)."""
    return _condition(kind, model, bindparam("scope_id"))


def get_scoped_or_404(user: User, model, row_id: int):
    """A row of such a table if the user may see it; otherwise 404."""
    row = db.session.scalar(select(model).where(model.id == row_id, member_condition(user, model)))
    if row is None:
        abort(404)
    return row


def get_member_or_404(user: User, member_id: int) -> Member:
    """The member with this id if the user may see it; otherwise 404, never 403."""
    member = db.session.scalar(select(Member).where(Member.id == member_id, member_condition(user)))
    if member is None:
        abort(404)
    return member


def village_condition(user: User):
    """Open villages (branches) the user may manage.

    A closed branch takes no new members, liaisons or awards, so it is out of every
    menu and every look-up by id that leads to a write; the org tree and the unit page
    still show it (org_unit_condition).
    """
    cond = (OrgUnit.kind == VILLAGE) & OrgUnit.closed_at.is_(None)
    if user.role == COUNTY_ADMIN:
        return cond
    if user.role == TOWNSHIP_OFFICER and user.org_unit_id:
        return cond & (OrgUnit.township_id == user.township_id)
    if user.role == VILLAGE_SECRETARY and user.org_unit_id:
        return cond & (OrgUnit.id == user.org_unit_id)
    return false()


def scoped_villages(user: User) -> list[OrgUnit]:
    return list(
        db.session.scalars(
            select(OrgUnit).where(village_condition(user)).order_by(OrgUnit.township_id, OrgUnit.id)
        )
    )


@ttl_cache(60, key=lambda user: (user.role, user.org_unit_id))
def village_choices(user: User) -> list[tuple[int, str]]:
    """(id, name) of the villages the user manages, for filters and selects.

    Only a menu: access is still checked by get_village_or_404 on every write.
    """
    stmt = (
        select(OrgUnit.id, OrgUnit.name)
        .where(village_condition(user))
        .order_by(OrgUnit.township_id, OrgUnit.id)
    )
    return [tuple(row) for row in db.session.connection().execute(stmt)]


def township_choices(user: User) -> list[tuple[int, str]]:
    """(id, name) of the townships the user works in: all for the county, its own otherwise."""
    stmt = select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == TOWNSHIP).order_by(OrgUnit.id)
    if user.role != COUNTY_ADMIN:
        stmt = stmt.where(OrgUnit.id == (user.township_id or 0))
    return [tuple(row) for row in db.session.execute(stmt)]


def get_village_or_404(user: User, village_id: int) -> OrgUnit:
    village = db.session.scalar(
        select(OrgUnit).where(OrgUnit.id == village_id, village_condition(user))
    )
    if village is None:
        abort(404)
    return village


def org_unit_condition(user: User):
    """Org units the user looks after in the org tree, open or closed: the county
    every township and unit, a township officer their own township's; nobody else."""
    if user.role == COUNTY_ADMIN:
        return OrgUnit.kind != COUNTY
    if user.role == TOWNSHIP_OFFICER and user.org_unit_id:
        return OrgUnit.township_id == user.township_id
    return false()


def get_org_unit_or_404(user: User, unit_id: int) -> OrgUnit:
    """An org unit the user looks after; another township's is a 404, never a 403."""
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.id == unit_id, org_unit_condition(user)))
    if unit is None:
        abort(404)
    return unit


def liaison_condition(user: User):
    """Branch contacts of the villages the user manages."""
    villages = select(OrgUnit.id).where(village_condition(user))
    return BranchContact.village_id.in_(villages)


def get_liaison_or_404(user: User, liaison_id: int) -> BranchContact:
    contact = db.session.scalar(
        select(BranchContact).where(BranchContact.id == liaison_id, liaison_condition(user))
    )
    if contact is None:
        abort(404)
    return contact


def can_manage_registry(user: User) -> bool:
    return user.role in REGISTRY_ROLES


def can_see_full_id(user: User, member: Member) -> bool:
    """Registry roles in scope, and the member themself; never the clerk."""
    if user.role == MEMBER:
        return user.member_id == member.id
    return user.role in REGISTRY_ROLES


# --- the points-store counter ---------------------------------------------------------

# Who works a counter: the county's clerk and admins for everyone; a township or a
# village that runs its own store for its own members.
COUNTER_ROLES = (CLERK, COUNTY_ADMIN, TOWNSHIP_OFFICER, VILLAGE_SECRETARY)


def counter_scope(user: User) -> tuple[str, int | None]:
    """Members the user may look up and redeem for at a counter, as (kind, id)."""
    if user.role == CLERK:
        return "all", None
    if user.role in REGISTRY_ROLES:
        return member_scope(user)
    return "none", None


def counter_condition(user: User):
    kind, scope_id = counter_scope(user)
    return _condition(kind, Member, scope_id)


def redemption_visible(user: User, redemption) -> bool:
    """A receipt: its member sees it, and whoever may serve that member at a counter."""
    if user.role == MEMBER:
        return redemption.member_id == user.member_id
    if user.role not in COUNTER_ROLES:
        return False
    return (
        db.session.scalar(
            select(Member.id).where(Member.id == redemption.member_id, counter_condition(user))
        )
        is not None
    )


# --- mentors: enterprises and events (township rules, no village narrowing) ---------------


def enterprise_condition(user: User):
    """Enterprises the user may see: the county all, others their own township's."""
    if user.role == COUNTY_ADMIN:
        return true()
    if user.role in (TOWNSHIP_OFFICER, VILLAGE_SECRETARY) and user.township_id:
        return Enterprise.township_id == user.township_id
    return false()


def event_condition(user: User):
    """Events the user works with: the county all; a township and its villages the
    county-wide ones and the township's own."""
    if user.role == COUNTY_ADMIN:
        return true()
    if user.role in (TOWNSHIP_OFFICER, VILLAGE_SECRETARY) and user.township_id:
        return or_(Event.township_id.is_(None), Event.township_id == user.township_id)
    return false()


# --- rankings: each online branch sees its own published ranking ------------------------


def ranking_condition(user: User):
    """Published rankings the user sees: the county all; a township, a village and a
    member their own township's online branch; a user with no branch (the clerk) none."""
    if user.role == COUNTY_ADMIN:
        return true()
    if user.role == MEMBER:
        if not user.member_id:
            return false()
        township_id = select(Member.township_id).where(Member.id == user.member_id)
        return RankingPublication.township_id == township_id.scalar_subquery()
    if user.township_id:
        return RankingPublication.township_id == user.township_id
    return false()


def ranking_townships_condition(user: User):
    """Townships whose ranking the user may publish: the county any, an officer their own."""
    cond = OrgUnit.kind == TOWNSHIP
    if user.role == COUNTY_ADMIN:
        return cond
    if user.role == TOWNSHIP_OFFICER and user.township_id:
        return cond & (OrgUnit.id == user.township_id)
    return false()


# --- thought reports: private, read by the member, their reviewer and the county ----------


def thought_reviewer_role(village_review: bool) -> str:
    """Who reviews thought reports: the township officer, or the village secretary when
    the county's setting gives the village the review (services.settings)."""
    return VILLAGE_SECRETARY if village_review else TOWNSHIP_OFFICER


def thought_condition(user: User, model, village_review: bool):
    """Thought reports (or rows copying their scope) the user may read in full: the
    member their own, the reviewing role in its scope, the county admin all; nobody else
    (a township officer whose villages review, a secretary whose township reviews, the
    clerk, an org leader)."""
    if user.role == COUNTY_ADMIN:
        return true()
    if user.role == MEMBER:
        return model.member_id == user.member_id if user.member_id else false()
    if user.role != thought_reviewer_role(village_review) or not user.org_unit_id:
        return false()
    return member_condition(user, model)


# --- monthly tasks: a township's online branch sets them for its members -------------------


def task_condition(user: User):
    """Tasks the user sees: the county all; a township officer and a village secretary
    their township's; a member their own township's; nobody else any."""
    if user.role == COUNTY_ADMIN:
        return true()
    if user.role == MEMBER:
        if not user.member_id:
            return false()
        township_id = select(Member.township_id).where(Member.id == user.member_id)
        return Task.township_id == township_id.scalar_subquery()
    if user.role in (TOWNSHIP_OFFICER, VILLAGE_SECRETARY) and user.township_id:
        return Task.township_id == user.township_id
    return false()


def get_task_or_404(user: User, task_id: int) -> Task:
    """A task the user sees; another township's is a 404, never a 403."""
    task = db.session.scalar(select(Task).where(Task.id == task_id, task_condition(user)))
    if task is None:
        abort(404)
    return task


def get_task_template_or_404(user: User, template_id: int) -> TaskTemplate:
    """A template the user keeps: a township officer their own township's."""
    if user.role != TOWNSHIP_OFFICER or not user.township_id:
        abort(404)
    template = db.session.scalar(
        select(TaskTemplate).where(
            TaskTemplate.id == template_id, TaskTemplate.township_id == user.township_id
        )
    )
    if template is None:
        abort(404)
    return template


# --- the hub: announcements and questions ----------------------------------------------

# Who uses the hub: the three who publish, and the members who read.
HUB_ROLES = (*REGISTRY_ROLES, MEMBER)
# Who answers questions: the county for the county's, an officer for their township's.
ANSWER_ROLES = (COUNTY_ADMIN, TOWNSHIP_OFFICER)


def _own_place(user: User):
    """The user's (village, township) as SQL values: a member's from their registry row
    (so that a move takes effect at once), a secretary's and an officer's from their unit."""
    if user.role == MEMBER:
        if not user.member_id:
            return None, None
        own = select(Member.village_id).where(Member.id == user.member_id)
        return (
            own.scalar_subquery(),
            own.with_only_columns(Member.township_id).scalar_subquery(),
        )
    if user.role == VILLAGE_SECRETARY and user.org_unit_id:
        return user.org_unit_id, user.township_id
    if user.role == TOWNSHIP_OFFICER and user.org_unit_id:
        return None, user.township_id
    return None, None


def announcement_condition(user: User):
    """Announcements the user sees: the county's, their township's and their village's
    (a township officer every village's of the township; the county all)."""
    if user.role == COUNTY_ADMIN:
        return true()
    if user.role not in HUB_ROLES:
        return false()
    village_id, township_id = _own_place(user)
    if township_id is None:
        return false()
    county = Announcement.scope == SCOPE_COUNTY
    if user.role == TOWNSHIP_OFFICER:
        return or_(county, Announcement.township_id == township_id)
    return or_(
        county,
        (Announcement.scope == SCOPE_TOWNSHIP) & (Announcement.township_id == township_id),
        Announcement.village_id == village_id,
    )


def get_announcement_or_404(user: User, announcement_id: int):
    row = db.session.scalar(
        select(Announcement).where(Announcement.id == announcement_id, announcement_condition(user))
    )
    if row is None:
        abort(404)
    return row


def audience_condition(announcement):
    """The members an announcement is for (active ones: a transferred member has left)."""
    cond = Member.status == ACTIVE
    if announcement.scope == SCOPE_TOWNSHIP:
        return cond & (Member.township_id == announcement.township_id)
    if announcement.scope == SCOPE_VILLAGE:
        return cond & (Member.village_id == announcement.village_id)
    return cond


def question_condition(user: User):
    """Questions the user sees: a member their own; the county every one (it answers the
    county's); a township officer those put to their township. Nobody else."""
    if user.role == MEMBER:
        return Question.member_id == user.member_id if user.member_id else false()
    if user.role == COUNTY_ADMIN:
        return true()
    if user.role == TOWNSHIP_OFFICER and user.township_id:
        return (Question.addressed_to == TO_TOWNSHIP) & (Question.township_id == user.township_id)
    return false()


def get_question_or_404(user: User, question_id: int):
    row = db.session.scalar(
        select(Question).where(Question.id == question_id, question_condition(user))
    )
    if row is None:
        abort(404)
    return row
