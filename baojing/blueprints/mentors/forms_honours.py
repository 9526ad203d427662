"""Forms for honours recommendations, events, invitations and attendance."""

from wtforms import RadioField, SelectField, SelectMultipleField, widgets
from wtforms.validators import InputRequired

from baojing.models.mentors import HONOURS
from baojing.services.mentors.honours import ANSWERS
from baojing.web.forms import Form, date_field, options, request_id_field, text_field


class RecommendForm(Form):
    honour = RadioField(
        "推荐的荣誉",
        choices=options(HONOURS.items()),
        validators=[InputRequired("请选择推荐的荣誉")],
    )
    honour_name = text_field("荣誉名称", 40, description="选“其他荣誉”时填写，如：优秀农民工")
    reason = text_field(
        "推荐理由", 500, "请填写推荐理由", area=True, render_kw={"rows": 4},
        description="主要事迹：带动就业、回乡创业、参与家乡建设等",
    )  # fmt: skip
    evidence = text_field(
        "佐证材料", 500, area=True, render_kw={"rows": 3},
        description="如：2025 年带动 12 名村民就业；获评宁波市优秀外来务工人员",
    )  # fmt: skip
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "honour": self.honour.data,
            "honour_name": self.honour_name.data,
            "reason": self.reason.data,
            "evidence": self.evidence.data,
        }


class DecideForm(Form):
    # Checked by the service, which also lets a resent form through as a no-op.
    status = SelectField("改为", choices=[], validate_choice=False)
    decided_on = date_field("评定日期")
    decision_note = text_field("说明", 200, description="如：已列入县“两代表一委员”推荐人选")

    def service_data(self) -> dict:
        return {
            "status": self.status.data,
            "decided_on": self.decided_on.data,
            "decision_note": self.decision_note.data,
        }


class EventForm(Form):
    title = text_field(
        "活动名称", 60, "请填写活动名称", description="如：2026 年春节返乡流动党员座谈会"
    )
    held_on = date_field("活动日期", "请填写活动日期")
    place = text_field("地点", 100, description="如：县委党校报告厅")
    description = text_field("活动内容", 300, area=True, render_kw={"rows": 3})
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "title": self.title.data,
            "held_on": self.held_on.data,
            "place": self.place.data,
            "description": self.description.data,
        }


def _checklist(label: str) -> SelectMultipleField:
    return SelectMultipleField(
        label,
        coerce=int,
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validate_choice=False,
    )


class InviteForm(Form):
    member_ids = _checklist("党员")
    request_id = request_id_field()


class AttendanceForm(Form):
    attended = _checklist("出席的党员")


class AnswerForm(Form):
    answer = RadioField(
        "回复",
        choices=options(ANSWERS.items()),
        validators=[InputRequired("请选择将参加或不能参加")],
    )
