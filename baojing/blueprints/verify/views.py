"""/verify/<code>: public, no login. Says whether a paper is genuine and nothing personal."""

from flask import redirect, render_template, request, url_for

from baojing.blueprints.verify import bp
from baojing.dates import local_today
from baojing.services.certificates import issue, verify
from baojing.web.ratelimit import limited


@bp.get("/")
def lookup():
    """A box to type the code printed under the QR (for a paper read out over the phone)."""
    code = issue.normalise_code(request.args.get("code", ""))
    if code:
        return redirect(url_for("verify.show", code=code), 303)
    return render_template("verify/lookup.html")


@bp.get("/<code>")
@limited("VERIFY_RATE_LIMIT")
def show(code: str):
    """valid / expired / revoked / returned with a masked name; unknown or tampered: 404."""
    verdict = verify.check(issue.normalise_code(code), local_today())
    response = render_template("verify/show.html", verdict=verdict)
    return response, 200 if verdict else 404, {"X-Robots-Tag": "noindex"}
