"""Login, logout, password change and re-authentication."""

import time

import segno
from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from baojing import security
from baojing.blueprints.auth import bp
from baojing.blueprints.auth.forms import ChangePasswordForm, LoginForm, ReauthForm, TotpForm
from baojing.extensions import db
from baojing.services import accounts
from baojing.web.forms import commit_or_errors
from baojing.web.login import safe_next


def _establish(user, token: str) -> None:
    """Start a fresh cookie session: nothing from before login survives."""
    session.clear()
    user.session_token = token
    login_user(user)
    session.permanent = True
    # A new CSRF token goes out with this response's cookie. Otherwise the first page
    # after login would make one and re-sign the cookie, and so would every request
    # whose client kept the login cookie (a script, or a page opened in parallel).
    g.pop("csrf_token", None)
    generate_csrf()


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Username and password; failures are counted per account in the database."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    error = ""
    if form.validate_on_submit():
        result = accounts.authenticate(
            form.username.data, form.password.data, current_app.config["LOGIN_LOCK_MINUTES"],
            address=request.remote_addr or "",
        )  # fmt: skip
        if result.user is not None and current_user.is_authenticated:
            # Logging in over a live session (a shared PC): the old one ends here.
            security.end_session(current_user.get_id(), "relogin")
        db.session.commit()  # failures and lockouts count even though the login fails
        if result.needs_totp:
            # Only the user id and the time go into the (signed) cookie; the session
            # itself opens after the code.
            session.clear()
            session["totp_pending"] = {
                "uid": result.user.id,
                "at": int(time.time()),
                "next": safe_next(request.args.get("next")) or "",
            }
            return redirect(url_for("auth.login_totp"))
        if result.user is not None:
            _establish(result.user, result.token)
            if result.user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
        error, status = result.error, result.status
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/login/totp", methods=["GET", "POST"])
def login_totp():
    """Second step of a login for accounts with two-step verification."""
    pending = session.get("totp_pending")
    limit = current_app.config["TOTP_PENDING_SECONDS"]
    if not pending or time.time() - pending.get("at", 0) > limit:
        session.pop("totp_pending", None)
        flash("请重新输入用户名和密码", "warning")
        return redirect(url_for("auth.login"))
    form = TotpForm()
    status = 200
    if form.validate_on_submit():
        result = accounts.complete_totp(
            pending["uid"], form.code.data, current_app.config["LOGIN_LOCK_MINUTES"]
        )
        db.session.commit()
        if result.user is not None:
            _establish(result.user, result.token)
            return redirect(pending.get("next") or url_for("main.home"))
        form.code.errors.append(result.error)
        status = result.status
    elif form.is_submitted():
        status = 422
    return render_template("auth/login_totp.html", form=form), status


@bp.route("/account/totp", methods=["GET", "POST"])
def totp_setup():
    """Turn on two-step verification with an authenticator app (admins only).

    A POST starts enrolment (a GET never writes); the QR code then shows until the
    first code confirms it.
    """
    if current_user.role not in current_app.config["TOTP_ROLES"]:
        abort(404)
    user = accounts.account_of(current_user)
    form = TotpForm()
    status = 200
    if user.totp_enabled:
        return render_template("auth/totp_setup.html", user=user, form=form)
    if request.method == "POST" and request.form.get("action") == "start":
        accounts.start_totp_enrolment(user)  # CSRFProtect has checked the token already
        db.session.commit()
        return redirect(url_for("auth.totp_setup"))
    if user.totp_pending_secret and form.validate_on_submit():
        ok, _ = commit_or_errors(form, lambda: accounts.confirm_totp(user, form.code.data))
        if ok:
            flash("两步验证已开启。以后登录时，输入密码后还要输入手机验证器上的数字。", "success")
            return redirect(url_for("main.home"))
        status = 422
    elif form.is_submitted():
        status = 422
    qr = None
    if user.totp_pending_secret:
        uri = security.totp_uri(user.username, user.totp_pending_secret)
        qr = segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
    return render_template("auth/totp_setup.html", user=user, form=form, qr=qr), status


@bp.post("/logout")
def logout():
    """End this session on the server, so a copied cookie stops working too."""
    accounts.logout(current_user, current_user.get_id())
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    """Choose a new password; every other session of this user ends."""
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        outcome = accounts.confirm_password(
            current_user, form.current_password.data, "user.change_password"
        )
        db.session.commit()  # a wrong guess counts even though the change is refused
        if outcome == accounts.CONFIRMED:
            user = accounts.account_of(current_user)
            ok, token = commit_or_errors(
                form,
                lambda: accounts.change_password(
                    user, form.current_password.data, form.new_password.data
                ),
            )
            if ok:
                _establish(user, token)
                flash("密码已修改，其他设备上的登录已全部退出", "success")
                return redirect(url_for("main.home"))
            status = 422
        else:
            status = _refuse_password(outcome, form.current_password, "当前密码不正确")
            if status is None:
                return _locked_out()
    elif form.is_submitted():
        status = 422
    policy = {
        "min_length": current_app.config["PASSWORD_MIN_LENGTH"],
        "min_classes": current_app.config["PASSWORD_MIN_CLASSES"],
        "forced": current_user.must_change_password or security.password_expired(current_user),
    }
    return render_template("auth/change_password.html", form=form, policy=policy), status


@bp.route("/reauth", methods=["GET", "POST"])
def reauth():
    """Confirm the password again before a privileged action."""
    form = ReauthForm()
    status = 200
    target = safe_next(request.args.get("next")) or url_for("main.home")
    if form.validate_on_submit():
        outcome = accounts.reauthenticate(current_user, form.password.data)
        db.session.commit()
        if outcome == accounts.CONFIRMED:
            return redirect(target)
        status = _refuse_password(outcome, form.password, "密码不正确")
        if status is None:
            return _locked_out()
    elif form.is_submitted():
        status = 422
    return render_template("auth/reauth.html", form=form), status


def _refuse_password(outcome: str, field, wrong: str) -> int | None:
    """The message and status for a refused password, or None once the account locked."""
    if outcome == accounts.LOCKED_NOW:
        return None
    if outcome == accounts.LOCKED_ALREADY:
        field.errors.append(
            accounts.LOCKED.format(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
        )
        return 429
    field.errors.append(wrong)
    return 401


def _locked_out():
    """Too many wrong passwords in a session: the lock ended it (confirm_password)."""
    logout_user()
    session.clear()
    flash("密码错误次数过多，账户已临时锁定并已退出", "error")
    return redirect(url_for("auth.login"))
