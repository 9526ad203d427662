"""Member forms. Field validators normalise what they accept (ID upper-case, phone digits)."""

from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from baojing.dates import local_today
from baojing.models.members import (
    CONTACT_CHANNELS,
    ETHNICITIES,
    LIAISON_ROLES,
    LOCAL_ETHNICITIES,
    MEMBERSHIPS,
    MET_WITH,
    PROVINCES,
    RELATIONS,
    TRADES,
    VISIT_ITEMS,
)
from baojing.services.members import EDITABLE
from baojing.validators import (
    id_birth_date,
    normalize_mobile,
    normalize_resident_id,
)
from baojing.web.forms import Form, normalized_by, options, strip_text

resident_id = normalized_by(lambda value: normalize_resident_id(value, local_today()))
mobile = normalized_by(normalize_mobile)


def not_future(form, field):
    if field.data and field.data > local_today():
        raise ValidationError("日期不能晚于今天")


def _choices(values, blank=None):
    out = [(v, v) for v in values]
    return options([("", blank)] + out if blank else out)


class MemberForm(Form):
    name = StringField(
        "姓名",
        filters=[strip_text],
        validators=[DataRequired("请填写姓名"), Length(max=40, message="姓名最多 40 个字")],
    )
    # Baojing's three first, then the rest of the 56 in GB 3304's order; blank until known.
    ethnicity = SelectField(
        "民族",
        choices=_choices(
            (*LOCAL_ETHNICITIES, *(e for e in ETHNICITIES if e not in LOCAL_ETHNICITIES)),
            blank="请选择",
        ),
    )
    id_number = StringField(
        "身份证号码",
        filters=[strip_text],
        validators=[Optional(), resident_id],
        render_kw={"autocomplete": "off", "maxlength": 18, "inputmode": "text"},
    )
    phone = StringField(
        "手机号码",
        filters=[strip_text],
        validators=[DataRequired("请填写手机号码"), mobile],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    join_date = DateField("入党日期", validators=[InputRequired("请填写入党日期"), not_future])
    membership = SelectField("党员类别", choices=options(MEMBERSHIPS.items()))
    out_since = DateField("外出时间", validators=[Optional(), not_future])
    dest_province = SelectField("务工省份", choices=_choices(PROVINCES, "（未填写）"), default="")
    dest_city = StringField(
        "务工城市", filters=[strip_text], validators=[Length(max=30, message="最多 30 个字")]
    )
    dest_address = StringField(
        "现住址", filters=[strip_text], validators=[Length(max=120, message="最多 120 个字")]
    )
    employer = StringField(
        "工作单位", filters=[strip_text], validators=[Length(max=60, message="最多 60 个字")]
    )
    trade = SelectField("从事行业", choices=_choices(TRADES, "（未填写）"), default="")
    family_contact_name = StringField(
        "家中联系人", filters=[strip_text], validators=[Length(max=40, message="最多 40 个字")]
    )
    family_contact_relation = SelectField(
        "与本人关系", choices=_choices(RELATIONS, "（未填写）"), default=""
    )
    family_contact_phone = StringField(
        "家中联系人电话",
        filters=[strip_text],
        validators=[Optional(), mobile],
        render_kw={"inputmode": "tel"},
    )
    version = HiddenField()
    # The values as the form was opened (JSON), to tell apart on a conflict what this
    # user changed from what someone else changed in the meantime.
    original = HiddenField()
    request_id = HiddenField()

    def validate_join_date(self, field):
        if field.data and self.id_number.data and len(self.id_number.data) == 18:
            birth = id_birth_date(self.id_number.data)
            if birth and field.data.year - birth.year < 18:
                raise ValidationError("入党日期应在年满 18 周岁之后")

    def data_for_service(self) -> dict:
        """The editable fields (services.members.EDITABLE); a blank ID means unchanged."""
        data = {f: self[f].data for f in EDITABLE}
        data["family_contact_phone"] = data["family_contact_phone"] or ""
        if not data["id_number"]:
            data.pop("id_number")
        return data


class NewMemberForm(MemberForm):
    village_id = SelectField("所在村党支部", coerce=int, validate_choice=True)
    id_number = StringField(
        "身份证号码",
        filters=[strip_text],
        validators=[DataRequired("请填写身份证号码"), resident_id],
        render_kw=MemberForm.id_number.kwargs["render_kw"],
    )


class SelfContactForm(Form):
    phone = StringField(
        "手机号码",
        filters=[strip_text],
        validators=[DataRequired("请填写手机号码"), mobile],
        render_kw={"inputmode": "tel"},
    )
    dest_address = StringField(
        "现住址",
        filters=[strip_text],
        validators=[DataRequired("请填写现住址"), Length(max=120, message="最多 120 个字")],
    )


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class VisitForm(Form):
    visited_on = DateField("登记日期", validators=[InputRequired("请填写登记日期"), not_future])
    met_with = SelectField(
        "见到的人",
        choices=_choices(MET_WITH, "请选择"),
        validators=[DataRequired("请选择见到的人")],
        description="见到本人，或本人电话、视频确认，才计流动登记积分",
    )
    items = MultiCheckboxField("核实了哪些信息", choices=options(VISIT_ITEMS.items()))
    whereabouts = RadioField(
        "去向是否核实",
        choices=options([("yes", "已核实，去向明确"), ("no", "未能核实")]),
        validators=[InputRequired("请选择去向是否已核实")],
    )
    note = TextAreaField(
        "备注", filters=[strip_text], validators=[Length(max=500, message="最多 500 个字")]
    )
    request_id = HiddenField()

    def validate_items(self, field):
        if not field.data:
            raise ValidationError("请至少勾选一项核实的信息")

    def service_data(self) -> dict:
        return {
            "visited_on": self.visited_on.data,
            "met_with": self.met_with.data,
            "items": self.items.data,
            "whereabouts_confirmed": self.whereabouts.data == "yes",
            "note": self.note.data,
        }


class ContactForm(Form):
    contacted_on = DateField("联系日期", validators=[InputRequired("请填写联系日期"), not_future])
    channel = SelectField("联系方式", choices=_choices(CONTACT_CHANNELS))
    note = TextAreaField(
        "情况", filters=[strip_text], validators=[Length(max=200, message="最多 200 个字")]
    )
    request_id = HiddenField()

    def service_data(self) -> dict:
        return {
            "contacted_on": self.contacted_on.data,
            "channel": self.channel.data,
            "note": self.note.data,
        }


class AssignLiaisonForm(Form):
    liaison_id = SelectField("联络人", coerce=int, validate_choice=True)


class LiaisonForm(Form):
    name = StringField(
        "姓名",
        filters=[strip_text],
        validators=[DataRequired("请填写姓名"), Length(max=40, message="最多 40 个字")],
    )
    phone = StringField(
        "手机号码", filters=[strip_text], validators=[DataRequired("请填写手机号码"), mobile]
    )
    role = SelectField("身份", choices=_choices(LIAISON_ROLES))
    request_id = HiddenField()


class HandoverForm(Form):
    source_id = SelectField("原联络人", coerce=int, validate_choice=True)
    target_id = SelectField("移交给", coerce=int, validate_choice=True)
    note = StringField(
        "原因", filters=[strip_text], validators=[Length(max=100, message="最多 100 个字")]
    )


class CancelVisitForm(Form):
    reason = StringField(
        "撤销原因",
        filters=[strip_text],
        validators=[DataRequired("请写明撤销原因"), Length(2, 100, "原因写 2 到 100 个字")],
    )
