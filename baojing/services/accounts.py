"""Logging in and out, passwords, and the accounts an admin manages."""

import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from baojing import audit, security
from baojing.db import write_now
from baojing.extensions import db
from baojing.models.members import Member
from baojing.models.org import MOBILE_ORG, TOWNSHIP, VILLAGE, OrgUnit
from baojing.models.types import utcnow
from baojing.models.users import (
    CLERK,
    COUNTY_ADMIN,
    MEMBER,
    ORG_LEADER,
    ROLES,
    TOWNSHIP_OFFICER,
    VILLAGE_SECRETARY,
    User,
)
from baojing.services import RuleViolation
from baojing.validators import InvalidValue

USER_FIELDS = ("username", "display_name", "role", "org_unit_id", "member_id", "active")


@dataclass
class LoginResult:
    user: User | None
    token: str | None = None
    error: str = ""
    status: int = 200  # the HTTP status a refusal deserves
    needs_totp: bool = False  # the password was right; the second factor is still to come


BAD_CREDENTIALS = "用户名或密码错误"
LOCKED = "登录失败次数过多，账户已临时锁定，请 {minutes} 分钟后再试，或请管理员解锁"
DISABLED = "该账户已停用，请联系县委组织部"
ADDRESS_BLOCKED = "您所在网络登录失败次数过多，请 {minutes} 分钟后再试"


def authenticate(username: str, password: str, lock_minutes: int, address: str = "") -> LoginResult:
    """Check credentials, count failures, open a session. Audits every outcome.

    An address with too many refused logins (security.address_blocked) is refused before
    any password is checked: not audited row by row, so a flood cannot fill the log.
    The password is checked before the write lock is taken (begin_write), so the
    ~100 ms of argon2 never holds up other writers; the account is then re-read
    inside the write transaction, so a lock set meanwhile still counts.
    """
    if address and security.address_blocked(address):
        minutes = current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]
        return LoginResult(None, error=ADDRESS_BLOCKED.format(minutes=minutes), status=429)
    found = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    candidate = found if found is not None and not security.is_locked(found) else None
    password_ok = security.verify_password(candidate, password)  # same time either way
    write_now()
    user = _for_counting(found.id) if found is not None else None
    if user is not None and security.is_locked(user):
        audit.record("auth.login", user, outcome="locked", user=user)
        return LoginResult(None, error=LOCKED.format(minutes=lock_minutes), status=429)
    if user is not None and not user.active:
        # Said whatever the password: an answer that changed with it would confirm
        # a guessed password of a disabled account.
        audit.record("auth.login", user, outcome="disabled", user=user)
        return LoginResult(None, error=DISABLED, status=403)
    if not password_ok:
        if user is None:
            audit.record("auth.login", entity_type="users", outcome="unknown_user")
            return LoginResult(None, error=BAD_CREDENTIALS, status=401)
        locked = security.register_failure(user)
        audit.record(
            "auth.login", user, outcome="locked_now" if locked else "bad_password", user=user
        )
        if locked:
            return LoginResult(None, error=LOCKED.format(minutes=lock_minutes), status=429)
        return LoginResult(None, error=BAD_CREDENTIALS, status=401)
    security.rehash_if_needed(user, password)
    if user.totp_enabled:
        audit.record("auth.login", user, outcome="password_ok", user=user)
        return LoginResult(user, needs_totp=True)
    token = security.start_session(user)
    audit.record("auth.login", user, user=user)
    return LoginResult(user, token)


# What confirm_password found: the password was right; wrong; wrong once too often,
# so the account is locked now and every session ended; or the account was locked
# already (say by guesses at the login page), whatever the password.
CONFIRMED, WRONG, LOCKED_NOW, LOCKED_ALREADY = "confirmed", "wrong", "locked_now", "locked"


def confirm_password(session_user, password: str, action: str) -> str:
    """Check the password of a signed-in user (re-authentication, a password change).

    Wrong answers count towards the same lockout as the login, so a stolen phone
    with a live session is not a password-guessing machine; locking ends every
    session of the account. A locked account is refused whatever the password, so
    the page can't tell a guesser which one was right. Audited as `action`; the
    caller commits, whichever the outcome.
    """
    account = account_of(session_user)
    ok = not security.is_locked(account) and security.verify_password(account, password)
    write_now()
    account = _for_counting(session_user.id)  # a lock set meanwhile still counts
    if security.is_locked(account):
        audit.record(action, account, outcome=LOCKED_ALREADY)
        return LOCKED_ALREADY
    if ok:
        return CONFIRMED
    locked = security.register_failure(account)
    audit.record(action, account, outcome="locked_now" if locked else "bad_password")
    if locked:
        security.end_all_sessions(account.id, "locked")
        return LOCKED_NOW
    return WRONG


