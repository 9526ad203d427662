"""Accounts, their server-side sessions and failed logins."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.org import OrgUnit
from baojing.models.types import UTCDateTime, utcnow

COUNTY_ADMIN = "county_admin"
TOWNSHIP_OFFICER = "township_officer"
VILLAGE_SECRETARY = "village_secretary"
CLERK = "clerk"
MEMBER = "member"
# The leader of a 流动党组织 at a destination: sees the members who take part there.
ORG_LEADER = "org_leader"

ROLE_LABELS = {
    COUNTY_ADMIN: "县委组织部管理员",
    TOWNSHIP_OFFICER: "乡镇组织委员",
    VILLAGE_SECRETARY: "村党支部书记",
    CLERK: "积分超市柜台",
    MEMBER: "流动党员",
    ORG_LEADER: "流动党组织负责人",
}
ROLES = tuple(ROLE_LABELS)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # Township for a township officer, village for a secretary, the 流动党组织 for its
    # leader; empty for county and clerk.
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Passwords issued by an admin are single-use: the holder must choose their own.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Failures before this moment no longer count (set by an admin's unlock).
    failures_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Second factor (TOTP, RFC 6238). The pending secret lives here, not in the
    # signed-but-readable session cookie, until the first code confirms it.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False, server_default="0")
    # The last accepted time step: a code is good once, even inside its 30 seconds.
    totp_last_step: Mapped[int | None]

    org_unit: Mapped[OrgUnit | None] = relationship(lazy="joined")

    # Set when the user is loaded through a session record; Flask-Login stores
    # get_id() in the cookie, so the cookie names the session, not the user.
    session_token = None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def township_id(self) -> int | None:
        return self.org_unit.township_id if self.org_unit else None

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class UserSession(db.Model):
    """One login. The cookie carries the token; the database holds only its SHA-256."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_open", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Last time the password was entered in this session (re-authentication).
    authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship(lazy="joined")


class LoginFailure(db.Model):
    """A failed password for an existing account; counted across all server processes."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
