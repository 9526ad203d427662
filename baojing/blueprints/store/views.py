"""The redemption counter: look-up, the member's panel, redeem, receipt, reversal, vouchers.

The counter page never reloads: the look-up, the panel and the redemption answer
with htmx fragments. Without JavaScript every form still works as a full page.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from baojing.blueprints.store import bp
from baojing.blueprints.store.forms import RedeemForm, ReverseForm, VoucherForm
from baojing.extensions import db
from baojing.models.types import LARGEST_INTEGER
from baojing.models.users import CLERK, COUNTY_ADMIN, MEMBER
from baojing.scoping import COUNTER_ROLES, redemption_visible
from baojing.services.points import counter, ledger, redemption
from baojing.services.points.redemption import RedeemRequest
from baojing.web import htmx
from baojing.web.forms import commit_or_errors, new_request_id
from baojing.web.guards import recent_auth_to_write, require_role
from baojing.web.params import int_param

# Who may undo a redemption or mark a voucher used: the counter's own staff.
REVERSE_ROLES = COUNTER_ROLES
VOUCHER_ROLES = (CLERK, COUNTY_ADMIN)


@bp.get("/")
def index():
    if current_user.role == MEMBER:
        return redirect(url_for("points.mine"))
    if current_user.role in COUNTER_ROLES:
        return redirect(url_for("store.counter_page"))
    abort(403)


# --- the counter ---------------------------------------------------------------------


def _counter_member_or_404(member_id: int) -> counter.MemberHead:
    """The member at the counter, if in the user's counter scope (one query, no ORM)."""
    member = counter.member_head(current_user, member_id)
    if member is None:
        abort(404)
    return member


def _panel_context(member, form=None, receipt=None):
    balance = ledger.balance_of(member.id)
    return {
        "member": member,
        "balance": balance,
        "offers": counter.catalogue(balance),
        "recent": counter.recent_redemptions(member.id),
        "form": form,
        "receipt": receipt,
        "new_request_id": new_request_id,
    }


@bp.get("/counter")
def counter_page():
    """The counter; ?member=<id> opens it on one member (where a scanned QR leads)."""
    require_role(*COUNTER_ROLES)
    member_id = int_param("member")
    context = {}
    if member_id is not None:
        context = _panel_context(_counter_member_or_404(member_id))
    return htmx.render("store/counter.html", "store/_panel.html", **context)


@bp.post("/counter/lookup")
def lookup():
    """Search-as-you-type at the counter (POST: the text never lands in a URL or log)."""
    require_role(*COUNTER_ROLES)
    q = request.form.get("q", "").strip()[:120]
    if counter.looks_like_serial(q):
        found = counter.find_receipt(q)
        if found is not None and redemption_visible(current_user, found):
            context = {"receipt": found, "rows": [], "q": q}
            return htmx.render("store/counter.html", "store/_lookup.html", **context)
    rows = counter.lookup(current_user, q)
    context = {"rows": rows, "q": q, "receipt": None}
    if len(rows) == 1 and counter.scanned_member_id(q) is not None:
        # A scanned card opens the member at once: the clerk needs no extra tap.
        member = _counter_member_or_404(rows[0].id)
        # As an out-of-band swap for htmx; a full page shows the panel in place.
        context.update(_panel_context(member), open_panel=htmx.wants_fragment())
    return htmx.render("store/counter.html", "store/_lookup.html", **context)


