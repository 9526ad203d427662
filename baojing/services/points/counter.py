"""What the counter reads: the member look-up, the member's panel, the catalogue.

The look-up runs on every keystroke while a queue waits, so its statements are
built once per process and bound on each call (as the member list does).
"""

import functools
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, bindparam, func, select

from baojing.cache import ttl_cache
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.org import OrgUnit
from baojing.models.points import (
    SERVICE_KINDS,
    CatalogItem,
    ItemSession,
    PointAccount,
    Redemption,
)
from baojing.models.users import User
from baojing.scoping import counter_scope, member_condition_by_kind
from baojing.services.members import SEARCH_CONDITIONS, search_kind
from baojing.validators import mask_phone

LOOKUP_LIMIT = 8
# What a scanned member QR code types into the search box: …/store/counter?member=123
_SCANNED = re.compile(r"[?&]member=(\d{1,12})\b")
_SERIAL = re.compile(r"^JF\d{8}-\d{6,}$")


@dataclass(frozen=True)
class Found:
    id: int
    name: str
    phone: str
    id_tail: str
    village: str
    balance: int


# Prefix look-ups walk an index: a name typed from its first character (the surname),
# a phone number from its first digit. Only when nothing starts with the text does the
# look-up fall back to a substring scan of every member in scope.
_PREFIX_COLUMNS = {"name": Member.name, "phone": Member.phone}


@functools.lru_cache(maxsize=64)
def _lookup_statement(scope: str, search: str, prefix: bool):
    conds = [member_condition_by_kind(scope), Member.status == ACTIVE]
    if search == "id":
        conds.append(Member.id == bindparam("member_id"))
    elif prefix:
        column = _PREFIX_COLUMNS[search]
        conds += [column >= bindparam("q"), column < bindparam("q_end")]
    else:
        conds.append(SEARCH_CONDITIONS[search]())
    return (
        select(
            Member.id,
            Member.name,
            Member.phone,
            Member.id_tail,
            OrgUnit.name,
            func.coalesce(PointAccount.balance, 0),
        )  # fmt: skip
        .join(OrgUnit, OrgUnit.id == Member.village_id)
        .outerjoin(PointAccount, PointAccount.member_id == Member.id)
        .where(and_(*conds))
        .order_by(Member.name, Member.id)
        .limit(LOOKUP_LIMIT)
    )


@dataclass(frozen=True)
class MemberHead:
    """Who is at the counter: enough for the panel's heading and a redemption."""

    id: int
    name: str
    village_name: str


@functools.lru_cache(maxsize=8)
def _head_statement(scope: str):
    return (
        select(Member.id, Member.name, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Member.village_id)
        .where(
            Member.id == bindparam("member_id"),
            Member.status == ACTIVE,
            member_condition_by_kind(scope),
        )
    )


def member_head(user: User, member_id: int) -> MemberHead | None:
    """The member if in the user's counter scope, else None (the view answers 404);
    a redemption checks the scope again under the write lock (redemption.redeem)."""
    scope, scope_id = counter_scope(user)
    if scope == "none":
        return None
    params = {"member_id": member_id, "scope_id": scope_id}
    row = db.session.connection().execute(_head_statement(scope), params).first()
    return MemberHead(*row) if row else None


def scanned_member_id(q: str) -> int | None:
    match = _SCANNED.search(q)
    return int(match.group(1)) if match else None


def looks_like_serial(q: str) -> bool:
    return bool(_SERIAL.match(q.strip().upper()))


def lookup(user: User, q: str) -> list[Found]:
    """Members in the user's counter scope matching a name, phone, ID tail or scanned QR."""
    scope, scope_id = counter_scope(user)
    if scope == "none":
        return []
    params = {"scope_id": scope_id}
    if (member_id := scanned_member_id(q)) is not None:
        search = "id"
        params["member_id"] = member_id
    else:
        search, found = search_kind(q)
        if not search:
            return []
        params.update(found)
    conn = db.session.connection()
    rows = []
    if search in _PREFIX_COLUMNS:
        # U+10FFFF sorts after every character, so [q, q + U+10FFFF) is "starts with q".
        params["q_end"] = params["q"] + "\U0010ffff"
        rows = conn.execute(_lookup_statement(scope, search, True), params).all()
    if not rows:
        rows = conn.execute(_lookup_statement(scope, search, False), params).all()
    return [
        Found(mid, name, mask_phone(phone), tail, village, balance)
        for mid, name, phone, tail, village, balance in rows
    ]


