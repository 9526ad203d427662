"""Redemption at the counter: one transaction that checks and takes points and stock.

The request runs under BEGIN IMMEDIATE (every POST does), so the checks and the
writes below see no other writer in between; the conditional UPDATEs and the
database's CHECK constraints are the second line, should that ever change.
"""

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, update

from baojing import audit
from baojing.dates import local_today, quarter_of
from baojing.db import write_now
from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.points import (
    GOODS,
    REDEEM,
    REVERSE,
    CatalogItem,
    ItemSession,
    PointEntry,
    Redemption,
    Voucher,
)
from baojing.models.types import utcnow
from baojing.models.users import User
from baojing.scoping import counter_condition
from baojing.services import DuplicateRequest, RuleViolation, serials
from baojing.services.idempotency import fingerprint
from baojing.services.points import ledger

MAX_QUANTITY = 20
# Voucher codes: no 0/O, 1/I/L, so that they can be read out over the phone.
_VOUCHER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class OutOfScope(LookupError):
    """The member is no longer the actor's to serve (moved or transferred meanwhile)."""


@dataclass(frozen=True)
class RedeemRequest:
    member_id: int
    item_id: int
    quantity: int
    session_id: int | None = None

    def as_dict(self) -> dict:
        return {
            "member_id": self.member_id,
            "item_id": self.item_id,
            "quantity": self.quantity,
            "session_id": self.session_id,
        }


def redeemable(item: CatalogItem | None) -> bool:
    today = local_today()
    return (
        item is not None
        and item.active
        and (item.valid_from is None or item.valid_from <= today)
        and (item.valid_until is None or item.valid_until >= today)
    )


RECEIPT = re.compile(r"JF\d{8}-(\d+)")


def receipt_number(serial: str) -> int | None:
    """123 for JF20261207-000123: the redemption counter's number on a printed receipt."""
    m = RECEIPT.fullmatch(serial)
    return int(m[1]) if m else None


def _next_serial(today) -> str:
    """JF20261207-000123: receipt numbers run on across days, never handed out twice.

    The series starts after the largest redemption id: receipts printed before it had a
    counter carried their id.
    """
    n = serials.next_number("redemption", start=select(func.coalesce(func.max(Redemption.id), 0)))
    return f"JF{today:%Y%m%d}-{n:06d}"


