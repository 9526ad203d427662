"""The county's settings page: periods for papers, receipts and rankings (county admin)."""

from flask import redirect, render_template, url_for
from flask_login import current_user
from wtforms import IntegerField
from wtforms.validators import InputRequired

from baojing.blueprints.settings import bp
from baojing.models.users import COUNTY_ADMIN
from baojing.services import settings as svc
from baojing.web.forms import Form, commit_or_errors, flash_saved
from baojing.web.guards import recent_auth_required, require_role


class SettingsForm(Form):
    """One whole-number field per setting; the ranges are checked by the service."""


for _key, _setting in svc.SETTINGS.items():
    setattr(
        SettingsForm, _key,
        IntegerField(f"{_setting.label}（{_setting.unit}）" if _setting.unit else _setting.label,
                     validators=[InputRequired("请填写一个整数")],
                     description=_setting.hint),
    )  # fmt: skip


@bp.route("/", methods=["GET", "POST"])
@recent_auth_required
def index():
    require_role(COUNTY_ADMIN)
    form = SettingsForm(data=svc.values())
    status = 200
    if form.validate_on_submit():
        data = {key: form[key].data for key in svc.SETTINGS}
        ok, _ = commit_or_errors(form, lambda: svc.save(data, current_user))
        if ok:
            flash_saved("已保存设置", "settings")
            return redirect(url_for("settings.index"), 303)
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("settings/index.html", form=form, keys=list(svc.SETTINGS)), status
