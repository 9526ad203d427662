"""比积分: compute an online branch's quarterly ranking, publish it frozen, amend, object.

The score of a quarter is what the member earned and lost by the rules in it
(awards, deductions and their reversals); spending points at the store does not
lower anyone's standing. Ties share a rank (1, 1, 3).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from baojing import audit
from baojing.dates import local_today, quarter_of, quarter_start
from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.org import OrgUnit
from baojing.models.points import PointEntry
from baojing.models.rankings import (
    RankingAmendment,
    RankingLine,
    RankingObjection,
    RankingPublication,
)
from baojing.models.types import utcnow
from baojing.models.users import User
from baojing.scoping import ranking_condition, ranking_townships_condition
from baojing.services import DuplicateRequest, RuleViolation, exports, settings
from baojing.validators import mask_name


@dataclass(frozen=True)
class Standing:
    member_id: int
    name: str
    village_name: str
    score: int
    rank: int


def completed_quarters(count: int = 4, today: date | None = None) -> list[str]:
    """The last `count` quarters that have ended, newest first."""
    day = quarter_start(today or local_today())
    out = []
    for _ in range(count):
        day = quarter_start(day - timedelta(days=1))
        out.append(quarter_of(day))
    return out


def live_scores(township_id: int, quarter: str) -> dict[int, int]:
    """member_id → score for the quarter, one grouped query."""
    rows = db.session.execute(
        select(PointEntry.member_id, func.sum(PointEntry.points))
        .join(Member, Member.id == PointEntry.member_id)
        .where(
            Member.township_id == township_id,
            PointEntry.quarter == quarter,
            PointEntry.rule_id.is_not(None),
        )
        .group_by(PointEntry.member_id)
    )
    return dict(rows.all())


def standings(township_id: int, quarter: str) -> list[Standing]:
    """Everyone active in the township's online branch, ranked; two queries whatever the size."""
    scores = live_scores(township_id, quarter)
    members = db.session.execute(
        select(Member.id, Member.name, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Member.village_id)
        .where(Member.township_id == township_id, Member.status == ACTIVE)
    ).all()
    ordered = sorted(members, key=lambda m: (-scores.get(m[0], 0), m[1], m[0]))
    out, rank, previous = [], 0, None
    for position, (mid, name, village) in enumerate(ordered, start=1):
        score = scores.get(mid, 0)
        if score != previous:
            rank, previous = position, score
        out.append(Standing(mid, name, village, score, rank))
    return out


def publish(actor: User, township: OrgUnit, quarter: str) -> RankingPublication:
    if quarter not in completed_quarters(8):
        raise RuleViolation({"quarter": "只能公示已经结束的季度"})
    exists = db.session.scalar(
        select(RankingPublication.id).where(
            RankingPublication.township_id == township.id, RankingPublication.quarter == quarter
        )
    )
    if exists:
        raise RuleViolation({"quarter": f"{township.name} {quarter} 已经公示过了"})
    lines = standings(township.id, quarter)
    publication = RankingPublication(
        township_id=township.id, quarter=quarter, published_by_id=actor.id,
        objections_until=local_today() + timedelta(days=settings.value("objection_days")), member_count=len(lines),
    )  # fmt: skip
    db.session.add(publication)
    db.session.flush()
    if lines:
        db.session.execute(
            RankingLine.__table__.insert(),
            [
                {
                    "publication_id": publication.id,
                    "member_id": s.member_id,
                    "rank": s.rank,
                    "score": s.score,
                    "name": s.name,
                    "village_name": s.village_name,
                }  # fmt: skip
                for s in lines
            ],
        )
    audit.record(
        "ranking.publish", publication,
        after={"township": township.name, "quarter": quarter, "members": len(lines)},
    )  # fmt: skip
    return publication


def amend(actor: User, publication: RankingPublication, reason: str) -> int:
    """Record, as amendments, every published score that the ledger no longer agrees with."""
    current = live_scores(publication.township_id, publication.quarter)
    latest = _latest_scores(publication.id)
    added = 0
    for member_id, published in latest.items():
        now = current.get(member_id, 0)
        if now != published:
            db.session.add(RankingAmendment(
                publication_id=publication.id, member_id=member_id, old_score=published,
                new_score=now, reason=reason, created_by_id=actor.id,
            ))  # fmt: skip
            added += 1
    db.session.flush()
    audit.record("ranking.amend", publication, after={"amendments": added, "reason": reason})
    return added


def _latest_scores(publication_id: int) -> dict[int, int]:
    """Each line's score after the amendments so far."""
    scores = dict(
        db.session.execute(
            select(RankingLine.member_id, RankingLine.score).where(
                RankingLine.publication_id == publication_id
            )
        ).all()
    )
    for member_id, new_score in db.session.execute(
        select(RankingAmendment.member_id, RankingAmendment.new_score)
        .where(RankingAmendment.publication_id == publication_id)
        .order_by(RankingAmendment.id)
    ):
        scores[member_id] = new_score
    return scores


@dataclass
class PublishedLine:
    member_id: int
    rank: int
    score: int
    name: str
    village_name: str
    amended_score: int | None


