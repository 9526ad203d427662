"""Forms for writing, handing in and reviewing thought reports."""

from wtforms import HiddenField, IntegerField, MultipleFileField, RadioField
from wtforms.validators import InputRequired, NumberRange, Regexp

from baojing.models.thoughts import ACCEPT, RETURN
from baojing.services.thoughts import MAX_BODY, MAX_COMMENT
from baojing.web.forms import FORM_EXPIRED, Form, options, request_id_field, text_field


class DraftForm(Form):
    """What an autosave sends: the text, the version it was typed on, the editing page."""

    body = text_field("汇报内容", MAX_BODY, area=True, render_kw={"rows": 12})
    version = IntegerField(validators=[InputRequired(FORM_EXPIRED), NumberRange(min=0)])
    editor = HiddenField(validators=[Regexp(r"^[A-Za-z0-9_-]{8,40}$", message=FORM_EXPIRED)])


class SubmitForm(DraftForm):
    request_id = request_id_field()


class PhotoForm(Form):
    photos = MultipleFileField("手写汇报的照片")


class ReviewForm(Form):
    decision = RadioField(
        "审阅意见",
        choices=options([(ACCEPT, "通过"), (RETURN, "退回修改")]),
        validators=[InputRequired("请选择通过或退回")],
    )
    comment = text_field("评语 / 退回原因", MAX_COMMENT, area=True, render_kw={"rows": 3})
    request_id = request_id_field()


class WithdrawForm(Form):
    reason = text_field("撤销原因", 200, "请写明撤销的原因")
    request_id = request_id_field()
