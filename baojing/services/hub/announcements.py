"""Announcements: publishing to one's own scope, the members' list, read receipts, nudges."""

from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

from flask import url_for
from sqlalchemy import Integer, case, func, literal, null, select
from sqlalchemy.orm import aliased

from baojing import audit
from baojing.dates import local_today
from baojing.db import upsert_insert, write_apart, write_now
from baojing.extensions import db
from baojing.models.hub import (
    SCOPE_COUNTY,
    SCOPE_TOWNSHIP,
    SCOPE_VILLAGE,
    Announcement,
    AnnouncementReceipt,
)
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.types import UTCDateTime, utcnow
from baojing.models.users import COUNTY_ADMIN, TOWNSHIP_OFFICER, VILLAGE_SECRETARY, User
from baojing.scoping import announcement_condition, audience_condition, member_condition
from baojing.services import RuleViolation
from baojing.services.home import HomeItem
from baojing.services.hub import attachments
from baojing.services.hub.sanitize import clean_html, has_content
from baojing.services.idempotency import keyed, replayed
from baojing.services.paging import Page, fetch_page

PUBLISHER_SCOPES = {
    COUNTY_ADMIN: SCOPE_COUNTY,
    TOWNSHIP_OFFICER: SCOPE_TOWNSHIP,
    VILLAGE_SECRETARY: SCOPE_VILLAGE,
}
# A pin lasts at most this long: a notice pinned for ever would bury the news under it.
MAX_PIN_DAYS = 366
# The home page counts an announcement unread for this long after it came out (or while
# pinned): a member registered today is not greeted by years of old news.
HOME_DAYS = 30
HOME_ROWS = 5

_receipts = AnnouncementReceipt.__table__


def can_publish(user: User) -> bool:
    return user.role in PUBLISHER_SCOPES and (user.role == COUNTY_ADMIN or user.org_unit_id)


def scope_label(user) -> str:
    """Who a new announcement of the signed-in user (security.SessionUser) reaches, in words."""
    if user.role == COUNTY_ADMIN:
        return "全县流动党员"
    return f"{user.scope_name}的流动党员"


def publish(
    actor: User, data: dict, attachment: attachments.Attachment | None, request_id: str | None
) -> Announcement:
    """Publish to the actor's own scope: the county, their township or their village.

    data: title, body (as typed; sanitised here), pinned_until. The attachment was
    checked and re-encoded by the caller without the write lock.
    """
    write_now()
    keyed_data = {**data, "attachment": attachment.digest if attachment else None}
    earlier = replayed(Announcement, request_id, keyed_data, published_by_id=actor.id)
    if earlier is not None:
        return earlier
    scope = PUBLISHER_SCOPES.get(actor.role)
    if scope is None or not can_publish(actor):
        raise RuleViolation({"title": "您的账号不能发布公告"})
    body = clean_html(data["body"])
    errors = {}
    if not has_content(body) and attachment is None:
        errors["body"] = "请填写正文，或上传附件"
    pinned = data.get("pinned_until")
    today = local_today()
    if pinned is not None and not today <= pinned <= today + timedelta(days=MAX_PIN_DAYS):
        errors["pinned_until"] = "置顶日期须在今天到一年之内"
    if errors:
        raise RuleViolation(errors)
    row = Announcement(
        scope=scope,
        township_id=actor.township_id if scope != SCOPE_COUNTY else None,
        village_id=actor.org_unit_id if scope == SCOPE_VILLAGE else None,
        title=data["title"], body=body, pinned_until=pinned, published_by_id=actor.id,
        **keyed(request_id, keyed_data),
    )  # fmt: skip
    if attachment is not None:
        row.attachment_token = attachments.new_token()
        row.attachment_kind = attachment.kind
        row.attachment_name = attachment.name
        row.attachment_bytes = len(attachment.data)
    db.session.add(row)
    db.session.flush()
    # The file last: a failure before leaves no file; one after, a file no row names.
    if attachment is not None:
        attachments.save(row.attachment_token, attachment)
    audit.record(
        "hub.publish", row,
        after={"scope": scope, "township_id": row.township_id, "village_id": row.village_id,
               "title": row.title, "pinned_until": pinned.isoformat() if pinned else None,
               "attachment": row.attachment_kind},
    )  # fmt: skip
    return row


