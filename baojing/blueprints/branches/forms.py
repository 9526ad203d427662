"""Forms for the org tree's upkeep: a unit, its contact person, closing, moving members.

Lengths are checked here for a quick answer; names, codes, phone numbers and the
publish choice are the service's rules (services/branches.py), told next to the same fields.
"""

from wtforms import RadioField, SelectField, SelectMultipleField, widgets
from wtforms.validators import InputRequired, Optional

from baojing.models.org import KIND_LABELS, PUBLISH_CHOICES
from baojing.services import branches as svc
from baojing.web.forms import Form, options, request_id_field, text_field


class ContactForm(Form):
    contact_name = text_field("联系人", 40, description="书记或负责人的姓名")
    contact_title = text_field("职务", 20, description="如：党支部书记、组织委员")
    contact_mobile = text_field("手机", 20, render_kw={"inputmode": "tel", "autocomplete": "off"})
    contact_office = text_field(
        "办公电话", 20, description="带区号，如 0743-8721234",
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )  # fmt: skip
    publish_phone = RadioField(
        "在公开的联系名录中", choices=options(PUBLISH_CHOICES.items()), default=""
    )

    def contact_data(self) -> dict:
        return {name: self[name].data or "" for name in svc.CONTACT_FIELDS}


class UnitForm(ContactForm):
    """A unit's own fields; which of them a page shows depends on the kind."""

    name = text_field("名称", svc.NAME_MAX, "请填写名称")
    code = text_field(
        "村代码", 12, description="统计用区划代码，12 位，如 433125109201；不知道可不填",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )  # fmt: skip
    location = text_field("所在地", 60, description="如：浙江省宁波市")
    host_org = text_field("依托单位", 60, description="所依托的企业、商会或当地党组织，可不填")

    def service_data(self, kind: str) -> dict:
        own = {name: self[name].data or "" for name in svc.KIND_FIELDS[kind]}
        return own | self.contact_data()


class NewUnitForm(UnitForm):
    township_id = SelectField("所属乡镇", coerce=int, validators=[InputRequired("请选择乡镇")])
    kind = RadioField(
        "类型",
        choices=options((k, KIND_LABELS[k]) for k in svc.CREATABLE),
        validators=[InputRequired("请选择要新建的组织类型")],
    )
    request_id = request_id_field()


class CloseForm(Form):
    reason = text_field(
        "撤销原因", svc.REASON_MAX, "请填写撤销原因", description="如：与某村合并、组织已完成使命"
    )


class MoveForm(Form):
    everyone = RadioField(
        "转移哪些党员",
        choices=options((("all", "全部在册党员"), ("chosen", "只转移下面勾选的"))),
        default="chosen",
    )
    member_ids = SelectMultipleField(
        "党员",
        coerce=int,
        validate_choice=False,  # ids on other pages count too; the service keeps the source's
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validators=[Optional()],
    )
    target_id = SelectField("转入", validators=[InputRequired("请选择转入的组织")])
    reason = text_field("转移原因", svc.REASON_MAX, "请填写转移原因", description="如：两村合并")
    request_id = request_id_field()

    def chosen_ids(self) -> list[int] | None:
        """None for everyone in the unit, else the ids ticked."""
        return None if self.everyone.data == "all" else list(self.member_ids.data or [])


class LeaveForm(Form):
    reason = text_field("退出原因", svc.REASON_MAX, "请填写退出原因", description="如：已回乡")
