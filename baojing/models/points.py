"""The points store (互助五兴积分超市): rules, the ledger, the catalogue, redemptions, vouchers.

The ledger (point_entries) is append-only: the database refuses UPDATE and DELETE on it
(triggers in the migration). A member's balance is the sum of their entries; the
stored balance in point_accounts is a cache of that sum, written in the same
transaction as every entry and checked by `flask points verify`.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import UTCDateTime, utcnow

# Entry kinds. Credits are positive, debits negative; "reverse" undoes one entry.
EARN = "earn"
DEDUCT = "deduct"
REDEEM = "redeem"
REVERSE = "reverse"
EXPIRE = "expire"
ADJUST = "adjust"
ENTRY_LABELS = {
    EARN: "获得",
    DEDUCT: "扣减",
    REDEEM: "兑换",
    REVERSE: "冲正",
    EXPIRE: "过期",
    ADJUST: "调整",
}

# Catalogue kinds: services have dated sessions with a capacity, goods have stock.
HEALTH_CHECK = "health_check"
TRAINING = "training"
GOODS = "goods"
ITEM_KINDS = {HEALTH_CHECK: "健康查体", TRAINING: "教育培训", GOODS: "物品"}
SERVICE_KINDS = (HEALTH_CHECK, TRAINING)

# Records of the app itself that can earn points automatically (PointRule.auto_source).
AUTO_SOURCES = {
    "registration_visit": "上门登记 / 流动登记核实",
    "certificate_issued": "发放流动党员证明信 / 活动证（持证用证）",
    "thought_report": "季度思想汇报按时提交并通过审阅（定期汇报）",
    # A monthly task completed, when the task names no rule of its own.
    "task_completion": "完成月度党建任务（任务未指定积分规则时）",
}


class PointRule(db.Model):
    """An earning rule (流动登记 +10) or a deduction for a missed duty (未按时汇报 −5)."""

    __tablename__ = "point_rules"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("quarterly_cap IS NULL OR quarterly_cap > 0", name="cap_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    # True for a deduction: its entries are debits.
    is_deduction: Mapped[bool] = mapped_column(default=False)
    points: Mapped[int]
    # Most points one member may get (or lose) from this rule in one quarter; NULL = no cap.
    quarterly_cap: Mapped[int | None]
    # Comma-separated roles that may apply the rule by hand, e.g. "village_secretary".
    awarder_roles: Mapped[str] = mapped_column(String(100), default="")
    # Set for rules the app applies itself when a record is saved (AUTO_SOURCES).
    auto_source: Mapped[str | None] = mapped_column(String(30), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def roles(self) -> list[str]:
        return [r for r in self.awarder_roles.split(",") if r]

    @property
    def signed_points(self) -> int:
        return -self.points if self.is_deduction else self.points


class CatalogItem(db.Model):
    """Something points buy: a health-check package, a training course, goods."""

    __tablename__ = "catalog_items"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(200), default="")
    price: Mapped[int]
    # Goods only: how many are left. Services count seats per session instead.
    stock: Mapped[int | None]
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sessions: Mapped[list["ItemSession"]] = relationship(
        back_populates="item", order_by="ItemSession.on_date"
    )

    @property
    def is_service(self) -> bool:
        return self.kind in SERVICE_KINDS


class ItemSession(db.Model):
    """A dated health-check slot or training class with a real number of places."""

    __tablename__ = "item_sessions"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
        Index("ix_item_sessions_item_date", "item_id", "on_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id"))
    on_date: Mapped[date]
    place: Mapped[str] = mapped_column(String(60))
    capacity: Mapped[int]
    taken: Mapped[int] = mapped_column(default=0)

    item: Mapped[CatalogItem] = relationship(back_populates="sessions")

    @property
    def left(self) -> int:
        return self.capacity - self.taken


class PointAccount(db.Model):
    """The stored balance: the ledger sum, kept in step in the same transaction."""

    __tablename__ = "point_accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Redemption(db.Model):
    """One redemption at the counter; its receipt carries the serial."""

    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_redemptions_member", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(20), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("item_sessions.id"))
    quantity: Mapped[int]
    unit_price: Mapped[int]
    points: Mapped[int]
    # The client's idempotency key: unique, so a replay can only find the first result.
    request_id: Mapped[str] = mapped_column(String(40), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    clerk_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[CatalogItem] = relationship()
    session: Mapped[ItemSession | None] = relationship()
    clerk = relationship("User")
    member = relationship("Member")


class PointEntry(db.Model):
    """One line of the ledger. Never updated, never deleted."""

    __tablename__ = "point_entries"
    __table_args__ = (
        CheckConstraint("points <> 0", name="points_nonzero"),
        Index("ix_point_entries_member", "member_id", "id"),
        # Caps: the sum per member, rule and quarter.
        Index("ix_point_entries_cap", "member_id", "rule_id", "quarter"),
        # An automatic award happens once per record that earned it.
        Index(
            "uq_point_entries_source",
            "rule_id",
            "source_type",
            "source_id",
            unique=True,
            sqlite_where=text("kind = 'earn' AND source_type IS NOT NULL"),
            postgresql_where=text("kind = 'earn' AND source_type IS NOT NULL"),
        ),  # fmt: skip
        # An entry is reversed at most once.
        Index("uq_point_entries_reverses", "reverses_id", unique=True),
        Index("ix_point_entries_redemption", "redemption_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(10))
    points: Mapped[int]
    # The quarter the points count towards (2026Q4): caps and the 比积分 ranking.
    quarter: Mapped[str] = mapped_column(String(6))
    # When the duty was done (earning) or the thing happened; expiry counts from here.
    occurred_on: Mapped[date]
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("point_rules.id"))
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    # The record that earned an automatic award, e.g. ("registration_visit", 12).
    source_type: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("point_entries.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    # Idempotency of manual awards and of the expiry command.
    request_id: Mapped[str | None] = mapped_column(String(60), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rule: Mapped[PointRule | None] = relationship()
    redemption: Mapped[Redemption | None] = relationship()
    created_by = relationship("User")


class Voucher(db.Model):
    """What the member shows when the service is delivered; used once."""

    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    redemption: Mapped[Redemption] = relationship()