# --- lists -----------------------------------------------------------------------------

_township = aliased(OrgUnit)
_village = aliased(OrgUnit)


def _pinned(today: date):
    return case((Announcement.pinned_until >= today, 1), else_=0)


def list_page(user: User, today: date, page: int = 1, unread_only: bool = False) -> Page:
    """The announcements the user sees, pinned ones first, then newest first.

    Rows: id, title, scope, township_name, village_name, published_at, pinned,
    attachment_kind, read (for a member: whether they opened it; None for others).
    """
    pinned = _pinned(today).label("pinned")
    columns = [
        Announcement.id, Announcement.title, Announcement.scope,
        _township.name.label("township_name"), _village.name.label("village_name"),
        Announcement.published_at, pinned, Announcement.attachment_kind,
    ]  # fmt: skip
    stmt = (
        select(*columns)
        .outerjoin(_township, _township.id == Announcement.township_id)
        .outerjoin(_village, _village.id == Announcement.village_id)
        .where(announcement_condition(user))
    )
    if user.member_id:
        stmt = stmt.outerjoin(
            AnnouncementReceipt,
            (AnnouncementReceipt.announcement_id == Announcement.id)
            & (AnnouncementReceipt.member_id == user.member_id),
        ).add_columns(AnnouncementReceipt.read_at.is_not(None).label("read"))
        if unread_only:
            stmt = stmt.where(AnnouncementReceipt.read_at.is_(None))
    else:
        stmt = stmt.add_columns(null().label("read"))
    stmt = stmt.order_by(pinned.desc(), Announcement.published_at.desc(), Announcement.id.desc())
    return fetch_page(stmt, page)


def publisher_name(row) -> str:
    """Who an announcement comes from, by its scope: 县委组织部, 迁陵镇党委, 踏梯村党支部."""
    if row.scope == SCOPE_VILLAGE:
        return f"{row.village_name}党支部"
    if row.scope == SCOPE_TOWNSHIP:
        return f"{row.township_name}党委"
    return "县委组织部"


def origin_of(announcement: Announcement) -> str:
    """Who one announcement comes from (publisher_name for a row of its own)."""
    ids = [i for i in (announcement.township_id, announcement.village_id) if i]
    names = dict(
        db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all()
    )
    return publisher_name(
        SimpleNamespace(
            scope=announcement.scope,
            township_name=names.get(announcement.township_id, ""),
            village_name=names.get(announcement.village_id, ""),
        )
    )


# --- read receipts ---------------------------------------------------------------------


def read_at(announcement: Announcement, member_id: int):
    return db.session.scalar(
        select(AnnouncementReceipt.read_at).where(
            AnnouncementReceipt.announcement_id == announcement.id,
            AnnouncementReceipt.member_id == member_id,
        )
    )


def mark_read(announcement: Announcement, member_id: int) -> None:
    """The member opened it: one row per member and announcement, written once.

    On its own short transaction (db.write_apart), so that the page that shows the
    announcement stays a read and renders without the write lock; a nudge row made
    before gets its read time.
    """
    now = utcnow()
    statement = (
        upsert_insert(_receipts)
        .values(announcement_id=announcement.id, member_id=member_id, read_at=now)
        .on_conflict_do_update(
            index_elements=["announcement_id", "member_id"],
            set_={"read_at": now},
            where=_receipts.c.read_at.is_(None),
        )
    )
    with write_apart() as conn:
        conn.execute(statement)


@dataclass(frozen=True)
class Receipts:
    total: int  # members the announcement is for, in the viewer's scope
    read: int
    unread: Page  # rows: id, name, village_name, nudged_at


def _in_view(user: User, announcement: Announcement):
    """The members of this announcement's audience that the viewer looks after."""
    return audience_condition(announcement) & member_condition(user)


def _unread_join(announcement: Announcement):
    return (AnnouncementReceipt.member_id == Member.id) & (
        AnnouncementReceipt.announcement_id == announcement.id
    )


