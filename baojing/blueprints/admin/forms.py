from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from baojing.models.users import ROLE_LABELS
from baojing.web.forms import Form, options, strip_text


class UserForm(Form):
    display_name = StringField(
        "姓名",
        filters=[strip_text],
        validators=[DataRequired("请填写姓名"), Length(max=40, message="最多 40 个字")],
    )
    role = SelectField("角色", choices=options(ROLE_LABELS.items()))
    org_unit_id = SelectField("所属乡镇或村", coerce=int, validate_choice=True)
    member_id = IntegerField(
        "关联党员编号",
        validators=[Optional()],
        description="仅“流动党员”角色需要。从党员档案页点“开通党员账户”会自动填好",
    )


class NewUserForm(UserForm):
    username = StringField(
        "用户名",
        filters=[strip_text, str.lower],
        render_kw={"autocapitalize": "none", "autocorrect": "off", "spellcheck": "false"},
        validators=[
            DataRequired("请填写用户名"),
            Length(min=3, max=40, message="用户名 3–40 个字符"),
            Regexp(r"^[a-zA-Z0-9_.-]+$", message="用户名只能用字母、数字、下划线、点和横线"),
        ],
    )
