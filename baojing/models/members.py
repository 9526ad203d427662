"""Mobile party members, their liaisons, registration visits and contacts."""

from datetime import date, datetime

from sqlalchemy import Computed, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.org import OrgUnit
from baojing.models.types import UTCDateTime, utcnow

# Baojing is mostly Tujia and Miao; the full list of 56 is not needed for a county form.
# The 56 groups of GB/T 3304 (民族名称罗马字母拼写法和代码), in the standard's order (code 01
# 汉族 … 56 基诺族). An official paper prints one of these: there is no "其他".
ETHNICITIES = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族",
    "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族",
    "普米族", "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族",
    "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
)  # fmt: skip
# Most of Baojing's members: first in the menu, and first when a short name is matched.
LOCAL_ETHNICITIES = ("土家族", "苗族", "汉族")
MEMBERSHIPS = {"full": "正式党员", "probationary": "预备党员"}
# The choices the member form offers (and the roster import maps onto).
PROVINCES = (
    "浙江省", "广东省", "湖南省", "江苏省", "上海市", "福建省", "湖北省", "广西壮族自治区",
    "贵州省", "重庆市", "四川省", "北京市", "天津市", "河北省", "山西省", "内蒙古自治区",
    "辽宁省", "吉林省", "黑龙江省", "安徽省", "江西省", "山东省", "河南省", "海南省",
    "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区",
    "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区", "台湾省",
)  # fmt: skip
TRADES = (
    "建筑业", "制造业", "批发零售", "交通运输", "住宿餐饮", "居民服务", "信息技术",
    "种植养殖", "个体经营", "其他",
)  # fmt: skip
RELATIONS = ("配偶", "父亲", "母亲", "子女", "兄弟姐妹", "其他亲属")

ACTIVE = "active"  # the other statuses (transferred …) come with the transfer letters

LIAISON_ROLES = ("支委委员", "青年党员")
VISIT_ITEMS = {
    "identity": "身份信息",
    "phone": "联系电话",
    "whereabouts": "外出去向",
    "employer": "工作单位",
    "family": "家庭联系人",
}
CONTACT_CHANNELS = ("电话", "微信", "上门", "见面", "其他")
# Who a 上门登记 met at the door. 流动登记 points are for the member's own check: met, or
# reached by phone or video from the family's home to confirm (MET_THEMSELF).
MET_WITH = ("本人", "本人电话或视频确认", "配偶", "父母", "子女", "其他亲属")
MET_THEMSELF = frozenset(MET_WITH[:2])


class BranchContact(db.Model):
    """A branch committee member or young member who can act as liaison (专人联络)."""

    __tablename__ = "branch_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(11))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # A unique index, not a constraint: adding one to an existing SQLite table needs
    # no table rebuild (which the members' foreign keys would refuse).
    request_id: Mapped[str | None] = mapped_column(String(40), unique=True, index=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))


