"""Counter and catalogue forms. Field names of the redemption form are the contract."""

from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from baojing.models.points import ITEM_KINDS
from baojing.services.points.redemption import MAX_QUANTITY
from baojing.web.forms import Form, options, request_id_field, strip_text

_MAX_ID = 2**63 - 1


class RedeemForm(Form):
    member_id = IntegerField(validators=[InputRequired(), NumberRange(1, _MAX_ID)])
    item_id = IntegerField(
        validators=[InputRequired("请选择项目"), NumberRange(1, _MAX_ID, "请选择项目")]
    )
    quantity = IntegerField(
        "数量",
        default=1,
        validators=[
            InputRequired("请填写数量"),
            NumberRange(1, MAX_QUANTITY, f"数量应为 1 到 {MAX_QUANTITY}"),
        ],
    )
    session_id = IntegerField("场次", validators=[Optional(), NumberRange(1, _MAX_ID)])
    request_id = request_id_field()

    def error_messages(self) -> list[str]:
        return [msg for field in self for msg in field.errors]


class ReverseForm(Form):
    reason = StringField(
        "冲正原因",
        filters=[strip_text],
        validators=[DataRequired("请写明冲正原因"), Length(2, 100, "原因写 2 到 100 个字")],
    )


class VoucherForm(Form):
    code = StringField(
        "凭证码",
        filters=[strip_text],
        validators=[DataRequired("请输入凭证码"), Length(max=16, message="凭证码格式不对")],
    )


class ItemForm(Form):
    kind = SelectField("类别", choices=options(ITEM_KINDS.items()))
    name = StringField(
        "名称", filters=[strip_text], validators=[DataRequired("请填写名称"), Length(max=60)]
    )
    description = StringField("说明", filters=[strip_text], validators=[Length(max=200)])
    price = IntegerField(
        "所需积分",
        validators=[InputRequired("请填写积分"), NumberRange(1, 100_000, "积分应为 1 到 100000")],
    )
    stock = IntegerField(
        "库存",
        validators=[Optional(), NumberRange(0, 1_000_000, "库存应为 0 到 1000000")],
        description="物品填库存，留空表示不限；体检和培训按场次设名额",
    )
    valid_from = DateField("起始日期", validators=[Optional()])
    valid_until = DateField("截止日期", validators=[Optional()])
    active = BooleanField("上架", default=True)

    def validate_valid_until(self, field):
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError("截止日期不能早于起始日期")


class SessionForm(Form):
    on_date = DateField("日期", validators=[InputRequired("请选择日期")])
    place = StringField(
        "地点", filters=[strip_text], validators=[DataRequired("请填写地点"), Length(max=60)]
    )
    capacity = IntegerField(
        "名额",
        validators=[InputRequired("请填写名额"), NumberRange(1, 10_000, "名额应为 1 到 10000")],
    )
