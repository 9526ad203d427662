"""Forms of the county hub: an announcement, a question, an answer, the FAQ."""

from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField
from wtforms.validators import InputRequired

from baojing.models.hub import ADDRESSED_TO, QUESTION_KINDS
from baojing.web.forms import Form, date_field, options, request_id_field, text_field


class AnnouncementForm(Form):
    title = text_field("标题", 100, "请填写标题")
    body = text_field(
        "正文", 20000, area=True, render_kw={"rows": 10},
        description="直接输入文字即可，空一行分段；链接以 https:// 开头",
    )  # fmt: skip
    attachment = FileField("附件（可不传）")
    pinned_until = date_field("置顶到（可不填）")
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "title": self.title.data,
            "body": self.body.data,
            "pinned_until": self.pinned_until.data,
        }


class QuestionForm(Form):
    addressed_to = RadioField(
        "向谁提出", choices=options(ADDRESSED_TO.items()), default="township",
        validators=[InputRequired("请选择向谁提出")],
    )  # fmt: skip
    kind = RadioField(
        "类型", choices=options(QUESTION_KINDS.items()), default="question",
        validators=[InputRequired("请选择类型")],
    )  # fmt: skip
    body = text_field("内容", 1000, "请写下您想问的或想说的", area=True, render_kw={"rows": 5})
    consent_publish = BooleanField("同意隐去姓名后，把回复公开到“常见问答”，方便其他党员")
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "addressed_to": self.addressed_to.data,
            "kind": self.kind.data,
            "body": self.body.data,
            "consent_publish": bool(self.consent_publish.data),
        }


class AnswerForm(Form):
    answer = text_field("回复", 5000, "请填写回复", area=True, render_kw={"rows": 6})
    publish = BooleanField("同时公开到常见问答（党员已同意）")
    faq_question = text_field(
        "公开的问题", 1000, area=True, render_kw={"rows": 3},
        description="去掉姓名、电话、村名等个人信息后再公开",
    )  # fmt: skip
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "answer": self.answer.data,
            "publish": bool(self.publish.data),
            "faq_question": self.faq_question.data,
        }


class FaqForm(Form):
    faq_question = text_field("公开的问题", 1000, area=True, render_kw={"rows": 3})
    publish = BooleanField("公开到常见问答")


class NudgeForm(Form):
    """Nothing but the CSRF token: who is nudged comes from the URL and the scope."""