def find_receipt(serial: str) -> Redemption | None:
    return db.session.scalar(select(Redemption).where(Redemption.serial == serial.strip().upper()))


@dataclass(frozen=True)
class ItemView:
    id: int
    kind: str
    name: str
    description: str
    price: int
    stock: int | None

    @property
    def is_service(self) -> bool:
        return self.kind in SERVICE_KINDS


@dataclass(frozen=True)
class SessionView:
    id: int
    item_id: int
    on_date: date
    place: str
    left: int


@dataclass
class Offer:
    item: ItemView
    sessions: list[SessionView]
    affordable: bool

    @property
    def available(self) -> bool:
        if self.item.is_service:
            return bool(self.sessions)
        return self.item.stock is None or self.item.stock > 0


@ttl_cache(5, key=lambda today: today)
def _open_catalogue(today: date) -> list[tuple[ItemView, list[SessionView]]]:
    """Items redeemable today with their open sessions, cheapest first.

    Cached a few seconds per worker: the counter shows it after every look-up and
    every redemption. Stock and places shown may lag by that much; the redemption
    itself always checks the database (redemption._take_core).
    """
    conn = db.session.connection()
    items = conn.execute(
        select(
            CatalogItem.id,
            CatalogItem.kind,
            CatalogItem.name,
            CatalogItem.description,
            CatalogItem.price,
            CatalogItem.stock,
        )  # fmt: skip
        .where(
            CatalogItem.active.is_(True),
            (CatalogItem.valid_from.is_(None)) | (CatalogItem.valid_from <= today),
            (CatalogItem.valid_until.is_(None)) | (CatalogItem.valid_until >= today),
        )
        .order_by(CatalogItem.price, CatalogItem.id)
    ).all()
    sessions: dict[int, list[SessionView]] = {}
    for row in conn.execute(
        select(
            ItemSession.id,
            ItemSession.item_id,
            ItemSession.on_date,
            ItemSession.place,
            ItemSession.capacity - ItemSession.taken,
        )  # fmt: skip
        .where(ItemSession.on_date >= today, ItemSession.taken < ItemSession.capacity)
        .order_by(ItemSession.on_date, ItemSession.id)
    ):
        sessions.setdefault(row[1], []).append(SessionView(*row))
    return [(ItemView(*row), sessions.get(row[0], [])) for row in items]


def catalogue(balance: int, today: date | None = None) -> list[Offer]:
    """What can be redeemed today, marked affordable or not for this balance."""
    return [
        Offer(item, sessions, item.price <= balance)
        for item, sessions in _open_catalogue(today or local_today())
    ]


def catalogue_changed() -> None:
    """This worker just changed stock or places: show the new numbers at once."""
    _open_catalogue.cache_clear()


_RECENT = (
    select(
        Redemption.serial,
        CatalogItem.name.label("item_name"),
        Redemption.quantity,
        Redemption.points,
    )  # fmt: skip
    .join(CatalogItem, CatalogItem.id == Redemption.item_id)
    .where(Redemption.member_id == bindparam("member_id"))
    .order_by(Redemption.id.desc())
    .limit(bindparam("limit"))
)


def recent_redemptions(member_id: int, limit: int = 5) -> list:
    """The member's last receipts (serial, item_name, quantity, points), newest first.

    On the ORM session's connection: after a redemption it is a new transaction,
    which sees the commit (the request's plain read connection began before it).
    """
    return db.session.connection().execute(_RECENT, {"member_id": member_id, "limit": limit}).all()
