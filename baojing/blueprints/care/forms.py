"""Forms for care cases, visits, family pairings and service requests."""

from wtforms import (
    BooleanField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    InputRequired,
    NumberRange,
    ValidationError,
)

from baojing.models.care import (
    CARE_KINDS,
    HELP_KINDS,
    REPORTED_VIA,
    SERVICE_KINDS,
    SERVICE_OPENED_VIA,
    VISIT_METHODS,
)
from baojing.money import parse_yuan
from baojing.web.forms import Form, date_field, options, request_id_field, text_field

# Condolence money per visit: above this it is a typo (fen for yuan), not a gift.
MAX_VISIT_YUAN = 100_000


class CaseForm(Form):
    kind = RadioField(
        "事件类型",
        choices=options(CARE_KINDS.items()),
        validators=[InputRequired("请选择事件类型")],
    )
    event_on = date_field("事件日期", "请填写事件日期")
    description = text_field("简要情况", 300, "请简要说明情况", area=True, render_kw={"rows": 3})
    reported_via = SelectField("消息来源", choices=options(REPORTED_VIA.items()), default="branch")
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "kind": self.kind.data,
            "event_on": self.event_on.data,
            "description": self.description.data,
            "reported_via": self.reported_via.data if self.reported_via else "member",
        }


class MemberCaseForm(CaseForm):
    """A member reporting for their own family: the source is themself."""

    reported_via = None


class VisitForm(Form):
    visited_on = date_field("走访日期", "请填写走访日期")
    visitors = text_field(
        "走访人", 100, "请填写谁去走访的", description="如：支书 彭光华、联络员 田小兰"
    )
    method = RadioField(
        "走访方式", choices=options(VISIT_METHODS.items()), default="home",
        validators=[InputRequired("请选择走访方式")],
    )  # fmt: skip
    findings = text_field("了解到的情况", 1000, area=True, render_kw={"rows": 3})
    money = StringField("慰问金（元）", render_kw={"inputmode": "decimal", "maxlength": 20})
    goods = text_field("送去的物品", 100, description="如：大米 1 袋、牛奶 2 箱")
    help_arranged = text_field("协调的帮助", 200)
    follow_up = BooleanField("需要跟进")
    follow_up_on = date_field("跟进日期（可不填）")
    shared_with_member = BooleanField("走访记录可让党员本人查看")
    photos = MultipleFileField("现场照片（最多 4 张）")
    request_id = request_id_field()

    money_fen = 0

    def validate_money(self, field):
        if not (field.data or "").strip():
            return  # no money given
        try:
            self.money_fen = parse_yuan(field.data, max_yuan=MAX_VISIT_YUAN, allow_zero=True)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def service_data(self) -> dict:
        return {
            "visited_on": self.visited_on.data,
            "visitors": self.visitors.data,
            "method": self.method.data,
            "findings": self.findings.data,
            "money_fen": self.money_fen,
            "goods": self.goods.data,
            "help_arranged": self.help_arranged.data,
            "follow_up": bool(self.follow_up.data),
            "follow_up_on": self.follow_up_on.data,
            "shared_with_member": bool(self.shared_with_member.data),
        }


class ReasonForm(Form):
    """Cancelling a case or ending a pairing: always with a reason."""

    reason = text_field("原因", 100, "请填写原因", render_kw={"required": True})
    # A double tap on a slow line sends the form twice: the second finds the first done.
    request_id = request_id_field()


class PairingForm(Form):
    branch_id = SelectField("结对支部", coerce=int, validators=[InputRequired("请选择支部")])
    helpers = text_field("结对党员", 100, "请填写结对党员的姓名", description="多人用顿号分开")
    family_note = text_field("家庭情况", 200, description="如：父母年迈，家有 3 亩水田")
    started_on = date_field("开始日期", "请填写开始日期")
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "helpers": self.helpers.data,
            "family_note": self.family_note.data,
            "started_on": self.started_on.data,
        }


class HelpForm(Form):
    helped_on = date_field("帮扶日期", "请填写帮扶日期")
    kind = RadioField(
        "帮扶类型",
        choices=options(HELP_KINDS.items()),
        validators=[InputRequired("请选择帮扶类型")],
    )
    description = text_field("做了什么", 200, "请简要填写帮扶内容")
    supplies = text_field("送去的物资", 100, description="如：口罩 200 只")
    helpers = text_field("参与的党员", 100)
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "helped_on": self.helped_on.data,
            "kind": self.kind.data,
            "description": self.description.data,
            "supplies": self.supplies.data,
            "helpers": self.helpers.data,
        }


class ServiceRequestForm(Form):
    kind = RadioField(
        "事项类型",
        choices=options(SERVICE_KINDS.items()),
        validators=[InputRequired("请选择事项类型")],
    )
    subject = text_field(
        "事项", 60, "请用一句话说明要办的事", description="如：孩子秋季转学到县城小学"
    )
    description = text_field("详细情况", 500, "请填写详细情况", area=True, render_kw={"rows": 4})
    opened_via = SelectField(
        "提出人", choices=options(SERVICE_OPENED_VIA.items()), default="liaison"
    )
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {
            "kind": self.kind.data,
            "subject": self.subject.data,
            "description": self.description.data,
            "opened_via": self.opened_via.data if self.opened_via else "member",
        }


class MemberServiceRequestForm(ServiceRequestForm):
    opened_via = None


class UpdateForm(Form):
    body = text_field("进展说明", 500, "请填写进展或回复", area=True, render_kw={"rows": 3})
    status = SelectField("状态", choices=[], validate_choice=True)
    request_id = request_id_field()

    def service_data(self) -> dict:
        return {"body": self.body.data, "status": self.status.data or ""}


def _days(kind: str) -> IntegerField:
    message = "请填写 1 到 60 之间的天数"
    return IntegerField(
        CARE_KINDS[kind], validators=[InputRequired(message), NumberRange(1, 60, message)]
    )


class DueDaysForm(Form):
    """Days to the visit per kind of event (county setting)."""

    wedding_funeral = _days("wedding_funeral")
    illness = _days("illness")
    setback = _days("setback")
    hardship = _days("hardship")