def published_lines(publication_id: int) -> list[PublishedLine]:
    """The frozen lines with their latest amendment, in rank order: one query."""
    latest = (
        select(RankingAmendment.member_id, func.max(RankingAmendment.id).label("last_id"))
        .where(RankingAmendment.publication_id == publication_id)
        .group_by(RankingAmendment.member_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            RankingLine.member_id,
            RankingLine.rank,
            RankingLine.score,
            RankingLine.name,
            RankingLine.village_name,
            case((RankingAmendment.id.is_(None), None), else_=RankingAmendment.new_score),
        )  # fmt: skip
        .outerjoin(latest, latest.c.member_id == RankingLine.member_id)
        .outerjoin(RankingAmendment, RankingAmendment.id == latest.c.last_id)
        .where(RankingLine.publication_id == publication_id)
        .order_by(RankingLine.rank, RankingLine.name, RankingLine.member_id)
    )
    return [PublishedLine(*row) for row in rows]


def lines_for_viewer(
    publication_id: int, *, full_names: bool, own_member_id: int | None
) -> list[PublishedLine]:
    """published_lines as a viewer sees them: names masked unless full_names, except
    the viewer's own line (the page and its export alike)."""
    lines = published_lines(publication_id)
    if not full_names:
        for line in lines:
            if line.member_id != own_member_id:
                line.name = mask_name(line.name)
    return lines


EXPORT_COLUMNS = (
    exports.Column("名次", 8, exports.NUMBER), exports.Column("姓名", 10),
    exports.Column("村党支部", 12), exports.Column("公示积分", 10, exports.NUMBER),
    exports.Column("更正后积分", 12, exports.NUMBER),
)  # fmt: skip


def export(publication: RankingPublication, lines: list[PublishedLine]) -> exports.Export:
    """The published ranking with its corrections, the lines as the viewer sees them."""
    rows = ((x.rank, x.name, x.village_name, x.score, x.amended_score) for x in lines)
    return exports.Export(
        f"ranking-{publication.quarter}-{publication.id}",
        f"{publication.township.name}{publication.quarter}积分公示",
        EXPORT_COLUMNS,
        rows,
    )


def _with_line_name(model, publication_id: int):
    """Rows of an amendment-like table with the member's name as published."""
    return (
        select(model, RankingLine.name)
        .join(
            RankingLine,
            and_(
                RankingLine.publication_id == model.publication_id,
                RankingLine.member_id == model.member_id,
            ),
        )
        .where(model.publication_id == publication_id)
        .order_by(model.id)
    )


def amendments(publication_id: int) -> list:
    return db.session.execute(_with_line_name(RankingAmendment, publication_id)).all()


def objections(publication_id: int, member_id: int | None = None) -> list:
    stmt = _with_line_name(RankingObjection, publication_id)
    if member_id is not None:
        stmt = stmt.where(RankingObjection.member_id == member_id)
    return db.session.execute(stmt).all()


def object_to(
    publication: RankingPublication, member_id: int, text: str, request_id: str | None
) -> RankingObjection:
    """A member queries their line while the objection period is open."""
    if request_id:
        earlier = db.session.scalar(
            select(RankingObjection).where(RankingObjection.request_id == request_id)
        )
        if earlier is not None:
            if earlier.member_id != member_id or earlier.publication_id != publication.id:
                raise DuplicateRequest(request_id)
            return earlier
    if local_today() > publication.objections_until:
        raise RuleViolation({"text": f"异议期已于 {publication.objections_until:%Y-%m-%d} 结束"})
    on_list = db.session.scalar(
        select(RankingLine.id).where(
            RankingLine.publication_id == publication.id, RankingLine.member_id == member_id
        )
    )
    if on_list is None:
        raise RuleViolation({"text": "您不在这次公示的名单上"})
    objection = RankingObjection(
        publication_id=publication.id, member_id=member_id, text=text, request_id=request_id
    )
    db.session.add(objection)
    db.session.flush()
    audit.record("ranking.objection", objection, after={"publication_id": publication.id})
    return objection


def answer(actor: User, objection: RankingObjection, text: str) -> RankingObjection:
    if objection.answer:
        raise RuleViolation({"answer": "这条异议已经答复过了"})
    objection.answer = text
    objection.answered_at = utcnow()
    objection.answered_by_id = actor.id
    db.session.flush()
    audit.record("ranking.answer", objection, after={"publication_id": objection.publication_id})
    return objection


def publishable_townships(user: User) -> list[tuple[int, str]]:
    """(id, name) of the townships whose ranking the user may publish."""
    stmt = select(OrgUnit.id, OrgUnit.name).where(ranking_townships_condition(user))
    return [tuple(row) for row in db.session.execute(stmt.order_by(OrgUnit.id))]


def publications(user: User, limit: int = 100) -> list[RankingPublication]:
    """The rankings the user sees, newest quarter first, each with its township."""
    return db.session.scalars(
        select(RankingPublication)
        .options(joinedload(RankingPublication.township))
        .where(ranking_condition(user))
        .order_by(RankingPublication.quarter.desc(), RankingPublication.township_id)
        .limit(limit)
    ).all()
