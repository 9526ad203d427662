"""Passwords, lockout and server-side sessions (SECURITY.md items 1–10)."""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import OperationalError

from baojing.db import write_intent
from baojing.extensions import db
from baojing.models.audit import AuditEntry
from baojing.models.org import VILLAGE, OrgUnit
from baojing.models.types import utcnow
from baojing.models.users import ROLE_LABELS, LoginFailure, User, UserSession
from baojing.validators import InvalidValue

# Refused whatever the policy: the commonest passwords and words anyone would guess
# for a party-member system in Baojing. Matching ignores case, digits and punctuation.
_CONTEXT_WORDS = (
    "baojing", "保靖", "dangyuan", "党员", "gongchandang", "共产党", "party", "xiangxi", "湘西",
    "hunan", "湖南", "qianling", "迁陵", "liudong", "流动", "zuzhibu", "组织部",
)  # fmt: skip
_COMMON = (
    "password", "passw0rd", "qwerty", "qwertyuiop", "123456", "12345678", "123456789",
    "1234567890", "111111", "000000", "abc123", "iloveyou", "admin", "welcome", "letmein",
    "woaini", "5201314", "aaaaaa", "zxcvbnm", "asdfghjkl", "1qaz2wsx", "qazwsx",
)  # fmt: skip


# --- passwords -----------------------------------------------------------------------


def hasher() -> PasswordHasher:
    """argon2id with RFC 9106 parameters (cheap ones only when the config says so, in tests)."""
    ph = current_app.extensions.get("baojing_hasher")
    if ph is None:
        profile = profiles.CHEAPEST if current_app.config.get("PASSWORD_HASH_CHEAP") else None
        ph = PasswordHasher.from_parameters(profile) if profile else PasswordHasher()
        current_app.extensions["baojing_hasher"] = ph
    return ph


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Check a password; an unknown user costs the same time as a known one."""
    ph = hasher()
    if user is None:
        dummy = current_app.extensions.get("baojing_dummy_hash")
        if dummy is None:
            dummy = current_app.extensions["baojing_dummy_hash"] = ph.hash(secrets.token_hex(8))
        try:
            ph.verify(dummy, password)
        except VerificationError:
            pass
        return False
    try:
        ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return True


def rehash_if_needed(user: User, password: str) -> None:
    """After a successful check: upgrade a hash made with older parameters."""
    ph = hasher()
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)


def _classes(password: str) -> int:
    return sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )


def _policy_length(password: str) -> int:
    # A CJK character carries far more guesses than a Latin letter, so a
    # Chinese passphrase of 6 characters meets a 12-character minimum.
    return sum(2 if ord(c) > 0x2E7F else 1 for c in password)


def check_password_policy(password: str, *, context: tuple[str, ...] = ()) -> str:
    """Return the password unchanged if the configured policy accepts it, else raise."""
    cfg = current_app.config
    if _policy_length(password) < cfg["PASSWORD_MIN_LENGTH"]:
        raise InvalidValue(
            f"密码至少 {cfg['PASSWORD_MIN_LENGTH']} 个字符（汉字算两个），可以用一句好记的话"
        )
    if len(password) > cfg["PASSWORD_MAX_LENGTH"]:
        raise InvalidValue(f"密码最多 {cfg['PASSWORD_MAX_LENGTH']} 个字符")
    if cfg["PASSWORD_MIN_CLASSES"] and _classes(password) < cfg["PASSWORD_MIN_CLASSES"]:
        raise InvalidValue(
            f"密码须包含大写字母、小写字母、数字、符号中的至少 {cfg['PASSWORD_MIN_CLASSES']} 类"
        )
    lowered = password.lower()
    letters = "".join(c for c in lowered if c.isalpha())
    if lowered in _COMMON or letters in _COMMON or len(set(password)) <= 3:
        raise InvalidValue("这个密码太常见，很容易被猜到")
    # What is left once the guessable words are taken out must still be a password.
    rest = lowered
    for word in _CONTEXT_WORDS + tuple(w.lower() for w in context if w and len(w) >= 3):
        rest = rest.replace(word, "")
    if len([c for c in rest if c.isalpha()]) < 4:
        raise InvalidValue("密码不能主要由用户名、县名、单位名等容易猜到的词组成")
    return password


def password_expired(user, now: datetime | None = None) -> bool:
    days = current_app.config["PASSWORD_MAX_AGE_DAYS"]
    if not days:
        return False
    return (now or utcnow()) - user.password_changed_at > timedelta(days=days)


# --- second factor (TOTP) ---------------------------------------------------------------

TOTP_STEP_SECONDS = 30


def new_totp_secret() -> str:
    return pyotp.random_base32(32)


def totp_uri(username: str, secret: str) -> str:
    """otpauth:// URI for an authenticator app (its QR code is shown at enrolment)."""
    issuer = current_app.config["TOTP_ISSUER"]
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def check_totp(
    user: User, code: str, *, secret: str | None = None, now: float | None = None
) -> bool:
    """A 6-digit code for now or the neighbouring 30-second step, each step usable once."""
    code = "".join(c for c in (code or "") if c.isdigit())
    secret = secret or user.totp_secret
    if len(code) != 6 or not secret:
        return False
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // TOTP_STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if step <= (user.totp_last_step or -1):
            continue  # already used: a code overheard or replayed does not work twice
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            user.totp_last_step = step
            return True
    return False