class Member(db.Model):
    __tablename__ = "members"
    __table_args__ = (
        # The list: scope, active, ordered by name. Covering for the page's count(*).
        Index("ix_members_village_list", "village_id", "status", "name"),
        Index("ix_members_township_list", "township_id", "status", "name"),
        # The county-wide counter look-up by name prefix (the clerk's scope is everyone).
        Index("ix_members_status_name", "status", "name", "id"),
        Index("ix_members_id_tail", "id_tail"),
        Index("ix_members_phone", "phone"),
        # Searches within a village or a township (services.members.SEARCH_CONDITIONS):
        # an ID tail, a phone number's first digits, a name from its surname or from
        # its given name. Each one a range on an index, however large the county.
        Index("ix_members_village_tail", "village_id", "id_tail"),
        Index("ix_members_township_tail", "township_id", "id_tail"),
        Index("ix_members_village_phone_tail", "village_id", "phone_tail"),
        Index("ix_members_township_phone_tail", "township_id", "phone_tail"),
        Index("ix_members_phone_tail", "phone_tail"),
        Index("ix_members_village_phone", "village_id", "phone"),
        Index("ix_members_township_phone", "township_id", "phone"),
        Index("ix_members_village_given", "village_id", "status", "given_name"),
        Index("ix_members_township_given", "township_id", "status", "given_name"),
        Index("ix_members_status_given", "status", "given_name"),
        Index("ix_members_liaison", "liaison_id"),
        # A 流动党组织's leader lists the members who take part there.
        Index("ix_members_mobile_org", "mobile_org_id", "status", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    # Copied from the village so that a township's scope is one indexed comparison.
    township_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))

    # Identity
    name: Mapped[str] = mapped_column(String(40))
    # The name without its surname (向光明 → 光明), computed by the database, so that a
    # search by given name is a range on an index too. Names are two or three
    # characters; a two-character surname (欧阳) is found from its first character.
    given_name: Mapped[str | None] = mapped_column(String(40), Computed("substr(name, 2)"))
    gender: Mapped[str] = mapped_column(String(2))
    ethnicity: Mapped[str] = mapped_column(String(10))
    birth_date: Mapped[date]
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    # Last four characters of the ID: the counter and the list search by them.
    id_tail: Mapped[str] = mapped_column(String(4))
    phone: Mapped[str] = mapped_column(String(11))
    # 手机尾号: the last four digits, by which people name a phone number.
    phone_tail: Mapped[str | None] = mapped_column(String(4), Computed("substr(phone, 8)"))

    # Party data
    join_date: Mapped[date]
    membership: Mapped[str] = mapped_column(String(12), default="full")

    # Mobile status
    out_since: Mapped[date | None]
    dest_province: Mapped[str] = mapped_column(String(20), default="")
    dest_city: Mapped[str] = mapped_column(String(30), default="")
    dest_address: Mapped[str] = mapped_column(String(120), default="")
    employer: Mapped[str] = mapped_column(String(60), default="")
    trade: Mapped[str] = mapped_column(String(30), default="")
    has_certificate: Mapped[bool] = mapped_column(default=False)

    # Family at home
    family_contact_name: Mapped[str] = mapped_column(String(40), default="")
    family_contact_relation: Mapped[str] = mapped_column(String(10), default="")
    family_contact_phone: Mapped[str] = mapped_column(String(11), default="")

    liaison_id: Mapped[int | None] = mapped_column(ForeignKey("branch_contacts.id"))
    # The 流动党组织 at the destination the member also belongs to ("belong to one
    # organisation, take part in several", DOMAIN.md); the home branch stays village_id.
    mobile_org_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    last_verified_on: Mapped[date | None]
    last_contact_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(12), default=ACTIVE)

    version: Mapped[int] = mapped_column(default=1)
    # Idempotency key of the form that created the member: a double submit finds it.
    request_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    # SHA-256 of what that form submitted: the same key with other content is a 409.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    village: Mapped[OrgUnit] = relationship(foreign_keys=[village_id])
    mobile_org: Mapped[OrgUnit | None] = relationship(foreign_keys=[mobile_org_id])
    liaison: Mapped[BranchContact | None] = relationship()

    # Optimistic concurrency: every UPDATE checks and bumps the version.
    __mapper_args__ = {"version_id_col": version}


class LiaisonAssignment(db.Model):
    """History of who was a member's liaison, and when; the open row has ended_on NULL."""

    __tablename__ = "liaison_assignments"
    __table_args__ = (Index("ix_liaison_assignments_member", "member_id", "started_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    liaison_id: Mapped[int] = mapped_column(ForeignKey("branch_contacts.id"))
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(100), default="")

    liaison: Mapped[BranchContact] = relationship()


class RegistrationVisit(db.Model):
    """上门登记: a door-to-door check of a member's record."""

    __tablename__ = "registration_visits"
    __table_args__ = (Index("ix_registration_visits_member", "member_id", "visited_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    visited_on: Mapped[date]
    verified_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Who was met at the door: the member (home for the holidays) or family.
    met_with: Mapped[str] = mapped_column(String(40))
    # Comma-separated keys of VISIT_ITEMS that were checked.
    items_verified: Mapped[str] = mapped_column(String(100))
    whereabouts_confirmed: Mapped[bool]
    note: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    # SHA-256 of what that form submitted: the same key with other content is a 409.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A visit recorded by mistake is cancelled, not deleted: the points it earned are
    # reversed by a new ledger entry.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(String(100), default="", server_default="")

    verified_by = relationship("User", foreign_keys=[verified_by_id])


class ContactLog(db.Model):
    """A contact with a member (call, WeChat, visit) — what keeps the 失联 alert honest."""

    __tablename__ = "contact_logs"
    __table_args__ = (Index("ix_contact_logs_member", "member_id", "contacted_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    contacted_on: Mapped[date]
    channel: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(200), default="")
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    # SHA-256 of what that form submitted: the same key with other content is a 409.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    by_user = relationship("User")
