"""The organisation tree: county → townships → village branches, online branches, 流动党组织."""

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db

COUNTY = "county"
TOWNSHIP = "township"
VILLAGE = "village"
ONLINE_BRANCH = "online_branch"  # 乡镇网络党支部 (功能化支部)
MOBILE_ORG = "mobile_org"  # 流动党组织 at a destination


class OrgUnit(db.Model):
    __tablename__ = "org_units"
    __table_args__ = (Index("ix_org_units_parent_kind", "parent_id", "kind"),)

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
    # Invented demo villages are marked as such (DOMAIN.md).
    is_demo: Mapped[bool] = mapped_column(default=False)

    parent: Mapped["OrgUnit | None"] = relationship(remote_side=[id], foreign_keys=[parent_id])

    @property
    def branch_name(self) -> str:
        """Display name of the branch: 踏梯村党支部."""
        if self.kind == VILLAGE:
            return f"{self.name}党支部"
        return self.name

    def __repr__(self) -> str:
        return f"<OrgUnit {self.kind} {self.name}>"
