"""What a roster's columns mean, and how one cell becomes a registry value.

County rosters are kept by hand in Excel or WPS: the same heading is spelled a dozen
ways, dates are typed as 2010.07, 2010年7月 or real dates, and phone numbers come with
full-width digits. Each parser here takes one cell and returns the value to store or
raises InvalidValue with the message the preview shows next to that cell.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from baojing.models.members import ETHNICITIES, LOCAL_ETHNICITIES, PROVINCES, RELATIONS, TRADES
from baojing.validators import InvalidValue, normalize_mobile


class MonthOnly(date):
    """A date written to the month only (2010.07): stored as its 1st, compared by month."""

    @property
    def month_of(self) -> tuple[int, int]:
        return (self.year, self.month)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    headings: tuple[str, ...]
    required: bool = False


# In matching order: a heading goes to the first field that names it exactly.
FIELDS = (
    Field("name", "姓名", ("姓名", "党员姓名", "名字"), required=True),
    Field("id_number", "身份证号", ("身份证号", "身份证号码", "公民身份号码", "身份证", "身份证件号码"),
          required=True),
    Field("phone", "手机号码", ("手机号码", "手机号", "手机", "本人手机", "本人电话", "联系电话", "电话",
                               "联系方式"), required=True),
    Field("join_date", "入党时间", ("入党时间", "入党日期", "入党年月"), required=True),
    Field("village", "所在党支部", ("所在党支部", "党支部", "所在支部", "支部", "所在村", "村", "村别",
                                   "所在村党支部", "党组织", "所在党组织", "村（社区）", "村(社区)"),
          required=True),
    Field("township", "乡镇", ("乡镇", "所在乡镇", "乡（镇）", "乡(镇)", "乡镇名称", "所属乡镇")),
    Field("gender", "性别", ("性别",)),
    Field("ethnicity", "民族", ("民族",)),
    Field("birth_date", "出生日期", ("出生日期", "出生年月", "出生时间", "出生年月日")),
    Field("membership", "党员类别", ("党员类别", "人员类别", "党员类型", "正式/预备", "党籍")),
    Field("out_since", "外出时间", ("外出时间", "外出日期", "外出年月", "外出务工时间")),
    Field("destination", "外出地点", ("外出地点", "外出地址", "外出务工地点", "务工地点", "流入地",
                                     "务工地", "外出去向", "去向", "现居住地", "现住址")),
    Field("employer", "务工单位", ("务工单位", "工作单位", "所在单位", "务工企业", "单位")),
    Field("trade", "从事行业", ("从事行业", "行业", "职业", "从事职业", "工种")),
    Field("family_contact_name", "联系人", ("联系人", "家庭联系人", "家属联系人", "家中联系人",
                                           "紧急联系人", "联系人姓名")),
    Field("family_contact_relation", "与本人关系", ("与本人关系", "联系人关系", "关系", "与党员关系")),
    Field("family_contact_phone", "联系人电话", ("联系人电话", "家属电话", "家庭联系电话", "联系人手机",
                                               "家中联系人电话", "联系人联系电话")),
)  # fmt: skip
BY_NAME = {f.name: f for f in FIELDS}
REQUIRED = tuple(f.name for f in FIELDS if f.required)
# The column the error file adds; a fixed error file goes back in without a mapping step.
ERRORS_HEADING = "错误"
# Columns every roster has that the registry does not keep.
IGNORED_HEADINGS = {"序号", "编号", "备注", "说明", "No", "NO", "no", ERRORS_HEADING}


def normalize_heading(text) -> str:
    """姓 名 / （*）手机号码： / 乡（镇） → one spelling to compare."""
    value = unicodedata.normalize("NFKC", str(text or ""))
    value = re.sub(r"\s+", "", value).strip("*＊:：")
    return value.replace("(", "（").replace(")", "）")


_LOOKUP = {normalize_heading(h): f.name for f in FIELDS for h in f.headings}


def field_for_heading(text) -> str | None:
    """The field a heading names, or None."""
    return _LOOKUP.get(normalize_heading(text))


def is_ignored(text) -> bool:
    return normalize_heading(text) in IGNORED_HEADINGS


def guess_mapping(headings: list[str]) -> dict[int, str]:
    """{column: field} for the headings recognised, each field at most once (leftmost wins)."""
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for col, heading in enumerate(headings):
        field = field_for_heading(heading)
        if field and field not in taken:
            mapping[col] = field
            taken.add(field)
    return mapping


# --- cells ------------------------------------------------------------------------------


# What an export put in front of a cell so that a spreadsheet would not take it for a
# formula (exports.neutralise); a fixed error file comes back with it.
_NEUTRALISED = ("'=", "'+", "'-", "'@")


def text(cell) -> str:
    """A cell as trimmed text; Excel's 13800138000.0 back to 13800138000."""
    if cell is None:
        return ""
    if isinstance(cell, str) and cell.startswith(_NEUTRALISED):
        cell = cell[1:]
    if isinstance(cell, bool):
        return "是" if cell else "否"
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    if isinstance(cell, datetime):
        cell = cell.date()
    if isinstance(cell, date):
        return cell.isoformat()
    return unicodedata.normalize("NFKC", str(cell)).strip()