# --- lockout -------------------------------------------------------------------------


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def register_failure(user: User, now: datetime | None = None) -> bool:
    """Count a failed password; lock the account when the window fills. Returns locked."""
    now = now or utcnow()
    cfg = current_app.config
    db.session.add(LoginFailure(user_id=user.id, at=now))
    db.session.flush()
    since = now - timedelta(minutes=cfg["LOGIN_FAILURE_WINDOW_MINUTES"])
    if user.failures_reset_at and user.failures_reset_at > since:
        since = user.failures_reset_at
    count = db.session.scalar(
        select(func.count()).where(LoginFailure.user_id == user.id, LoginFailure.at > since)
    )
    if count >= cfg["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
        # The failures that caused this lock are spent: after it expires the
        # count starts again (whatever the window and lock lengths are set to).
        user.failures_reset_at = now
        return True
    return False


# The audit outcomes of a refused login (auth.login), whatever the account.
REFUSED_LOGINS = ("unknown_user", "bad_password", "locked_now", "locked", "disabled")


def address_blocked(address: str, now: datetime | None = None) -> bool:
    """Whether logins from this address are refused for now: LOGIN_ADDRESS_MAX_FAILURES
    refused logins within the failure window.

    Counted from the audit log, which records every refused login with its address: like
    the lockout it lives in the database, so it holds across worker processes and servers
    with no store of its own (the /verify limits are per process unless RATELIMIT_STORAGE_URI
    names a shared one). Checked before the write lock, so two requests at the same moment
    may pass it together: at most a few over, never a way round it.
    """
    cfg = current_app.config
    since = (now or utcnow()) - timedelta(minutes=cfg["LOGIN_FAILURE_WINDOW_MINUTES"])
    refused = db.session.scalar(
        select(func.count()).where(
            AuditEntry.at > since, AuditEntry.action == "auth.login",
            AuditEntry.ip == address[:45], AuditEntry.outcome.in_(REFUSED_LOGINS),
        )
    )  # fmt: skip
    return refused >= cfg["LOGIN_ADDRESS_MAX_FAILURES"]


def unlock(user: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    user.locked_until = None
    user.failures_reset_at = now


# --- sessions ------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> str:
    """Open a server-side session for user and return its cookie token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            token_hash=_digest(token),
            user_id=user.id,
            created_at=now,
            authenticated_at=now,
            last_seen_at=now,
        )
    )
    user.session_token = token
    return token


def end_session(token: str | None, reason: str) -> None:
    if not token:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(token), UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


def end_all_sessions(user_id: int, reason: str) -> None:
    """Log a user out everywhere (password change, disabling, admin reset)."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


@dataclass(eq=False)
class SessionUser:
    """The logged-in user as one request sees it: a read-only snapshot, not an ORM row.

    Loaded with one SQL statement per request (the hot path of every page). Code
    that changes the account loads the User row itself (accounts.account_of).
    """

    id: int
    username: str
    display_name: str
    role: str
    org_unit_id: int | None
    member_id: int | None
    township_id: int | None
    scope_name: str
    must_change_password: bool
    password_changed_at: datetime
    totp_enabled: bool
    session_id: int
    authenticated_at: datetime
    session_token: str

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.session_token

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


_SESSION_QUERY = (
    select(
        UserSession.id,
        UserSession.created_at,
        UserSession.last_seen_at,
        UserSession.authenticated_at,
        User.id,
        User.username,
        User.display_name,
        User.role,
        User.org_unit_id,
        User.member_id,
        User.must_change_password,
        User.password_changed_at,
        User.totp_enabled,
        OrgUnit.township_id,
        OrgUnit.name,
        OrgUnit.kind,
    )  # fmt: skip
    .join(User, User.id == UserSession.user_id)
    .outerjoin(OrgUnit, OrgUnit.id == User.org_unit_id)
    .where(
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.ended_at.is_(None),
        User.active.is_(True),
    )
)


def load_session_user(token: str) -> SessionUser | None:
    """The user behind a cookie token, or None if the session ended, idled out or aged out."""
    params = {"token_hash": _digest(token)}
    if write_intent.get():
        # A request that writes holds the write lock in its own transaction, and the
        # touch below (its own short write) would wait for it until it timed out: read
        # on a connection of its own, before that transaction begins.
        with db.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=False)
            row = conn.execute(_SESSION_QUERY, params).first()
    else:
        # A read-only request: the first statement of its own (plain) transaction.
        row = db.session.connection().execute(_SESSION_QUERY, params).first()
    if row is None:
        return None
    (sid, created, last_seen, authenticated, uid, username, display, role, unit_id, member_id,
     must_change, changed_at, totp_enabled, township_id, unit_name, unit_kind) = row  # fmt: skip
    cfg = current_app.config
    now = utcnow()
    idle = now - last_seen > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
    aged = now - created > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])
    if idle or aged:
        g.session_expired = True
        _touch(sid, ended_reason="idle" if idle else "absolute", now=now)
        return None
    # Touch at most once a minute: an idle timeout needs no finer grain, and a
    # write per page view would cost every request a disk sync.
    if now - last_seen > timedelta(seconds=60):
        _touch(sid, now=now)
    scope_name = f"{unit_name}党支部" if unit_kind == VILLAGE else (unit_name or "")
    return SessionUser(
        id=uid, username=username, display_name=display, role=role, org_unit_id=unit_id,
        member_id=member_id, township_id=township_id, scope_name=scope_name,
        must_change_password=must_change, password_changed_at=changed_at,
        totp_enabled=bool(totp_enabled), session_id=sid,
        authenticated_at=authenticated, session_token=token,
    )  # fmt: skip


def _touch(session_id: int, *, now: datetime, ended_reason: str | None = None) -> None:
    """Record activity (or the idle/absolute end) of a session, best effort.

    Its own short IMMEDIATE transaction on a separate connection, before the
    request's own transaction has begun. If another worker holds the write lock
    past the busy timeout, the page still loads: the next request touches again,
    and an expired session is refused whether or not its end was recorded.
    """
    values = {"last_seen_at": now}
    if ended_reason:
        values |= {"ended_at": now, "end_reason": ended_reason}
    stmt = update(UserSession).where(UserSession.id == session_id).values(**values)
    try:
        with db.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                conn.execute(stmt)
    except OperationalError:
        current_app.logger.warning("could not record session activity (database busy)")


def recently_authenticated(user: SessionUser) -> bool:
    limit = timedelta(minutes=current_app.config["REAUTH_MINUTES"])
    return utcnow() - user.authenticated_at <= limit


def mark_reauthenticated(user: SessionUser) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == user.session_id)
        .values(authenticated_at=utcnow())
    )