@bp.post("/redeem")
def redeem():
    """Redeem one item for a member. The same request_id twice redeems once.

    The form and the member's scope are checked first, as plain reads; only the
    redemption itself takes the write lock (db.LATE_WRITE_POSTS), so other counters
    wait for its statements and commit, not for this request's checks.
    With htmx the answer is small — the member's heading with the new balance and
    the receipt, a fresh request_id for the form used, the last receipts — rather
    than the whole panel again.
    """
    require_role(*COUNTER_ROLES)
    form = RedeemForm()
    member_id = form.member_id.data if isinstance(form.member_id.data, int) else None
    if member_id is None:
        member_id = int_param("member_id")
    if member_id is None or not 0 < member_id <= LARGEST_INTEGER:
        abort(400)
    valid = form.validate_on_submit()
    member = _counter_member_or_404(member_id)
    done = None
    if valid:
        wanted = RedeemRequest(
            member_id=member.id,
            item_id=form.item_id.data,
            quantity=form.quantity.data,
            session_id=form.session_id.data,
        )

        try:
            ok, done = commit_or_errors(
                form, lambda: redemption.redeem(current_user, member, wanted, form.request_id.data)
            )
        except redemption.OutOfScope:
            db.session.rollback()
            abort(404)
        if ok:
            counter.catalogue_changed()
            if not htmx.wants_fragment():
                return redirect(url_for("store.receipt", serial=done.serial), 303)
    status = 200 if done else 422
    if not htmx.wants_fragment():
        return render_template("store/counter.html", **_panel_context(member, form)), status
    response = htmx.render(
        "store/counter.html", "store/_redeemed.html", status=status, member=member,
        balance=_balance_after(done, member.id), receipt=done, form=None if done else form,
        item_id=form.item_id.data, new_request_id=new_request_id(),
        recent=counter.recent_redemptions(member.id) if done else None,
    )  # fmt: skip
    return response


def _balance_after(done, member_id: int) -> int:
    """The balance the redemption left (RETURNING), or read it (a replay, a refusal).

    Read through the ORM session, in a transaction begun after the redemption's
    commit or rollback: the request's plain read connection holds an older snapshot.
    """
    balance = getattr(done, "balance_after", None)
    return balance if balance is not None else ledger.balance_of(member_id)


# --- receipts and reversal -------------------------------------------------------------


def _get_receipt_or_404(serial: str):
    found = counter.find_receipt(serial)
    if found is None or not redemption_visible(current_user, found):
        abort(404)
    return found


def _receipt_context(found, form=None):
    return {
        "r": found,
        "entry": redemption.redeem_entry(found),
        "reversal": redemption.reversal_of(found),
        "voucher": redemption.voucher_of(found),
        "form": form or ReverseForm(),
        "can_reverse": current_user.role in REVERSE_ROLES,
    }


@bp.get("/receipts/<serial>")
def receipt(serial: str):
    """The printable receipt (A6), found by its serial."""
    found = _get_receipt_or_404(serial)
    return render_template("store/receipt.html", **_receipt_context(found))


@bp.post("/receipts/<serial>/reverse")
@recent_auth_to_write
def reverse(serial: str):
    """Undo a mistaken redemption with a compensating entry and a reason."""
    require_role(*REVERSE_ROLES)
    found = _get_receipt_or_404(serial)
    form = ReverseForm()
    if form.validate_on_submit():
        ok, _ = commit_or_errors(
            form, lambda: redemption.reverse_redemption(current_user, found, form.reason.data)
        )
        if ok:
            counter.catalogue_changed()
            flash(f"store-reverse-{found.serial}", "clear-draft")
            return redirect(url_for("store.receipt", serial=found.serial, reversed=1), 303)
    return render_template("store/receipt.html", **_receipt_context(found, form)), 422


# --- vouchers --------------------------------------------------------------------------


@bp.route("/vouchers", methods=["GET", "POST"])
def vouchers():
    """Mark a health-check or training voucher used when the service is delivered."""
    require_role(*VOUCHER_ROLES)
    form = VoucherForm()
    used = None
    status = 200
    if form.validate_on_submit():
        ok, used = commit_or_errors(
            form, lambda: redemption.use_voucher(current_user, form.code.data)
        )
        status = 200 if ok else 422
        if ok:
            form = VoucherForm(formdata=None)
    elif form.is_submitted():
        status = 422
    return render_template("store/vouchers.html", form=form, used=used), status
