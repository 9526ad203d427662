"""比积分: the quarterly points ranking of an online branch, published and frozen.

A publication's lines never change (the database refuses it); a correction found
later is an amendment row shown next to the frozen line.
"""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import UTCDateTime, utcnow


class RankingPublication(db.Model):
    __tablename__ = "ranking_publications"
    __table_args__ = (UniqueConstraint("township_id", "quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The township whose 网络党支部 the ranking is published in.
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    quarter: Mapped[str] = mapped_column(String(6))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Members may raise a query about their line until the end of this day.
    objections_until: Mapped[date]
    member_count: Mapped[int]

    township = relationship("OrgUnit")
    published_by = relationship("User")


class RankingLine(db.Model):
    """One member's frozen place: rank, score and name as they were published."""

    __tablename__ = "ranking_lines"
    __table_args__ = (
        UniqueConstraint("publication_id", "member_id"),
        Index("ix_ranking_lines_publication_rank", "publication_id", "rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("ranking_publications.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    rank: Mapped[int]
    score: Mapped[int]
    name: Mapped[str] = mapped_column(String(40))
    village_name: Mapped[str] = mapped_column(String(60))


class RankingAmendment(db.Model):
    """A later correction of a published score (an award reversed, a late award)."""

    __tablename__ = "ranking_amendments"
    __table_args__ = (Index("ix_ranking_amendments_publication", "publication_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("ranking_publications.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    old_score: Mapped[int]
    new_score: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class RankingObjection(db.Model):
    """A member's query about their line during the objection period, and the answer."""

    __tablename__ = "ranking_objections"
    __table_args__ = (Index("ix_ranking_objections_publication", "publication_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("ranking_publications.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[str | None] = mapped_column(String(40), unique=True)

    answered_by = relationship("User")