def _voucher_code() -> str:
    raw = "".join(secrets.choice(_VOUCHER_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


# The look-ups under the write lock, built once.
_ITEM = select(
    CatalogItem.id,
    CatalogItem.kind,
    CatalogItem.name,
    CatalogItem.price,
    CatalogItem.stock,
    CatalogItem.active,
    CatalogItem.valid_from,
    CatalogItem.valid_until,
).where(CatalogItem.id == bindparam("item_id"))
_BY_REQUEST = select(Redemption.id, Redemption.request_fingerprint).where(
    Redemption.request_id == bindparam("request_id")
)
_TAKE_GOODS = (
    update(CatalogItem)
    .where(CatalogItem.id == bindparam("item_id"), CatalogItem.stock >= bindparam("quantity"))
    .values(stock=CatalogItem.stock - bindparam("quantity"))
)
_TAKE_PLACE = (
    update(ItemSession)
    .where(
        ItemSession.id == bindparam("session_id"),
        ItemSession.item_id == bindparam("b_item"),
        ItemSession.on_date >= bindparam("today"),
        ItemSession.taken < ItemSession.capacity,
    )
    .values(taken=ItemSession.taken + 1)
)
_SESSION = select(ItemSession.on_date, ItemSession.item_id).where(
    ItemSession.id == bindparam("session_id")
)


def redeem(actor: User, member: Member, wanted: RedeemRequest, request_id: str) -> Redemption:
    """Redeem points for an item: all of it happens, or none of it.

    The caller has checked that the member is in the actor's counter scope. Runs
    under the write lock (BEGIN IMMEDIATE), so it is written as a short run of
    short statements: every millisecond here is one no other counter gets.
    """
    # The checks before this were plain reads; from here on the counter's write lock.
    write_now()
    # The scope again, under the lock: a transfer or a move committed while this
    # request waited for it wins.
    in_scope = select(Member.id).where(
        Member.id == member.id, Member.status == ACTIVE, counter_condition(actor)
    )
    conn = db.session.connection()
    if conn.execute(in_scope).first() is None:
        raise OutOfScope(member.id)
    fp = fingerprint(wanted.as_dict())
    earlier = conn.execute(_BY_REQUEST, {"request_id": request_id}).first()
    if earlier is not None:
        if earlier.request_fingerprint != fp:
            raise DuplicateRequest(request_id)
        return db.session.get(Redemption, earlier.id)
    if not 1 <= wanted.quantity <= MAX_QUANTITY:
        raise RuleViolation({"quantity": f"数量应为 1 到 {MAX_QUANTITY}"})
    item = conn.execute(_ITEM, {"item_id": wanted.item_id}).first()
    if not redeemable(item):
        raise RuleViolation({"item_id": "这个项目现在不能兑换"})
    today = local_today()
    cost = item.price * wanted.quantity
    # Stock first, then the conditional debit; if either refuses, the caller rolls
    # the whole transaction back.
    session_id = _take_core(conn, item, wanted, today)
    redemption = Redemption(
        serial=_next_serial(today), member_id=member.id, item_id=item.id, session_id=session_id,
        quantity=wanted.quantity, unit_price=item.price, points=cost, request_id=request_id,
        request_fingerprint=fp, clerk_id=actor.id,
    )  # fmt: skip
    db.session.add(redemption)
    db.session.flush()
    try:
        entry_id, balance_after = ledger.debit_core(
            member.id, cost, kind=REDEEM, quarter=quarter_of(today), occurred_on=today,
            actor_id=actor.id, redemption_id=redemption.id,
            reason=f"兑换「{item.name}」×{wanted.quantity}",
        )  # fmt: skip
    except ledger.InsufficientPoints as exc:
        raise RuleViolation(
            {"quantity": f"积分不足：余额 {exc.balance} 分，需要 {cost} 分"}
        ) from exc
    # Every redemption gets a voucher. Goods change hands at the counter, so theirs
    # is used at once; a health check or class is used when it is delivered.
    # Core inserts: nothing here needs the ORM objects back, and every statement under
    # the lock is time no other counter gets.
    handed_over = session_id is None
    conn.execute(
        insert(Voucher).values(
            code=_voucher_code(), redemption_id=redemption.id, member_id=member.id,
            used_at=redemption.created_at if handed_over else None,
            used_by_id=actor.id if handed_over else None,
        )
    )  # fmt: skip
    audit.insert_all([
        audit.record(
            "store.redeem", redemption,
            after={
                "serial": redemption.serial, "member_id": member.id, "item": item.name,
                "quantity": wanted.quantity, "points": cost, "entry_id": entry_id,
            },
        )
    ])  # fmt: skip
    redemption.balance_after = balance_after  # for the receipt, without reading it back
    return redemption


def _take_core(conn, item, wanted: RedeemRequest, today) -> int | None:
    """Take the goods or the place, or raise RuleViolation; returns the session id."""
    if item.kind == GOODS:
        if item.stock is not None:
            params = {"item_id": item.id, "quantity": wanted.quantity}
            if conn.execute(_TAKE_GOODS, params).rowcount != 1:
                left = conn.execute(_ITEM, {"item_id": item.id}).first().stock
                raise RuleViolation({"quantity": f"库存不足：「{item.name}」只剩 {left} 件"})
        return None
    if wanted.quantity != 1:
        raise RuleViolation({"quantity": "体检和培训每次兑换一个名额"})
    session = (
        conn.execute(_SESSION, {"session_id": wanted.session_id}).first()
        if wanted.session_id else None
    )  # fmt: skip
    if session is None or session.item_id != item.id:
        raise RuleViolation({"session_id": "请选择体检或培训的日期"})
    if session.on_date < today:
        raise RuleViolation({"session_id": "这一场已经过了日期"})
    params = {"session_id": wanted.session_id, "b_item": item.id, "today": today}
    if conn.execute(_TAKE_PLACE, params).rowcount != 1:
        raise RuleViolation({"session_id": f"{session.on_date:%m月%d日} 这一场名额已满"})
    return wanted.session_id


def redeem_entry(redemption: Redemption) -> PointEntry:
    return db.session.scalar(
        select(PointEntry).where(
            PointEntry.redemption_id == redemption.id, PointEntry.kind == REDEEM
        )
    )


def reversal_of(redemption: Redemption) -> PointEntry | None:
    return db.session.scalar(
        select(PointEntry).where(
            PointEntry.redemption_id == redemption.id, PointEntry.kind == REVERSE
        )
    )


def voucher_of(redemption: Redemption) -> Voucher | None:
    return db.session.scalar(select(Voucher).where(Voucher.redemption_id == redemption.id))


def reverse_redemption(actor: User, redemption: Redemption, reason: str) -> PointEntry:
    """Undo a mistaken redemption: points back, stock back, by a new entry with a reason."""
    if reversal_of(redemption) is not None:
        raise RuleViolation({"reason": "这笔兑换已经冲正过了"})
    voucher = voucher_of(redemption)
    # Goods can be brought back to the counter; a delivered health check cannot.
    if redemption.session_id is not None and voucher is not None and voucher.used_at is not None:
        raise RuleViolation({"reason": "凭证已经使用，不能冲正"})
    original = redeem_entry(redemption)
    today = local_today()
    reversal = ledger.post(
        redemption.member_id, REVERSE, redemption.points, quarter=original.quarter,
        occurred_on=today, actor_id=actor.id, redemption_id=redemption.id,
        reverses_id=original.id, reason=reason,
    )  # fmt: skip
    if redemption.session_id is not None:
        db.session.execute(
            update(ItemSession)
            .where(ItemSession.id == redemption.session_id)
            .values(taken=ItemSession.taken - 1)
            .execution_options(synchronize_session=False)
        )
    else:
        db.session.execute(
            update(CatalogItem)
            .where(CatalogItem.id == redemption.item_id, CatalogItem.stock.is_not(None))
            .values(stock=CatalogItem.stock + redemption.quantity)
            .execution_options(synchronize_session=False)
        )
    audit.record(
        "store.reverse", redemption,
        after={"serial": redemption.serial, "points": redemption.points, "reason": reason},
    )  # fmt: skip
    return reversal


def use_voucher(actor: User, code: str) -> Voucher:
    """Mark a voucher used when the health check or class is delivered — once only."""
    voucher = db.session.scalar(select(Voucher).where(Voucher.code == code.strip().upper()))
    if voucher is None:
        raise RuleViolation({"code": "没有这张凭证"})
    if voucher.redemption.session_id is None:
        raise RuleViolation({"code": "这是物品兑换的凭证，已在柜台领取"})
    if reversal_of(voucher.redemption) is not None:
        raise RuleViolation({"code": "这张凭证的兑换已冲正，凭证作废"})
    used = db.session.execute(
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.used_at.is_(None))
        .values(used_at=utcnow(), used_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        raise RuleViolation({"code": "这张凭证已经使用过"})
    db.session.refresh(voucher)
    audit.record("store.voucher_used", voucher, after={"redemption_id": voucher.redemption_id})
    return voucher