def reauthenticate(session_user, password: str) -> str:
    """Confirm the password mid-session before a privileged action (confirm_password)."""
    outcome = confirm_password(session_user, password, "auth.reauth")
    if outcome == CONFIRMED:
        security.mark_reauthenticated(session_user)
        audit.record("auth.reauth", account_of(session_user))
    return outcome


BAD_CODE = "验证码不正确，请看手机上最新的 6 位数字"


def complete_totp(user_id: int, code: str, lock_minutes: int) -> LoginResult:
    """Second step of a login: the code from the authenticator app opens the session."""
    user = _for_counting(user_id)
    if user is None or not user.active or not user.totp_enabled:
        return LoginResult(None, error=DISABLED, status=403)
    if security.is_locked(user):
        audit.record("auth.totp", user, outcome="locked", user=user)
        return LoginResult(None, error=LOCKED.format(minutes=lock_minutes), status=429)
    if not security.check_totp(user, code):
        # Wrong codes count towards the same lockout as wrong passwords.
        locked = security.register_failure(user)
        audit.record("auth.totp", user, outcome="locked_now" if locked else "bad_code", user=user)
        if locked:
            return LoginResult(None, error=LOCKED.format(minutes=lock_minutes), status=429)
        return LoginResult(None, error=BAD_CODE, status=401)
    token = security.start_session(user)
    audit.record("auth.login", user, outcome="ok", after={"second_factor": "totp"}, user=user)
    return LoginResult(user, token)


def start_totp_enrolment(user: User) -> str:
    """A new secret waiting for its first code; the old one (if any) stays until then."""
    if not user.totp_pending_secret:
        user.totp_pending_secret = security.new_totp_secret()
    return user.totp_pending_secret


def confirm_totp(user: User, code: str) -> None:
    """Turn the second factor on once a code from the new secret checks out."""
    if not user.totp_pending_secret or not security.check_totp(
        user, code, secret=user.totp_pending_secret
    ):
        raise RuleViolation({"code": BAD_CODE})
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_enabled = True
    audit.record("user.totp_enable", user)


def reset_totp(user: User) -> None:
    """Admin: the user lost their phone. Off, secrets gone, every session ended."""
    user.totp_enabled = False
    user.totp_secret = user.totp_pending_secret = None
    user.totp_last_step = None
    security.end_all_sessions(user.id, "totp_reset")
    audit.record("user.totp_reset", user)


def _for_counting(user_id: int) -> User | None:
    """The account re-read inside the write transaction to count a failure or see a lock.

    On PostgreSQL the row is locked (SELECT … FOR UPDATE), so that two wrong passwords at
    once are counted one after the other: the tenth locks the account exactly once, and
    the next finds it locked. On SQLite the write transaction's BEGIN IMMEDIATE already
    serialises them (the dialect renders no FOR UPDATE).
    """
    # OF users: the eager joins of its relationships (outer joins) stay unlocked.
    return db.session.get(User, user_id, with_for_update={"of": User})


def account_of(session_user) -> User:
    """The User row behind the request's session snapshot, for changing it."""
    return db.session.get(User, session_user.id)


def logout(user, token: str | None) -> None:
    security.end_session(token, "logout")
    audit.record("auth.logout", entity_type="users", entity_id=user.id, user=user)


def change_password(user: User, current: str, new: str) -> str:
    """Change one's own password; ends every session and returns a fresh token.

    `current` has been confirmed already (confirm_password, committed on its own so
    that a wrong guess counts even though the change is refused).
    """
    if new == current:
        raise RuleViolation({"new_password": "新密码不能与当前密码相同"})
    try:
        security.check_password_policy(new, context=(user.username, user.display_name))
    except InvalidValue as exc:
        raise RuleViolation({"new_password": str(exc)}) from exc
    user.password_hash = security.hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    security.end_all_sessions(user.id, "password_changed")
    token = security.start_session(user)
    audit.record("user.change_password", user)
    return token


# --- administration ------------------------------------------------------------------


def temporary_password() -> str:
    """A single-use password an admin hands over; the holder must replace it."""
    return "-".join(secrets.token_hex(3) for _ in range(4))