def receipts(user: User, announcement: Announcement, page: int = 1) -> Receipts:
    """Who in the viewer's scope has read it, and a page of those who have not yet.

    Three statements whatever the number of members: the two counts and the page.
    """
    scope = _in_view(user, announcement)
    total = db.session.scalar(select(func.count()).select_from(Member).where(scope))
    read = db.session.scalar(
        select(func.count())
        .select_from(Member)
        .join(AnnouncementReceipt, _unread_join(announcement))
        .where(scope, AnnouncementReceipt.read_at.is_not(None))
    )
    stmt = (
        select(
            Member.id,
            Member.name,
            OrgUnit.name.label("village_name"),
            AnnouncementReceipt.nudged_at,
        )  # fmt: skip
        .join(OrgUnit, OrgUnit.id == Member.village_id)
        .outerjoin(AnnouncementReceipt, _unread_join(announcement))
        .where(scope, AnnouncementReceipt.read_at.is_(None))
        .order_by(Member.village_id, Member.name, Member.id)
    )
    return Receipts(total=total, read=read, unread=fetch_page(stmt, page))


def nudge(user: User, announcement: Announcement, member_id: int | None = None) -> int:
    """Remind the members in the viewer's scope who have not read it (or one of them);
    the reminder waits on their home page until they open it. Returns how many."""
    scope = _in_view(user, announcement)
    if member_id is not None:
        scope = scope & (Member.id == member_id)
    unread = (
        select(Member.id)
        .outerjoin(AnnouncementReceipt, _unread_join(announcement))
        .where(scope, AnnouncementReceipt.read_at.is_(None))
    )
    count = db.session.scalar(select(func.count()).select_from(unread.subquery()))
    if count:
        now = utcnow()
        rows = unread.with_only_columns(
            literal(announcement.id, Integer()), Member.id, literal(now, UTCDateTime()),
            literal(user.id, Integer()),
        )  # fmt: skip
        statement = (
            upsert_insert(_receipts)
            .from_select(["announcement_id", "member_id", "nudged_at", "nudged_by_id"], rows)
            .on_conflict_do_update(
                index_elements=["announcement_id", "member_id"],
                set_={"nudged_at": now, "nudged_by_id": user.id},
                where=_receipts.c.read_at.is_(None),
            )
        )
        db.session.execute(statement)
    audit.record(
        "hub.nudge", announcement, after={"members": count, "member_id": member_id}, user=user
    )
    return count


# --- the member's home page ----------------------------------------------------------------


def home_items(user: User, today: date) -> list[HomeItem]:
    """A member's unread announcements: those they were nudged about first (kind "nudge"),
    then pinned, then newest (kind "announcement"). One statement."""
    if not user.member_id:
        return []
    since = utcnow() - timedelta(days=HOME_DAYS)
    nudged = AnnouncementReceipt.nudged_at.is_not(None)
    pinned = _pinned(today)
    stmt = (
        select(
            Announcement.id, Announcement.title, Announcement.pinned_until, nudged.label("nudged")
        )
        .outerjoin(
            AnnouncementReceipt,
            (AnnouncementReceipt.announcement_id == Announcement.id)
            & (AnnouncementReceipt.member_id == user.member_id),
        )
        .where(
            announcement_condition(user),
            AnnouncementReceipt.read_at.is_(None),
            (Announcement.published_at >= since) | (pinned == 1) | nudged,
        )
        .order_by(nudged.desc(), pinned.desc(), Announcement.published_at.desc())
        .limit(HOME_ROWS + 1)
    )
    rows = db.session.execute(stmt).all()
    items = []
    for row in rows[:HOME_ROWS]:
        url = url_for("hub.announcement", announcement_id=row.id)
        if row.nudged:
            items.append(
                HomeItem("nudge", f"请阅读：{row.title}", url, note="支部提醒您阅读这条公告")
            )
        else:
            pinned_now = row.pinned_until is not None and row.pinned_until >= today
            items.append(
                HomeItem(
                    "announcement", row.title, url, note="置顶 · 未读" if pinned_now else "未读"
                )
            )
    if len(rows) > HOME_ROWS:
        items.append(HomeItem("announcement", "更多未读公告", url_for("hub.index", unread=1)))
    return items