def limited(cell, limit: int, label: str) -> str:
    value = text(cell)
    if len(value) > limit:
        raise InvalidValue(f"{label}最多 {limit} 个字，这里有 {len(value)} 个")
    return value


def resident_id_text(cell) -> str:
    """The ID as typed. A number means Excel already dropped its last digits."""
    if isinstance(cell, float | int) and not isinstance(cell, bool):
        raise InvalidValue(
            "身份证号码被 Excel 存成了数字，后几位已经丢失：请把这一列设为“文本”后重新填写"
        )
    return text(cell)


def phone(cell, required: bool = True) -> str:
    value = text(cell)
    if not value:
        if required:
            raise InvalidValue("手机号码为空")
        return ""
    return normalize_mobile(value)


_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_PARTS = re.compile(r"(\d{4})\s*[年./\-]\s*(\d{1,2})(?:\s*[月./\-]\s*(\d{1,2})\s*日?)?\s*月?")


def a_date(cell, label: str) -> date | None:
    """A real date cell, or text such as 2010-07-01, 2010.7.1, 2010年7月, 201007, 20100701.

    Rosters often record only the month (入党时间 2010.07): that is the 1st. A number like
    2010.1 is refused: Excel has already turned 2010.10 into it, and October and
    January can no longer be told apart.
    """
    if cell is None or cell == "":
        return None
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, float | int) and not isinstance(cell, bool):
        number = float(cell)
        if 1900 <= number < 2100 and number.is_integer():
            raise InvalidValue(f"{label}只写了年份 {int(number)}：请写到月，如 {int(number)}.07")
        if 1900 <= number < 2100:
            year = int(number)
            digits = f"{number:.2f}".split(".")[1]
            if digits == "10":
                raise InvalidValue(
                    f"{label} {text(cell)} 不明确（{year} 年 1 月还是 10 月？）："
                    f"请写成 {year}-10 或 {year}-01"
                )
            month = int(digits[0]) if digits[1] == "0" else int(digits)  # 2010.2 is February
            return _month(year, month, label, cell)
        if number.is_integer() and 19000101 <= number <= 21001231:
            value = str(int(number))
            return _checked(int(value[:4]), int(value[4:6]), int(value[6:]), label, cell)
        if number.is_integer() and 190001 <= number <= 210012:
            value = str(int(number))
            return _month(int(value[:4]), int(value[4:]), label, cell)
        if 1 <= number < 80000:  # an Excel serial day number in a cell without a date format
            return _EXCEL_EPOCH + timedelta(days=int(number))
        raise InvalidValue(f"{label}“{text(cell)}”不是日期")
    value = text(cell)
    if re.fullmatch(r"\d{8}", value):
        return _checked(int(value[:4]), int(value[4:6]), int(value[6:]), label, value)
    if re.fullmatch(r"\d{6}", value):
        return _month(int(value[:4]), int(value[4:]), label, value)
    match = _DATE_PARTS.fullmatch(value)
    if not match:
        raise InvalidValue(f"{label}“{value}”不是日期，请写成 2010-07-01 或 2010.07")
    year, month, day = match.groups()
    if day is None:
        return _month(int(year), int(month), label, value)
    return _checked(int(year), int(month), int(day), label, value)


