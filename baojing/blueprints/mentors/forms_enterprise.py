"""Forms for 小个专 enterprises: registration, members, loans, difficulties."""

from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    ValidationError,
)
from wtforms.validators import InputRequired, Length, NumberRange

from baojing.models.mentors import CREDIT_STATUSES, ENTERPRISE_KINDS
from baojing.money import parse_yuan
from baojing.services.mentors.enterprises import MAX_PARTY_MEMBERS, MAX_YUAN, MEMBER_ROLES
from baojing.web.forms import (
    Form,
    date_field,
    options,
    request_id_field,
    strip_text,
    text_field,
)


class EnterpriseForm(Form):
    name = text_field(
        "企业名称", 60, "请填写企业名称", description="营业执照上的名称，如：保靖县黄金茶专业合作社"
    )
    kind = RadioField(
        "类型",
        choices=options(ENTERPRISE_KINDS.items()),
        validators=[InputRequired("请选择企业类型")],
    )
    township_id = SelectField("所属乡镇", coerce=int, validators=[InputRequired("请选择乡镇")])
    location = text_field("经营地点", 100, description="如：浙江省宁波市北仑区")
    trade = text_field("行业", 30, description="如：建筑装修、茶叶、餐饮")
    party_members = IntegerField(
        "企业中的党员人数",
        default=0,
        validators=[
            InputRequired("请填写党员人数，没有填 0"),
            NumberRange(0, MAX_PARTY_MEMBERS, f"请填 0 到 {MAX_PARTY_MEMBERS} 之间的人数"),
        ],
        render_kw={"inputmode": "numeric"},
    )
    has_party_org = BooleanField("已建立党组织")
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "name": self.name.data,
            "kind": self.kind.data,
            "location": self.location.data,
            "trade": self.trade.data,
            "party_members": self.party_members.data,
            "has_party_org": bool(self.has_party_org.data),
        }


class LinkMemberForm(Form):
    # member_id travels in the form too, read by the view (int_param) and scope-checked there.
    role = RadioField(
        "身份", choices=options(MEMBER_ROLES.items()), validators=[InputRequired("请选择身份")]
    )
    request_id = request_id_field()


class CreditForm(Form):
    bank = text_field("贷款银行", 40, "请填写放款的银行", description="如：保靖农商银行")
    amount = StringField(
        "金额（元）",
        filters=[strip_text],
        validators=[InputRequired("请填写金额"), Length(max=24, message="金额太长了，请核对")],
        description="单位是元，可带两位小数，如 500000 或 12000.50",
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    status = RadioField(
        "状态",
        choices=options(CREDIT_STATUSES.items()),
        default="granted",
        validators=[InputRequired("请选择贷款状态")],
    )
    granted_on = date_field("放款日期")
    request_id = request_id_field()

    amount_fen = 0

    def validate_amount(self, field):
        try:
            self.amount_fen = parse_yuan(field.data, max_yuan=MAX_YUAN)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def service_data(self) -> dict:
        return {
            "bank": self.bank.data,
            "amount_fen": self.amount_fen,
            "status": self.status.data,
            "granted_on": self.granted_on.data,
        }


class CreditStatusForm(Form):
    # Checked by the service, which also lets a resent form through as a no-op.
    status = SelectField("改为", choices=[], validate_choice=False)
    granted_on = date_field("放款日期")

    def service_data(self) -> dict:
        return {"status": self.status.data, "granted_on": self.granted_on.data}


class DifficultyForm(Form):
    description = text_field(
        "困难或诉求", 300, "请填写企业遇到的困难", area=True, render_kw={"rows": 3},
        description="如：流动资金周转困难，需要贷款 30 万元",
    )  # fmt: skip
    raised_on = date_field("提出日期", "请填写提出日期")
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {"description": self.description.data, "raised_on": self.raised_on.data}


class ResolveForm(Form):
    helped_by = text_field(
        "协调人/单位", 100, "请填写谁帮助协调的", description="如：县人社局、迁陵镇党委"
    )
    resolved_on = date_field("解决日期", "请填写解决日期")
    resolution = text_field("解决情况", 200, "请填写怎么解决的", area=True, render_kw={"rows": 3})

    def service_data(self) -> dict:
        return {
            "helped_by": self.helped_by.data,
            "resolved_on": self.resolved_on.data,
            "resolution": self.resolution.data,
        }
