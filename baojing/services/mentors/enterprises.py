"""小个专 enterprises: the registry, their members, credit support in fen, difficulties, totals.

Money is integer fen from the form to the page: amounts are parsed with Decimal, summed
by SQLite as integers and formatted from integers, so totals are exact.
"""

from dataclasses import dataclass

from sqlalchemy import Integer, cast, func, select

from baojing import audit
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.mentors import (
    CREDIT_STATUSES,
    ENTERPRISE_KINDS,
    CreditSupport,
    Difficulty,
    Enterprise,
    EnterpriseMember,
)
from baojing.models.org import OrgUnit
from baojing.models.users import COUNTY_ADMIN, TOWNSHIP_OFFICER, VILLAGE_SECRETARY, User
from baojing.money import FEN_PER_YUAN
from baojing.scoping import enterprise_condition, member_condition
from baojing.services import RuleViolation
from baojing.services.idempotency import keyed, logged_key, replayed, replayed_in_log
from baojing.services.paging import Page, fetch_page

# Who may open the enterprise pages (their township's), and who runs them: registers
# enterprises, records loans and closes difficulties. A village secretary reads, notes
# difficulties members raise, and links their own members.
READERS = (COUNTY_ADMIN, TOWNSHIP_OFFICER, VILLAGE_SECRETARY)
MANAGERS = (COUNTY_ADMIN, TOWNSHIP_OFFICER)

MEMBER_ROLES = {"owner": "负责人", "employee": "员工"}
APPLIED, GRANTED, REPAID = "applied", "granted", "repaid"
LENT = (GRANTED, REPAID)  # what "loans granted" counts: money that reached the enterprise
CREDIT_NEXT = {APPLIED: (GRANTED,), GRANTED: (REPAID,), REPAID: ()}

MAX_YUAN = 1_000_000_000  # 10 亿元: the CHECK on credit_supports.amount_fen agrees
MAX_FEN = MAX_YUAN * FEN_PER_YUAN
MAX_PARTY_MEMBERS = 10_000


# --- scope ---------------------------------------------------------------------------------


def enterprise_in_scope(user: User, enterprise_id: int) -> Enterprise | None:
    return db.session.scalar(
        select(Enterprise).where(Enterprise.id == enterprise_id, enterprise_condition(user))
    )


def can_manage(user: User) -> bool:
    return user.role in MANAGERS


# --- writes ------------------------------------------------------------------------------


def _check_numbers(data: dict, errors: dict) -> None:
    if data["kind"] not in ENTERPRISE_KINDS:
        errors["kind"] = "请选择企业类型"
    if not 0 <= data["party_members"] <= MAX_PARTY_MEMBERS:
        errors["party_members"] = f"党员人数请填 0 到 {MAX_PARTY_MEMBERS}"
    if data["has_party_org"] and data["party_members"] < 3:
        # 党章: three full members form a branch; fewer join a joint one elsewhere.
        errors["has_party_org"] = "建立党组织至少需要 3 名党员，请核对党员人数"


def register(actor: User, township: OrgUnit, data: dict, request_id: str | None = None):
    """Register a 小个专 enterprise under a township the caller works in.

    data: name, kind, location, trade, party_members, has_party_org.
    """
    if (earlier := replayed(Enterprise, request_id, data, township_id=township.id)) is not None:
        return earlier
    errors: dict[str, str] = {}
    _check_numbers(data, errors)
    same_name = db.session.scalar(
        select(Enterprise.id).where(
            Enterprise.township_id == township.id, Enterprise.name == data["name"]
        )
    )
    if same_name:
        errors["name"] = f"{township.name}已登记过同名企业"
    if errors:
        raise RuleViolation(errors)
    enterprise = Enterprise(
        township_id=township.id, created_by_id=actor.id, **data, **keyed(request_id, data)
    )
    db.session.add(enterprise)
    db.session.flush()
    audit.record(
        "enterprise.create", enterprise,
        after={"name": enterprise.name, "kind": enterprise.kind, "township_id": township.id,
               "party_members": enterprise.party_members,
               "has_party_org": enterprise.has_party_org},
    )  # fmt: skip
    return enterprise


