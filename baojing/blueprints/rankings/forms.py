"""Forms of the quarterly ranking: publish, amend, object, answer."""

from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from baojing.web.forms import Form, request_id_field, strip_text


class PublishForm(Form):
    township_id = SelectField("乡镇网络党支部", coerce=int)
    quarter = SelectField("季度")


class AmendForm(Form):
    reason = StringField(
        "更正原因",
        filters=[strip_text],
        validators=[DataRequired("请写明更正原因"), Length(2, 200, "原因写 2 到 200 个字")],
    )


class ObjectionForm(Form):
    text = TextAreaField(
        "我的疑问",
        filters=[strip_text],
        validators=[DataRequired("请写下您的疑问"), Length(2, 500, "请写 2 到 500 个字")],
    )
    request_id = request_id_field(required=False)


class AnswerForm(Form):
    answer = TextAreaField(
        "答复",
        filters=[strip_text],
        validators=[DataRequired("请填写答复"), Length(2, 500, "请写 2 到 500 个字")],
    )
