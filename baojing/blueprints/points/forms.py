"""Forms for earning rules, awards and the expiry policy."""

from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from baojing.models.points import AUTO_SOURCES
from baojing.models.users import COUNTY_ADMIN, TOWNSHIP_OFFICER, VILLAGE_SECRETARY
from baojing.web.forms import Form, options, request_id_field, strip_text

AWARDER_ROLES = {
    VILLAGE_SECRETARY: "村党支部书记",
    TOWNSHIP_OFFICER: "乡镇组织委员",
    COUNTY_ADMIN: "县委组织部",
}


class RuleForm(Form):
    name = StringField(
        "名称", filters=[strip_text], validators=[DataRequired("请填写名称"), Length(max=40)]
    )
    is_deduction = BooleanField("这是扣分项（未履行义务）")
    points = IntegerField(
        "分值", validators=[InputRequired("请填写分值"), NumberRange(1, 1000, "分值应为 1 到 1000")]
    )
    quarterly_cap = IntegerField(
        "每季度上限",
        validators=[Optional(), NumberRange(1, 10_000, "上限应为 1 到 10000")],
        description="一名党员每季度从这项规则最多得（或扣）多少分；留空表示不限",
    )
    awarder_roles = SelectMultipleField(
        "谁可以手工登记",
        choices=options(AWARDER_ROLES.items()),
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )
    auto_source = SelectField(
        "自动计分",
        choices=options([("", "不自动计分"), *AUTO_SOURCES.items()]),
        description="保存这类记录时自动加分，撤销记录时自动冲回",
    )
    description = StringField("说明", filters=[strip_text], validators=[Length(max=200)])
    active = BooleanField("启用", default=True)

    def data_for_service(self) -> dict:
        return {
            "name": self.name.data,
            "is_deduction": self.is_deduction.data,
            "points": self.points.data,
            "quarterly_cap": self.quarterly_cap.data,
            "awarder_roles": ",".join(
                r for r in AWARDER_ROLES if r in (self.awarder_roles.data or [])
            ),
            "auto_source": self.auto_source.data or None,
            "active": self.active.data,
            "description": self.description.data,
        }


class AwardForm(Form):
    rule_id = SelectField("积分项目", coerce=int, validators=[InputRequired("请选择积分项目")])
    occurred_on = DateField("日期", validators=[InputRequired("请选择日期")])
    reason = StringField(
        "事由",
        filters=[strip_text],
        validators=[DataRequired("请写明事由"), Length(max=100, message="事由不超过 100 个字")],
    )
    request_id = request_id_field()


class BatchAwardForm(AwardForm):
    member_ids = SelectMultipleField(
        "党员",
        coerce=int,
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validate_choice=False,
    )

    def validate_member_ids(self, field):
        if not field.data:
            raise ValidationError("请至少勾选一名党员")


class ExpiryForm(Form):
    years = IntegerField(
        "积分有效期（年）",
        validators=[InputRequired("请填写年数"), NumberRange(0, 10, "请填 0 到 10 年")],
        description="获得满这么多年仍未使用的积分，在年底过期；0 表示不过期",
    )
