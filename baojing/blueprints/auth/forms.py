from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from baojing.web.forms import Form, strip_text


class LoginForm(Form):
    username = StringField(
        "用户名",
        # Phone keyboards capitalise the first letter; usernames are stored lower case.
        filters=[strip_text, str.lower],
        validators=[DataRequired("请填写用户名"), Length(max=40)],
        render_kw={
            "autocapitalize": "none",
            "autocorrect": "off",
            "spellcheck": "false",
            "autocomplete": "username",
        },  # fmt: skip
    )
    password = PasswordField(
        "密码",
        validators=[DataRequired("请填写密码"), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class ChangePasswordForm(Form):
    current_password = PasswordField("当前密码", validators=[DataRequired("请填写当前密码")])
    new_password = PasswordField("新密码", validators=[DataRequired("请填写新密码")])
    confirm = PasswordField(
        "再次输入新密码",
        validators=[
            DataRequired("请再次输入新密码"),
            EqualTo("new_password", "两次输入的新密码不一致"),
        ],
    )


class TotpForm(Form):
    code = StringField(
        "6 位验证码",
        filters=[strip_text],
        validators=[DataRequired("请填写验证器上显示的 6 位数字"), Length(max=12)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7},
    )


class ReauthForm(Form):
    password = PasswordField("密码", validators=[DataRequired("请填写密码")])
