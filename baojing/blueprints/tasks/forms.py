"""Forms for monthly tasks: setting a task or a template, completing one, sending one back."""

from flask_wtf.file import FileField
from wtforms import IntegerField, RadioField, SelectField
from wtforms.validators import InputRequired, NumberRange

from baojing.models.tasks import COMPLETION_KINDS
from baojing.web.forms import Form, date_field, options, request_id_field, text_field


def _rule_id(value):
    """The select's value as a rule id; the empty choice is no rule of its own."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not a rule: refused by the service, next to the field


class _TaskFields(Form):
    title = text_field("任务名称", 60, "请填写任务名称", description="如：11月主题党日")
    description = text_field(
        "任务说明", 500, area=True, render_kw={"rows": 3},
        description="做什么、怎么做，党员在手机上能看明白",
    )  # fmt: skip
    completion = RadioField(
        "完成方式", choices=options(COMPLETION_KINDS.items()), default="tick",
        validators=[InputRequired("请选择完成方式")],
    )  # fmt: skip
    point_rule_id = SelectField("完成后计分", coerce=_rule_id, validate_choice=False)
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "title": self.title.data,
            "description": self.description.data,
            "completion": self.completion.data,
            "point_rule_id": self.point_rule_id.data,
        }


class TaskForm(_TaskFields):
    due_on = date_field("截止日期", "请填写截止日期")

    def service_data(self) -> dict:
        return super().service_data() | {"due_on": self.due_on.data}


class TemplateForm(_TaskFields):
    due_day = IntegerField(
        "每月几号截止",
        validators=[
            InputRequired("请填写每月几号截止"),
            NumberRange(1, 31, "请填写 1 到 31 之间的日子"),
        ],
        render_kw={"inputmode": "numeric"},
    )

    def service_data(self) -> dict:
        return super().service_data() | {"due_day": self.due_day.data}


class CompleteForm(Form):
    note = text_field("完成情况", 300, area=True, render_kw={"rows": 3})
    attachment = FileField("照片或文件")
    request_id = request_id_field()


class ReasonForm(Form):
    reason = text_field("退回原因", 100, "请填写退回原因", render_kw={"required": True})
    request_id = request_id_field()
