"""Mentor suggestions for a new entrepreneur or employee: ranked, explained, indexed.

The score is plain and deterministic: same trade 4, same destination city 3 (else
same province 1), same home township 1; ties go to the mentor with more places
left, then the earlier volunteer. A full mentor, an unavailable one, or the member
themself is never suggested.

Hot path (bench/mentors.py): candidates come from four index ranges (one per thing
that can match) united in SQL, so the work grows with the matching mentors, not
with the county's 20,000 members; the statements are built once per process.

Most mentees have five or more mentors in the same trade and the same city (in
the demo county, 87 % of them). Those score at least 7, and anyone else at most
6 (trade, province, township), so when there are enough of them the best five are
among them: suggest() asks for those first, from the trade index alone, and only
goes to the four ranges when that comes back short.
"""

import functools
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, case, literal_column, select, union

from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.mentors import MentorProfile
from baojing.models.org import OrgUnit
from baojing.scoping import member_condition_by_kind, member_scope

SHOWN = 5
# Trade and city together must outweigh trade, province and township together: see
# the module docstring (a test holds this).
WEIGHTS = {"trade": 4, "city": 3, "province": 1, "township": 1}


@dataclass(frozen=True)
class Suggestion:
    mentor_id: int
    member_id: int
    name: str
    trade: str
    dest_province: str
    dest_city: str
    township: str
    places_left: int
    score: int
    same_trade: bool
    same_city: bool
    same_province: bool
    same_township: bool

    @property
    def reasons(self) -> list[str]:
        """Why this mentor, in the words the branch would use."""
        out = []
        if self.same_trade:
            out.append(f"同行业（{self.trade}）")
        if self.same_city:
            out.append(f"同在{self.dest_city}")
        elif self.same_province:
            out.append(f"同在{self.dest_province}")
        if self.same_township:
            out.append(f"同乡（{self.township}）")
        out.append(f"还可带 {self.places_left} 人")
        return out


def _statement(close_only: bool):
    """The ranked suggestions: among every mentor who matches anything, or (close_only)
    among those in the mentee's trade and city."""
    mp = MentorProfile
    if close_only:
        candidates = select(mp.id).where(
            mp.available.is_(True),
            mp.trade == bindparam("trade"),
            mp.dest_city == bindparam("city"),
        )
    else:
        candidates = union(
            select(mp.id).where(mp.available.is_(True), mp.trade == bindparam("trade")),
            select(mp.id).where(mp.available.is_(True), mp.dest_city == bindparam("city")),
            select(mp.id).where(mp.available.is_(True), mp.dest_province == bindparam("province")),
            select(mp.id).where(mp.available.is_(True), mp.township_id == bindparam("township")),
        )
    candidates = candidates.subquery("candidates")
    same_trade = mp.trade == bindparam("trade")
    same_city = mp.dest_city == bindparam("city")
    same_province = mp.dest_province == bindparam("province")
    same_township = mp.township_id == bindparam("township")

    def flag(condition):
        return case((condition, 1), else_=0)

    score = (
        flag(same_trade) * WEIGHTS["trade"]
        + flag(same_city) * WEIGHTS["city"]
        + flag(and_(same_province, ~same_city)) * WEIGHTS["province"]
        + flag(same_township) * WEIGHTS["township"]
    )
    places_left = mp.capacity - mp.active_mentees
    township = OrgUnit.__table__.alias("township")
    return (
        select(
            mp.id,
            mp.member_id,
            Member.name,
            mp.trade,
            mp.dest_province,
            mp.dest_city,
            township.c.name,
            places_left.label("places_left"),
            score.label("score"),
            flag(same_trade),
            flag(same_city),
            flag(same_province),
            flag(same_township),
        )  # fmt: skip
        .join(candidates, candidates.c.id == mp.id)
        .join(Member, Member.id == mp.member_id)
        .join(township, township.c.id == mp.township_id)
        .where(
            mp.active_mentees < mp.capacity,
            mp.member_id != bindparam("mentee_id"),
            Member.status == literal_column(f"'{ACTIVE}'"),
        )
        .order_by(literal_column("score").desc(), literal_column("places_left").desc(), mp.id)
        .limit(bindparam("limit"))
    )


_SUGGEST_CLOSE = _statement(close_only=True)
_SUGGEST = _statement(close_only=False)
_MENTEE_COLUMNS = (
    Member.id, Member.name, Member.trade, Member.dest_province, Member.dest_city,
    Member.township_id, Member.village_id,
)  # fmt: skip


@functools.lru_cache(maxsize=8)
def _mentee_statement(scope: str):
    return select(*_MENTEE_COLUMNS).where(
        Member.id == bindparam("member_id"), member_condition_by_kind(scope)
    )


def mentee_in_scope(user, member_id: int):
    """The few columns a suggestion needs, for a member the user may see; None otherwise."""
    scope, scope_id = member_scope(user)
    params = {"member_id": member_id, "scope_id": scope_id}
    return db.session.connection().execute(_mentee_statement(scope), params).first()


def suggest(mentee, limit: int = SHOWN) -> list[Suggestion]:
    """The best mentors for this member, best first, each with its reasons."""
    params = {
        # An empty field matches nothing (NULL = NULL is not true), never "everyone blank".
        "trade": mentee.trade or None,
        "city": mentee.dest_city or None,
        "province": mentee.dest_province or None,
        "township": mentee.township_id,
        "mentee_id": mentee.id,
        "limit": limit,
    }
    conn = db.session.connection()
    rows = []
    if params["trade"] and params["city"]:
        rows = conn.execute(_SUGGEST_CLOSE, params).all()
    if len(rows) < limit:
        rows = conn.execute(_SUGGEST, params).all()
    return [
        Suggestion(
            mentor_id=r[0],
            member_id=r[1],
            name=r[2],
            trade=r[3],
            dest_province=r[4],
            dest_city=r[5],
            township=r[6],
            places_left=r[7],
            score=r[8],
            same_trade=bool(r[9]),
            same_city=bool(r[10]),
            same_province=bool(r[11]),
            same_township=bool(r[12]),
        )  # fmt: skip
        for r in rows
    ]
