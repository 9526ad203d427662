"""The organisation tree: county → townships → village branches, online branches, 流动党组织."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import UTCDateTime

COUNTY = "county"
TOWNSHIP = "township"
VILLAGE = "village"
ONLINE_BRANCH = "online_branch"  # 乡镇网络党支部 (功能化支部)
MOBILE_ORG = "mobile_org"  # 流动党组织 at a destination

KIND_LABELS = {
    COUNTY: "县委",
    TOWNSHIP: "乡镇党委",
    VILLAGE: "村党支部",
    ONLINE_BRANCH: "网络党支部",
    MOBILE_ORG: "流动党组织",
}
# Which number of its contact person a unit shows on the public /contacts page.
PUBLISH_CHOICES = {"": "不公布", "office": "公布办公电话", "mobile": "公布手机"}


class OrgUnit(db.Model):
    __tablename__ = "org_units"
    __table_args__ = (
        Index("ix_org_units_parent_kind", "parent_id", "kind"),
        # Two open units of one kind in a township never share a name (a closed one may).
        Index(
            "uq_org_units_open_name", "township_id", "kind", "name", unique=True,
            sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL"),
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    # Statistical code for townships (data/baojing-townships.csv); empty elsewhere.
    code: Mapped[str | None] = mapped_column(String(12))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    # The township an org unit belongs to (itself for a township), so scoping never
    # needs to walk the tree.
    township_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    # Where a 流动党组织 sits, e.g. 浙江省宁波市.
    location: Mapped[str | None] = mapped_column(String(60))
    # The 流动党组织's host: the company or destination committee it works with.
    host_org: Mapped[str] = mapped_column(String(60), default="", server_default="")
    # Invented demo villages are marked as such (DOMAIN.md).
    is_demo: Mapped[bool] = mapped_column(default=False)

    # The unit's contact person (its secretary or leader) for the public contact list.
    # Their numbers are kept for the office; only the one they chose is published.
    contact_name: Mapped[str] = mapped_column(String(40), default="", server_default="")
    contact_title: Mapped[str] = mapped_column(String(20), default="", server_default="")
    contact_mobile: Mapped[str] = mapped_column(String(11), default="", server_default="")
    contact_office: Mapped[str] = mapped_column(String(20), default="", server_default="")
    publish_phone: Mapped[str] = mapped_column(String(10), default="", server_default="")

    # Closing keeps the row and its history; a closed unit takes no new members.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # The form that created the unit (a double tap creates one). A unique index, not a
    # constraint: adding it to SQLite needs no table rebuild.
    request_id: Mapped[str | None] = mapped_column(String(40), unique=True, index=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))

    parent: Mapped["OrgUnit | None"] = relationship(remote_side=[id], foreign_keys=[parent_id])

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def branch_name(self) -> str:
        """Display name of the branch: 踏梯村党支部."""
        if self.kind == VILLAGE:
            return f"{self.name}党支部"
        return self.name

    def __repr__(self) -> str:
        return f"<OrgUnit {self.kind} {self.name}>"