def _month(year: int, month: int, label: str, shown) -> date:
    day = _checked(year, month, 1, label, shown)
    return MonthOnly(day.year, day.month, 1)


def _checked(year: int, month: int, day: int, label: str, shown) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidValue(f"{label}“{text(shown)}”不是有效的日期") from None


def choice(cell, choices: tuple[str, ...], other: str = "") -> str:
    """A value onto the form's choices: 土家 → 土家族, 建筑 → 建筑业; anything else → other."""
    value = text(cell)
    if not value:
        return ""
    for option in choices:
        if value == option or option.startswith(value) or value.startswith(option):
            return option
    return other


def ethnicity(cell) -> str:
    """One of the 56 groups (土家 → 土家族, 土 → 土家族 before 土族), or refused: an official
    letter must never print a made-up "其他"."""
    value = choice(cell, (*LOCAL_ETHNICITIES, *ETHNICITIES))
    if text(cell) and not value:
        raise InvalidValue("不是 56 个民族之一，请写民族全称，如 土家族")
    return value


def trade(cell) -> str:
    return choice(cell, TRADES, other="其他")


def relation(cell) -> str:
    return choice(cell, RELATIONS, other="其他亲属")


def membership(cell) -> str:
    """full or probationary; blank stays blank (a new member is full by default)."""
    value = text(cell)
    if not value:
        return ""
    if value.startswith("正式"):
        return "full"
    if value.startswith("预备"):
        return "probationary"
    raise InvalidValue(f"党员类别“{value}”应为 正式党员 或 预备党员")


def gender(cell) -> str:
    value = text(cell)
    if value in ("男", "女"):
        return value
    if not value:
        return ""
    raise InvalidValue(f"性别“{value}”应为 男 或 女")


_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
# Where Baojing's members go most, for a destination written without its province.
_CITY_PROVINCE = {
    "宁波": "浙江省", "杭州": "浙江省", "温州": "浙江省", "绍兴": "浙江省", "金华": "浙江省",
    "义乌": "浙江省", "余姚": "浙江省", "慈溪": "浙江省", "台州": "浙江省", "嘉兴": "浙江省",
    "湖州": "浙江省", "深圳": "广东省", "东莞": "广东省", "广州": "广东省", "佛山": "广东省",
    "中山": "广东省", "惠州": "广东省", "珠海": "广东省", "江门": "广东省", "苏州": "江苏省",
    "无锡": "江苏省", "南京": "江苏省", "长沙": "湖南省", "吉首": "湖南省", "福州": "福建省",
    "厦门": "福建省", "泉州": "福建省",
}  # fmt: skip


def destination(cell) -> tuple[str, str, str]:
    """浙江省宁波市北仑区… → (浙江省, 宁波市, 北仑区…); 浙江宁波 → (浙江省, 宁波市, "")."""
    value = text(cell).replace(" ", "")
    if not value:
        return "", "", ""
    province, rest = "", value
    for name in (*_MUNICIPALITIES, *PROVINCES):
        short = name.removesuffix("省").removesuffix("市")
        short = re.sub(r"(壮族|回族|维吾尔)?自治区$|特别行政区$", "", short)
        if value.startswith(name):
            province, rest = name, value[len(name) :]
            break
        if short and value.startswith(short):
            province, rest = name, value[len(short) :]
            break
    if province in _MUNICIPALITIES:
        match = re.match(r"(.{1,6}?[区县])", rest)
        city = match.group(1) if match else ""
    else:
        match = re.match(r"(.{1,8}?(?:市|自治州|地区|盟))", rest)
        city = match.group(1) if match else ""
        if not city:
            known = next((c for c in _CITY_PROVINCE if rest.startswith(c)), "")
            if known:
                city = known + "市"
                rest = rest[len(known) :]
                province = province or _CITY_PROVINCE[known]
                return province, city, rest.removeprefix("市")[:120]
    return province, city[:30], rest[len(city) :][:120]
