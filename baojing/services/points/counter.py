"""What the counter reads: the member look-up, the member's panel, the catalogue.

The look-up runs on every keystroke while a queue waits, so its statements are
built once per process and bound on each call (as the member list does).
"""

import functools
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, bindparam, func, select

from baojing.dates import local_today
from baojing.extensions import db, read_connection
from baojing.models.members import ACTIVE, Member
from baojing.models.org import OrgUnit
from baojing.models.points import CatalogItem, ItemSession, PointAccount, Redemption
from baojing.models.users import User
from baojing.scoping import counter_scope, scope_condition
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


@functools.lru_cache(maxsize=32)
def _lookup_statement(scope: str, search: str):
    conds = [scope_condition(scope), Member.status == ACTIVE]
    if search == "id":
        conds.append(Member.id == bindparam("member_id"))
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
    rows = read_connection().execute(_lookup_statement(scope, search), params)
    return [
        Found(mid, name, mask_phone(phone), tail, village, balance)
        for mid, name, phone, tail, village, balance in rows
    ]


def find_receipt(serial: str) -> Redemption | None:
    return db.session.scalar(select(Redemption).where(Redemption.serial == serial.strip().upper()))


@dataclass
class Offer:
    item: CatalogItem
    sessions: list[ItemSession]
    affordable: bool

    @property
    def available(self) -> bool:
        if self.item.is_service:
            return bool(self.sessions)
        return self.item.stock is None or self.item.stock > 0


def catalogue(balance: int, today: date | None = None) -> list[Offer]:
    """Items that can be redeemed today, with their open sessions, cheapest first."""
    today = today or local_today()
    items = db.session.scalars(
        select(CatalogItem)
        .where(
            CatalogItem.active.is_(True),
            (CatalogItem.valid_from.is_(None)) | (CatalogItem.valid_from <= today),
            (CatalogItem.valid_until.is_(None)) | (CatalogItem.valid_until >= today),
        )
        .order_by(CatalogItem.price, CatalogItem.id)
    ).all()
    sessions: dict[int, list[ItemSession]] = {}
    for s in db.session.scalars(
        select(ItemSession)
        .where(ItemSession.on_date >= today, ItemSession.taken < ItemSession.capacity)
        .order_by(ItemSession.on_date, ItemSession.id)
    ):
        sessions.setdefault(s.item_id, []).append(s)
    return [Offer(i, sessions.get(i.id, []), i.price <= balance) for i in items]


def recent_redemptions(member_id: int, limit: int = 5) -> list[Redemption]:
    return list(
        db.session.scalars(
            select(Redemption)
            .where(Redemption.member_id == member_id)
            .order_by(Redemption.id.desc())
            .limit(limit)
        )
    )