def link_member(
    enterprise: Enterprise, member: Member, role: str, actor: User, request_id: str | None = None
) -> EnterpriseMember:
    """Record a member as the enterprise's owner or employee (again: change the role)."""
    data = {"enterprise_id": enterprise.id, "member_id": member.id, "role": role}
    replay = replayed_in_log("enterprise.member", enterprise, request_id, data)
    link = db.session.scalar(
        select(EnterpriseMember).where(
            EnterpriseMember.enterprise_id == enterprise.id,
            EnterpriseMember.member_id == member.id,
        )
    )
    if replay is not None and link is not None:
        return link
    if role not in MEMBER_ROLES:
        raise RuleViolation({"role": "请选择负责人或员工"})
    if member.status != ACTIVE:
        raise RuleViolation({"role": "该党员已不在流动党员名册中"})
    before = {"role": link.role} if link else None
    if link is None:
        link = EnterpriseMember(enterprise_id=enterprise.id, member_id=member.id, role=role)
        db.session.add(link)
    elif link.role == role:
        return link
    link.role = role
    db.session.flush()
    audit.record(
        "enterprise.member", enterprise, before=before,
        after={"member_id": member.id, "role": role, **logged_key(request_id, data)},
    )  # fmt: skip
    return link


def _check_credit_dates(status: str, granted_on, errors: dict) -> None:
    if status in LENT and granted_on is None:
        errors["granted_on"] = "请填写放款日期"
    elif status == APPLIED and granted_on is not None:
        errors["granted_on"] = "申请中的贷款还没有放款日期，请留空"
    elif granted_on is not None and granted_on > local_today():
        errors["granted_on"] = "放款日期不能晚于今天"


def add_credit(
    enterprise: Enterprise, actor: User, data: dict, request_id: str | None = None
) -> CreditSupport:
    """Record a loan (授信贷款) to the enterprise. data: bank, amount_fen, status, granted_on."""
    if (
        earlier := replayed(CreditSupport, request_id, data, enterprise_id=enterprise.id)
    ) is not None:
        return earlier
    errors: dict[str, str] = {}
    if not 0 < data["amount_fen"] <= MAX_FEN:
        errors["amount"] = "金额须大于 0 且不超过 10 亿元"
    if data["status"] not in CREDIT_STATUSES:
        errors["status"] = "请选择贷款状态"
    else:
        _check_credit_dates(data["status"], data["granted_on"], errors)
    if errors:
        raise RuleViolation(errors)
    credit = CreditSupport(
        enterprise_id=enterprise.id, recorded_by_id=actor.id, **data, **keyed(request_id, data)
    )
    db.session.add(credit)
    db.session.flush()
    audit.record(
        "enterprise.credit", credit,
        after={"enterprise_id": enterprise.id, "bank": credit.bank,
               "amount_fen": credit.amount_fen, "status": credit.status,
               "granted_on": credit.granted_on.isoformat() if credit.granted_on else None},
    )  # fmt: skip
    return credit


def next_credit_statuses(credit: CreditSupport) -> tuple[str, ...]:
    return CREDIT_NEXT.get(credit.status, ())


def move_credit(credit: CreditSupport, actor: User, data: dict) -> CreditSupport:
    """申请中 → 已放款 (with its date) → 已还清. data: status, granted_on."""
    status = data["status"]
    granted_on = data["granted_on"] if status == GRANTED else credit.granted_on
    if status == credit.status and granted_on == credit.granted_on:
        return credit  # the same form sent twice
    if status not in next_credit_statuses(credit):
        raise RuleViolation({"status": "不能改成这个状态"})
    errors: dict[str, str] = {}
    _check_credit_dates(status, granted_on, errors)
    if errors:
        raise RuleViolation(errors)
    before = {"status": credit.status, "granted_on": credit.granted_on}
    credit.status, credit.granted_on = status, granted_on
    db.session.flush()
    audit.record(
        "enterprise.credit_status", credit, before=_dated(before),
        after=_dated({"status": status, "granted_on": granted_on}),
    )  # fmt: skip
    return credit


def _dated(values: dict) -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


