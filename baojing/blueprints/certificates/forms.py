"""Forms for issuing, renewing, revoking certificates and for transfer letters."""

from wtforms import DateField, FileField, IntegerField, RadioField, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from baojing.models.certificates import CERT_KINDS
from baojing.validators import normalize_phone
from baojing.web.forms import (
    Form,
    normalized_by,
    options,
    request_id_field,
    strip_text,
)


class IssueForm(Form):
    kind = RadioField(
        "证件类型", choices=options(CERT_KINDS.items()), default="card",
        validators=[InputRequired("请选择证件类型")],
        description="短期外出（开会、学习、借调）开证明信；外出务工经商发活动证",
    )  # fmt: skip
    # A letter's end of validity; a card (open-ended) takes it as its first 年审 date.
    valid_until = DateField(
        "有效期至 / 首次年审", validators=[InputRequired("请填写有效期")],
        render_kw={"data-default-follows": "1"},
    )  # fmt: skip
    reason = StringField(
        "外出原因", filters=[strip_text], validators=[Length(max=100, message="最多 100 个字")]
    )
    destination = StringField(
        "外出地点", filters=[strip_text], validators=[Length(max=100, message="最多 100 个字")]
    )
    photo = FileField("一寸照片（可不传）")
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "kind": self.kind.data,
            "valid_until": self.valid_until.data,
            "reason": self.reason.data,
            "destination": self.destination.data,
        }


class RenewForm(Form):
    valid_until = DateField("新证有效期至", validators=[InputRequired("请填写有效期")])
    request_id = request_id_field()


class CheckForm(Form):
    """年审 of an activity card: the day it was checked, and a note."""

    checked_on = DateField("年审日期", validators=[InputRequired("请填写年审日期")])
    note = StringField(
        "备注", filters=[strip_text], validators=[Length(max=100, message="最多 100 个字")]
    )
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {"checked_on": self.checked_on.data, "note": self.note.data}


class RevokeForm(Form):
    reason = StringField(
        "作废原因", filters=[strip_text], render_kw={"required": True},
        validators=[DataRequired("请填写作废原因"), Length(max=100, message="最多 100 个字")],
    )  # fmt: skip


class BatchForm(Form):
    township_id = SelectField("乡镇", coerce=int, validators=[InputRequired("请选择乡镇")])


class TransferForm(Form):
    to_org = StringField(
        "转往党组织", filters=[strip_text],
        validators=[DataRequired("请填写接收的党组织"), Length(max=60, message="最多 60 个字")],
        description="如：中共杭州市西湖区某某街道工作委员会",
    )  # fmt: skip
    to_address = StringField(
        "接收地址", filters=[strip_text], validators=[Length(max=100, message="最多 100 个字")]
    )
    dues_paid_until = StringField(
        "党费交到（年-月）", filters=[strip_text], validators=[DataRequired("请填写党费交到的年月")]
    )
    valid_days = IntegerField(
        "有效期（天）", default=10,
        validators=[InputRequired("请填写有效期"), NumberRange(1, 90, "有效期为 1 到 90 天")],
        description="省内一般 10 天，出省 30 天，最长不超过 3 个月",
    )  # fmt: skip
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "to_org": self.to_org.data,
            "to_address": self.to_address.data,
            "dues_paid_until": self.dues_paid_until.data,
            "valid_days": self.valid_days.data,
        }


class ReceiptForm(Form):
    receipt_on = DateField("回执日期", validators=[InputRequired("请填写回执日期")])
    receipt_handler = StringField(
        "接收方经办人", filters=[strip_text],
        validators=[DataRequired("请填写经办人"), Length(max=40, message="最多 40 个字")],
    )  # fmt: skip
    receipt_phone = StringField(
        "经办人电话", filters=[strip_text], validators=[Optional(), normalized_by(normalize_phone)],
        render_kw={"inputmode": "tel"},
    )  # fmt: skip

    def service_data(self) -> dict:
        # Read after validation: the phone is stored as the validator normalised it.
        return {
            "receipt_on": self.receipt_on.data,
            "receipt_handler": self.receipt_handler.data,
            "receipt_phone": self.receipt_phone.data,
        }
