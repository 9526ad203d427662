"""Forms for the mentor pool, proposals and a mentorship's life."""

from wtforms import BooleanField, DateField, HiddenField, IntegerField, RadioField
from wtforms.validators import InputRequired, NumberRange

from baojing.models.mentors import OUTCOMES, SITUATIONS
from baojing.web.forms import Form, options, request_id_field, text_field


class MentorProfileForm(Form):
    trade = text_field("行业", 30, "请填写行业", description="如：建筑业、餐饮、电商")
    dest_province = text_field("所在省份", 20)
    dest_city = text_field("所在城市", 30)
    experience = text_field("经验", 300, description="如：在杭州做装修 12 年，带过 30 人的班组")
    capacity = IntegerField(
        "最多同时帮带几人", default=2,
        validators=[InputRequired("请填写人数"), NumberRange(1, 10, "请填写 1 到 10 人")],
    )  # fmt: skip
    available = BooleanField("现在可以接受新的帮带", default=True)

    def service_data(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "trade", "dest_province", "dest_city", "experience", "capacity", "available")}  # fmt: skip


class ProposeForm(Form):
    mentor_id = HiddenField(validators=[InputRequired("请选择导师")])
    situation = RadioField(
        "情况", choices=options(SITUATIONS.items()), default="business",
        validators=[InputRequired("请选择新创业或新就业")],
    )  # fmt: skip
    # Never pre-ticked: the member's phone is shared once both sides have said yes.
    mentee_consents = BooleanField("本人已同意结对", default=False)
    note = text_field("备注", 200)
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "situation": self.situation.data,
            "note": self.note.data,
            "mentee_consents": bool(self.mentee_consents.data),
        }


class AcceptForm(Form):
    # Staff say which side they confirm for; a member's own side is set by the view.
    side = HiddenField()


class CompleteForm(Form):
    outcome = RadioField(
        "帮带结果", choices=options(OUTCOMES.items()), validators=[InputRequired("请选择帮带结果")]
    )


class EndForm(Form):
    reason = text_field("原因", 100, "请填写原因", render_kw={"required": True})


class CheckinForm(Form):
    checked_on = DateField("日期", validators=[InputRequired("请填写日期")])
    note = text_field("情况", 500, "请填写回访情况")
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {"checked_on": self.checked_on.data, "note": self.note.data}