def add_difficulty(
    enterprise: Enterprise, actor: User, data: dict, request_id: str | None = None
) -> Difficulty:
    """Note a difficulty the enterprise raised. data: description, raised_on."""
    if (earlier := replayed(Difficulty, request_id, data, enterprise_id=enterprise.id)) is not None:
        return earlier
    if data["raised_on"] > local_today():
        raise RuleViolation({"raised_on": "提出日期不能晚于今天"})
    difficulty = Difficulty(
        enterprise_id=enterprise.id, recorded_by_id=actor.id, **data, **keyed(request_id, data)
    )
    db.session.add(difficulty)
    db.session.flush()
    audit.record(
        "enterprise.difficulty", difficulty,
        after={"enterprise_id": enterprise.id, "description": difficulty.description,
               "raised_on": difficulty.raised_on.isoformat()},
    )  # fmt: skip
    return difficulty


def resolve(difficulty: Difficulty, actor: User, data: dict) -> Difficulty:
    """Close a difficulty: who helped, when, how. data: helped_by, resolved_on, resolution."""
    if difficulty.resolved_on is not None:
        same = (difficulty.helped_by, difficulty.resolved_on, difficulty.resolution) == (
            data["helped_by"], data["resolved_on"], data["resolution"],
        )  # fmt: skip
        if same:
            return difficulty  # the same form sent twice
        raise RuleViolation({"resolution": f"这件困难已于 {difficulty.resolved_on} 协调解决"})
    if data["resolved_on"] > local_today():
        raise RuleViolation({"resolved_on": "解决日期不能晚于今天"})
    if data["resolved_on"] < difficulty.raised_on:
        raise RuleViolation({"resolved_on": "解决日期不能早于提出的日期"})
    difficulty.helped_by = data["helped_by"]
    difficulty.resolved_on = data["resolved_on"]
    difficulty.resolution = data["resolution"]
    db.session.flush()
    audit.record(
        "enterprise.resolve", difficulty,
        after={"enterprise_id": difficulty.enterprise_id, "helped_by": difficulty.helped_by,
               "resolved_on": difficulty.resolved_on.isoformat(),
               "resolution": difficulty.resolution},
    )  # fmt: skip
    return difficulty


# --- reading ------------------------------------------------------------------------------


def _lent_fen_of(enterprise_id_column):
    return (
        select(func.coalesce(func.sum(CreditSupport.amount_fen), 0))
        .where(CreditSupport.enterprise_id == enterprise_id_column, CreditSupport.status.in_(LENT))
        .scalar_subquery()
    )


def list_enterprises(
    user: User, *, township_id: int | None = None, q: str = "", page: int = 1
) -> Page:
    """Enterprises in scope by township and name, with money lent and difficulties open."""
    open_difficulties = (
        select(func.count())
        .where(Difficulty.enterprise_id == Enterprise.id, Difficulty.resolved_on.is_(None))
        .scalar_subquery()
    )
    stmt = (
        select(
            Enterprise.id,
            Enterprise.name,
            Enterprise.kind,
            Enterprise.trade,
            Enterprise.location,
            Enterprise.party_members,
            Enterprise.has_party_org,
            OrgUnit.name.label("township_name"),
            _lent_fen_of(Enterprise.id).label("lent_fen"),
            open_difficulties.label("open_difficulties"),
        )
        .join(OrgUnit, OrgUnit.id == Enterprise.township_id)
        .where(enterprise_condition(user))
        .order_by(Enterprise.township_id, Enterprise.name, Enterprise.id)
    )
    if township_id:
        stmt = stmt.where(Enterprise.township_id == township_id)
    if q:
        stmt = stmt.where(Enterprise.name.contains(q, autoescape=True))
    return fetch_page(stmt, page)


def township_name(enterprise: Enterprise) -> str:
    return db.session.scalar(select(OrgUnit.name).where(OrgUnit.id == enterprise.township_id))


def members_of(enterprise: Enterprise, user: User) -> tuple[list, int]:
    """(rows the user may see: id, name, village_name, role; how many others are linked)."""
    village = OrgUnit.__table__.alias("village")
    rows = db.session.execute(
        select(Member.id, Member.name, village.c.name.label("village_name"), EnterpriseMember.role)
        .join(Member, Member.id == EnterpriseMember.member_id)
        .join(village, village.c.id == Member.village_id)
        .where(EnterpriseMember.enterprise_id == enterprise.id, member_condition(user))
        .order_by(EnterpriseMember.role.desc(), Member.name, Member.id)
    ).all()
    total = db.session.scalar(
        select(func.count())
        .select_from(EnterpriseMember)
        .where(EnterpriseMember.enterprise_id == enterprise.id)
    )
    return rows, total - len(rows)


