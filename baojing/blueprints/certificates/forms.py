"""Forms for issuing, renewing, revoking certificates and for transfer letters."""

from wtforms import DateField, FileField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from baojing.blueprints.formtools import Form, options, request_id_field, strip_text
from baojing.models.certificates import CERT_KINDS


class IssueForm(Form):
    kind = RadioField(
        "证件类型", choices=options(CERT_KINDS.items()), default="card",
        validators=[InputRequired("请选择证件类型")],
        description="短期外出（开会、学习、借调）开证明信；外出务工经商发活动证",
    )  # fmt: skip
    valid_until = DateField("有效期至", validators=[InputRequired("请填写有效期")])
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


class RevokeForm(Form):
    reason = StringField(
        "作废原因", filters=[strip_text],
        validators=[DataRequired("请填写作废原因"), Length(max=100, message="最多 100 个字")],
    )  # fmt: skip