def _check_scope(role: str, org_unit: OrgUnit | None, member: Member | None) -> None:
    if role not in ROLES:
        raise RuleViolation({"role": "请选择角色"})
    if role == TOWNSHIP_OFFICER and (org_unit is None or org_unit.kind != TOWNSHIP):
        raise RuleViolation({"org_unit_id": "乡镇组织委员须指定所属乡镇"})
    if role == VILLAGE_SECRETARY and (org_unit is None or org_unit.kind != VILLAGE):
        raise RuleViolation({"org_unit_id": "村党支部书记须指定所在村"})
    if role == ORG_LEADER and (org_unit is None or org_unit.kind != MOBILE_ORG):
        raise RuleViolation({"org_unit_id": "流动党组织负责人须指定所负责的流动党组织"})
    if org_unit is not None and org_unit.closed_at is not None:
        raise RuleViolation({"org_unit_id": "该组织已撤销"})
    if role == MEMBER and member is None:
        raise RuleViolation({"member_id": "流动党员账户须关联一名党员"})


def create_user(
    data: dict, *, password: str | None = None, is_demo: bool = False
) -> tuple[User, str]:
    """Create an account; without a password one is generated and must be changed at login."""
    data = data | {"username": data["username"].strip().lower()}
    if db.session.scalar(select(User.id).where(User.username == data["username"])):
        raise RuleViolation({"username": "该用户名已被使用"})
    org_unit = db.session.get(OrgUnit, data["org_unit_id"]) if data.get("org_unit_id") else None
    member = db.session.get(Member, data["member_id"]) if data.get("member_id") else None
    role = data["role"]
    _check_scope(role, org_unit, member)
    if member is not None and db.session.scalar(select(User.id).where(User.member_id == member.id)):
        raise RuleViolation({"member_id": "该党员已有账户"})
    issued = password is None
    if issued:
        password = temporary_password()
    elif not is_demo:
        try:
            security.check_password_policy(password, context=(data["username"],))
        except InvalidValue as exc:
            raise RuleViolation({"password": str(exc)}) from exc
    if role == MEMBER:
        org_unit = db.session.get(OrgUnit, member.village_id)
    user = User(
        username=data["username"],
        display_name=data.get("display_name") or (member.name if member else data["username"]),
        role=role,
        org_unit_id=org_unit.id if org_unit and role not in (COUNTY_ADMIN, CLERK) else None,
        member_id=member.id if role == MEMBER else None,
        password_hash=security.hash_password(password),
        must_change_password=issued,
        is_demo=is_demo,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, after=audit.snapshot(user, USER_FIELDS))
    return user, password


def update_user(user: User, data: dict) -> User:
    """Change an account's name, role and scope; a role change logs the user out."""
    org_unit = db.session.get(OrgUnit, data["org_unit_id"]) if data.get("org_unit_id") else None
    member = db.session.get(Member, data["member_id"]) if data.get("member_id") else None
    _check_scope(data["role"], org_unit, member)
    if member is not None and db.session.scalar(
        select(User.id).where(User.member_id == member.id, User.id != user.id)
    ):
        raise RuleViolation({"member_id": "该党员已有账户"})
    before = audit.snapshot(user, USER_FIELDS)
    user.display_name = data["display_name"]
    user.role = data["role"]
    user.org_unit_id = (
        org_unit.id if org_unit and data["role"] not in (COUNTY_ADMIN, CLERK) else None
    )
    if data["role"] == MEMBER:
        user.org_unit_id = member.village_id
    user.member_id = member.id if data["role"] == MEMBER else None
    old, new = audit.changes(before, audit.snapshot(user, USER_FIELDS))
    if new:
        if {"role", "org_unit_id", "member_id"} & new.keys():
            security.end_all_sessions(user.id, "role_changed")
        db.session.flush()
        audit.record("user.update", user, before=old, after=new)
    return user


def reset_password(user: User) -> str:
    """Issue a single-use password and log the user out everywhere."""
    password = temporary_password()
    user.password_hash = security.hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    security.end_all_sessions(user.id, "password_reset")
    audit.record("user.reset_password", user)
    return password


def set_active(user: User, active: bool) -> None:
    if user.active == active:
        return
    user.active = active
    if not active:
        security.end_all_sessions(user.id, "disabled")
    audit.record("user.enable" if active else "user.disable", user)


def unlock(user: User) -> None:
    security.unlock(user)
    audit.record("user.unlock", user)