def credits_of(enterprise: Enterprise) -> list[CreditSupport]:
    return list(
        db.session.scalars(
            select(CreditSupport)
            .where(CreditSupport.enterprise_id == enterprise.id)
            .order_by(CreditSupport.id.desc())
        )
    )


def difficulties_of(enterprise: Enterprise) -> list[Difficulty]:
    """Open ones first (oldest first), then the resolved, newest first."""
    return list(
        db.session.scalars(
            select(Difficulty)
            .where(Difficulty.enterprise_id == enterprise.id)
            .order_by(
                Difficulty.resolved_on.is_not(None),
                Difficulty.resolved_on.desc(),
                Difficulty.raised_on,
                Difficulty.id,
            )
        )
    )


def credit_of(enterprise: Enterprise, credit_id: int) -> CreditSupport | None:
    return db.session.scalar(
        select(CreditSupport).where(
            CreditSupport.id == credit_id, CreditSupport.enterprise_id == enterprise.id
        )
    )


def difficulty_of(enterprise: Enterprise, difficulty_id: int) -> Difficulty | None:
    return db.session.scalar(
        select(Difficulty).where(
            Difficulty.id == difficulty_id, Difficulty.enterprise_id == enterprise.id
        )
    )


# --- the figures the report quotes ----------------------------------------------------------


@dataclass
class Figures:
    enterprises: int = 0
    with_party_org: int = 0
    party_members: int = 0
    loans: int = 0  # loans granted (已放款 or 已还清)
    lent_fen: int = 0  # their amounts
    applied: int = 0
    applied_fen: int = 0
    difficulties: int = 0  # raised
    resolved: int = 0

    @property
    def open(self) -> int:
        return self.difficulties - self.resolved

    def add(self, other: "Figures") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Totals:
    total: Figures
    townships: list  # (township name, Figures), county admin only shows several


def totals(user: User) -> Totals:
    """Enterprises, loans granted (sum in fen), difficulties raised and resolved, in scope."""
    conn = db.session.connection()
    scope = enterprise_condition(user)
    per: dict[int, Figures] = {}

    def fig(township_id: int) -> Figures:
        return per.setdefault(township_id, Figures())

    for tid, n, with_org, members in conn.execute(
        select(
            Enterprise.township_id,
            func.count(),
            func.coalesce(func.sum(cast(Enterprise.has_party_org, Integer)), 0),
            func.coalesce(func.sum(Enterprise.party_members), 0),
        )
        .where(scope)
        .group_by(Enterprise.township_id)
    ):
        f = fig(tid)
        f.enterprises, f.with_party_org, f.party_members = n, int(with_org), int(members)
    lent = CreditSupport.status.in_(LENT)
    for tid, is_lent, n, fen in conn.execute(
        select(
            Enterprise.township_id,
            lent,
            func.count(),
            func.coalesce(func.sum(CreditSupport.amount_fen), 0),
        )
        .join(Enterprise, Enterprise.id == CreditSupport.enterprise_id)
        .where(scope)
        .group_by(Enterprise.township_id, lent)
    ):
        f = fig(tid)
        if is_lent:
            f.loans, f.lent_fen = n, int(fen)
        else:
            f.applied, f.applied_fen = n, int(fen)
    for tid, raised, resolved in conn.execute(
        select(
            Enterprise.township_id,
            func.count(),
            func.count(Difficulty.resolved_on),
        )
        .join(Enterprise, Enterprise.id == Difficulty.enterprise_id)
        .where(scope)
        .group_by(Enterprise.township_id)
    ):
        f = fig(tid)
        f.difficulties, f.resolved = raised, resolved
    names = dict(
        conn.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(list(per)))).all()
    )
    total = Figures()
    for f in per.values():
        total.add(f)
    rows = sorted(((names.get(tid, "?"), f) for tid, f in per.items()), key=lambda r: r[0])
    return Totals(total, rows)
