"""Reading the audit log and the account list (county admin)."""

import json
from dataclasses import dataclass

from sqlalchemy import or_, select

from baojing.extensions import db
from baojing.models.audit import AccessDenial, AuditEntry
from baojing.models.users import ROLE_LABELS, User


@dataclass
class AuditPage:
    entries: list
    next_before: int | None


def list_entries(
    *,
    action: str = "",
    username: str = "",
    entity_type: str = "",
    entity_id: int | None = None,
    before_id: int | None = None,
    per_page: int = 50,
) -> AuditPage:
    """Newest first; keyset paging on id so deep pages cost the same as the first."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(per_page + 1)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    if username:
        stmt = stmt.where(AuditEntry.username == username)
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if before_id:
        stmt = stmt.where(AuditEntry.id < before_id)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return AuditPage(rows, rows[-1].id if more else None)


# The action refusals were logged under: now counted in access_denials, listed by list_denials.
DENIED = "access.denied"


def list_denials(
    *, username: str = "", before_id: int | None = None, per_page: int = 50
) -> AuditPage:
    """Refusals counted per user, endpoint and minute, newest first; keyset paging on id."""
    stmt = select(AccessDenial).order_by(AccessDenial.id.desc()).limit(per_page + 1)
    if username:
        stmt = stmt.where(AccessDenial.username == username)
    if before_id:
        stmt = stmt.where(AccessDenial.id < before_id)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return AuditPage(rows, rows[-1].id if more else None)


ACTION_LABELS = {
    "auth.login": "登录", "auth.logout": "退出",
    "member.create": "登记党员", "member.update": "修改党员信息",
    "member.self_update": "党员本人更新联系方式", "member.registration_visit": "上门登记",
    "member.contact": "记录联系", "member.assign_liaison": "更换联络人",
    "member.reveal_id": "查看完整身份证号", "sensitive.read": "查看个人敏感信息",
    "liaison.create": "添加联络人", "liaison.handover": "联络人整体移交",
    "user.create": "新建账户", "user.update": "修改账户",
    "user.reset_password": "重置密码", "user.change_password": "修改密码",
    "user.enable": "启用账户", "user.disable": "停用账户", "user.unlock": "解锁账户",
    "demo.load": "载入演示数据", "auth.totp": "两步验证",
    "user.totp_enable": "开启两步验证", "user.totp_reset": "关闭两步验证",
    "access.denied": "拒绝访问", "auth.reauth": "再次确认密码", "audit.purge": "清理过期审计记录",
    "member.registration_visit_cancel": "撤销上门登记",
    "care.case_open": "报告关怀事件", "care.case_cancel": "取消关怀事件", "care.visit": "关怀走访",
    "care.due_days": "设置走访时限", "care.pairing_start": "建立结对帮扶",
    "care.pairing_help": "记录结对帮扶", "care.pairing_end": "结束结对帮扶",
    "care.request_open": "提出服务请求", "care.request_update": "更新服务请求",
    "certificate.issue": "发证", "certificate.revoke": "作废证件", "certificate.return": "证件交回",
    "certificate.download": "下载证件 PDF", "certificate.batch": "批量换发活动证",
    "certificate.batch_download": "下载批量打印文件", "transfer.issue": "开具组织关系介绍信",
    "transfer.receipt": "登记介绍信回执", "transfer.download": "下载介绍信 PDF",
    "mentor.profile": "登记帮带导师", "mentor.propose": "提议帮带结对", "mentor.accept": "确认帮带结对",
    "mentor.complete": "帮带办结", "mentor.end": "结束帮带结对", "mentor.checkin": "帮带回访",
    "points.award": "登记积分", "points.deduct": "扣减积分", "points.reverse": "冲正积分",
    "points.expire": "积分过期结算", "points.expiry_policy": "设置积分有效期",
    "points.rule_create": "新增积分规则", "points.rule_update": "修改积分规则",
    "catalog.item_create": "新增兑换项目", "catalog.item_update": "修改兑换项目",
    "catalog.session": "添加体检/培训场次", "store.redeem": "积分兑换", "store.reverse": "冲正兑换",
    "store.voucher_used": "核销凭证", "ranking.publish": "公示积分排名",
    "ranking.amend": "复核更正排名", "ranking.objection": "对排名提出疑问",
    "ranking.answer": "答复排名疑问",
    "enterprise.create": "登记小个专企业", "enterprise.member": "关联企业党员",
    "enterprise.credit": "登记授信贷款", "enterprise.credit_status": "更新贷款状态",
    "enterprise.difficulty": "登记企业困难诉求", "enterprise.resolve": "协调解决企业困难",
    "honour.recommend": "推荐评先评优", "honour.status": "更新推荐结果",
    "event.create": "创建活动", "event.invite": "邀请党员参加活动",
    "event.answer": "回复活动邀请", "event.attendance": "登记活动出席",
    "setup.run": "系统初始化", "org.create": "新建组织", "org.update": "修改组织",
    "org.close": "撤销组织", "org.move_members": "批量转移党员", "member.move": "转移党员",
    "member.join_mobile_org": "参加流动党组织", "member.leave_mobile_org": "退出流动党组织",
    "roster.upload": "上传花名册", "roster.remap": "指定花名册的列", "roster.confirm": "确认导入花名册",
    "roster.cancel": "放弃导入花名册", "roster.resume": "继续导入花名册", "roster.done": "花名册导入完成",
    "roster.errors_download": "下载导入出错行",
    "export.members": "导出党员名单", "export.care_cases": "导出关怀事件",
    "export.points_member": "导出个人积分明细", "export.points_village": "导出村积分台账",
    "export.ranking": "导出积分排名", "export.certificates": "导出证件名单",
}  # fmt: skip
OUTCOME_LABELS = {
    "ok": "成功", "bad_password": "密码错误", "unknown_user": "用户名不存在",
    "locked": "账户锁定中", "locked_now": "失败过多，已锁定", "disabled": "账户已停用",
    "password_ok": "密码正确，待验证码", "bad_code": "验证码错误",
    "403": "无权限", "404": "不在范围内或不存在",
}  # fmt: skip
FIELD_LABELS = {
    "name": "姓名", "ethnicity": "民族", "id_number": "身份证号", "phone": "手机",
    "join_date": "入党日期", "membership": "党员类别", "out_since": "外出时间",
    "dest_province": "务工省份", "dest_city": "务工城市", "dest_address": "现住址",
    "employer": "工作单位", "trade": "行业", "has_certificate": "持证",
    "family_contact_name": "家中联系人", "family_contact_relation": "关系",
    "family_contact_phone": "家中联系人电话", "gender": "性别", "birth_date": "出生日期",
    "village_id": "村党支部", "liaison_id": "联络人", "status": "状态",
    "last_verified_on": "最近核实", "last_contact_on": "最近联系", "visited_on": "登记日期",
    "items": "核实项目", "whereabouts_confirmed": "去向已核实", "member_id": "党员编号",
    "channel": "联系方式", "username": "用户名", "display_name": "显示名", "role": "角色",
    "org_unit_id": "所属组织", "active": "启用", "count": "人数", "member_ids": "党员编号",
    "role_label": "角色", "second_factor": "第二因素", "path": "地址",
    "points": "积分", "reason": "事由", "rule": "积分规则", "serial": "小票号", "item": "项目",
    "quantity": "数量", "entry_id": "账目号", "reverses": "冲正账目", "years": "有效期（年）",
    "year": "年度", "members": "人数", "price": "所需积分", "stock": "库存", "kind": "类别",
    "quarter": "季度", "township": "乡镇", "amendments": "更正人数", "capacity": "名额",
    "on_date": "日期", "publication_id": "公示", "redemption_id": "兑换",
    "contact_name": "联系人", "contact_title": "职务", "contact_mobile": "联系人手机",
    "contact_office": "办公电话", "publish_phone": "公布电话", "mobile_org_id": "流动党组织",
    "close_reason": "撤销原因", "closed_at": "撤销时间", "target_id": "转入组织",
    "location": "所在地", "host_org": "依托单位", "code": "代码", "township_id": "乡镇",
    "from_unit_id": "原组织", "rows": "行数", "full_id": "含完整身份证号", "filters": "筛选条件",
    "created": "新增", "updated": "更新", "unchanged": "未变", "refused": "出错",
    "source": "来源", "denials": "拒绝访问汇总", "visits": "走访记录",
}  # fmt: skip
_VALUE_LABELS = {True: "是", False: "否", None: "（空）", "full": "正式党员",
                 "probationary": "预备党员", "active": "在册", "roster": "花名册导入"}  # fmt: skip


def _shown(value) -> str:
    if isinstance(value, bool) or value is None:
        return _VALUE_LABELS[value]
    if isinstance(value, str):
        return ROLE_LABELS.get(value) or _VALUE_LABELS.get(value, value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value[:20]) + ("…" if len(value) > 20 else "")
    return str(value)


def describe(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(field, before, after) in words, for display."""
    before = json.loads(entry.before) if entry.before else {}
    after = json.loads(entry.after) if entry.after else {}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        (FIELD_LABELS.get(k, k), _shown(before.get(k)) if k in before else "", _shown(after.get(k)))
        for k in keys
    ]


def list_users(*, q: str = "", role: str = "") -> list[User]:
    stmt = select(User).order_by(User.role, User.username)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.username.like(like), User.display_name.like(like)))
    if role:
        stmt = stmt.where(User.role == role)
    return list(db.session.scalars(stmt.limit(500)))
