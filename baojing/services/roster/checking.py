"""Checking roster rows against the rules, the org tree and the registry.

The same checks run for the preview and again, batch by batch, when the rows go in:
whatever changed in between (another import, a member registered by hand) is seen.
"""

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.org import COUNTY, TOWNSHIP, VILLAGE, OrgUnit
from baojing.services.roster import fields
from baojing.validators import (
    InvalidValue,
    id_birth_date,
    id_gender,
    normalize_resident_id,
)

NEW, CHANGED, UNCHANGED, REFUSED = "new", "changed", "unchanged", "refused"
# Registry fields an import may set, with the label a diff shows them under.
COMPARED = {
    "name": "姓名", "ethnicity": "民族", "phone": "手机号码", "join_date": "入党时间",
    "membership": "党员类别", "out_since": "外出时间", "dest_province": "务工省份",
    "dest_city": "务工城市", "dest_address": "现住址", "employer": "务工单位", "trade": "从事行业",
    "family_contact_name": "联系人", "family_contact_relation": "与本人关系",
    "family_contact_phone": "联系人电话", "village_id": "所在党支部",
}  # fmt: skip
_BRANCH_SUFFIXES = ("党总支部", "党总支", "党支部", "支部委员会", "支部")


@dataclass
class Refusal:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class RowCheck:
    row: int  # the sheet's own row number, as the person sees it in Excel
    cells: list
    data: dict = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    outcome: str = NEW
    member_id: int | None = None
    township_id: int | None = None
    village_id: int | None = None
    new_village: str = ""  # a village branch the org tree does not have yet
    diff: dict = field(default_factory=dict)  # field → (registered, in the file)

    def refuse(self, column: str, value, reason: str) -> None:
        self.refusals.append(Refusal(self.row, column, fields.text(value)[:60], reason))
        self.outcome = REFUSED


class OrgIndex:
    """The open townships and villages, loaded once, to put each row in its branch."""

    def __init__(self):
        units = db.session.execute(
            select(OrgUnit.id, OrgUnit.kind, OrgUnit.name, OrgUnit.township_id).where(
                OrgUnit.kind.in_((COUNTY, TOWNSHIP, VILLAGE)), OrgUnit.closed_at.is_(None)
            )
        ).all()
        self.county = next((u.name for u in units if u.kind == COUNTY), "")
        self.townships = {u.name: u.id for u in units if u.kind == TOWNSHIP}
        self.township_names = {tid: name for name, tid in self.townships.items()}
        self.village_names = {u.id: u.name for u in units if u.kind == VILLAGE}
        self.by_name: dict[str, list[tuple[int, int]]] = {}
        for u in units:
            if u.kind == VILLAGE:
                self.by_name.setdefault(u.name, []).append((u.township_id, u.id))

    @staticmethod
    def township_names_now() -> dict[int, str]:
        return dict(
            db.session.execute(
                select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == TOWNSHIP)
            ).all()
        )

    @staticmethod
    def village_names_now() -> dict[int, str]:
        return dict(
            db.session.execute(
                select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == VILLAGE)
            ).all()
        )

    def township_of(self, text: str) -> int | None:
        text = text.removeprefix(self.county).removeprefix("保靖县")
        for name in (text, text + "镇", text + "乡"):
            if name in self.townships:
                return self.townships[name]
        return None

    def village_name(self, text: str) -> tuple[str, str]:
        """(township named in front, village): 迁陵镇踏梯村党支部 → (迁陵镇, 踏梯村)."""
        text = re.sub(r"\s+", "", text).removeprefix(self.county).removeprefix("保靖县")
        for suffix in _BRANCH_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
        for name in sorted(self.townships, key=len, reverse=True):
            if text.startswith(name) and len(text) > len(name):
                return name, text[len(name) :]
        return "", text

    def find_village(self, township_id: int | None, name: str) -> list[tuple[int, int]]:
        """(township_id, village_id) pairs a village name may mean: 踏梯 finds 踏梯村."""
        spellings = [name] if name.endswith(("村", "社区", "居委会")) else [name, name + "村"]
        found = []
        for spelling in spellings:
            for tid, vid in self.by_name.get(spelling, []):
                if township_id is None or tid == township_id:
                    found.append((tid, vid))
        return found


def parse(check: RowCheck, mapping: dict[int, str], today: date) -> None:
    """Turn the row's cells into registry values; every refusal names its column."""
    cell = {name: check.cells[col] for col, name in mapping.items() if col < len(check.cells)}
    label = {name: fields.BY_NAME[name].label for name in cell}
    data = check.data

    def take(name, parse_value):
        if name not in cell:
            return None
        try:
            return parse_value(cell[name])
        except InvalidValue as exc:
            check.refuse(label[name], cell[name], str(exc))
            return None

    name = take("name", lambda c: fields.limited(c, 40, "姓名"))
    if name == "":
        check.refuse("姓名", "", "姓名为空")
    elif name:
        data["name"] = name
    id_text = take("id_number", fields.resident_id_text)
    if id_text == "":
        check.refuse("身份证号", "", "身份证号码为空")
    elif id_text:
        try:
            data["id_number"] = normalize_resident_id(id_text, today)
        except InvalidValue as exc:
            check.refuse("身份证号", id_text, str(exc))
    phone = take("phone", fields.phone)
    if phone:
        data["phone"] = phone
    join = take("join_date", lambda c: fields.a_date(c, "入党时间"))
    if "join_date" in cell and join is None and not _refused(check, "入党时间"):
        check.refuse("入党时间", "", "入党时间为空")
    elif join:
        data["join_date"] = join
    for name, parse_value in (
        ("ethnicity", fields.ethnicity), ("membership", fields.membership),
        ("employer", lambda c: fields.limited(c, 60, "务工单位")), ("trade", fields.trade),
        ("family_contact_name", lambda c: fields.limited(c, 40, "联系人")),
        ("family_contact_relation", fields.relation),
        ("family_contact_phone", lambda c: fields.phone(c, required=False)),
        ("out_since", lambda c: fields.a_date(c, "外出时间")),
    ):  # fmt: skip
        value = take(name, parse_value)
        if value not in (None, ""):
            data[name] = value
    place = take("destination", fields.destination)
    if place:
        for key, value in zip(("dest_province", "dest_city", "dest_address"), place, strict=True):
            if value:
                data[key] = value
    _check_dates(check, cell, today)


def _refused(check: RowCheck, column: str) -> bool:
    return any(r.column == column for r in check.refusals)


def _check_dates(check: RowCheck, cell: dict, today: date) -> None:
    """What the ID number says against the other columns, and no date in the future."""
    data = check.data
    id_number = data.get("id_number")
    birth = id_birth_date(id_number) if id_number else None
    if birth and "gender" in cell:
        try:
            given = fields.gender(cell["gender"])
        except InvalidValue as exc:
            check.refuse("性别", cell["gender"], str(exc))
        else:
            if given and given != id_gender(id_number):
                check.refuse("性别", cell["gender"], "性别与身份证号码不符，请核对身份证号码")
    if birth and "birth_date" in cell:
        try:
            given = fields.a_date(cell["birth_date"], "出生日期")
        except InvalidValue as exc:
            check.refuse("出生日期", cell["birth_date"], str(exc))
        else:
            if given and (given.year, given.month) != (birth.year, birth.month):
                check.refuse(
                    "出生日期", cell["birth_date"], "出生日期与身份证号码不符，请核对身份证号码"
                )
    join = data.get("join_date")
    if join and join > today:
        check.refuse("入党时间", cell.get("join_date"), "入党时间不能晚于今天")
    elif (
        join
        and birth
        and (join.year - birth.year, join.month, join.day)
        < (
            18,
            birth.month,
            birth.day,
        )
    ):
        check.refuse("入党时间", cell.get("join_date"), "入党时间应在年满 18 周岁之后")
    out = data.get("out_since")
    if out and out > today:
        check.refuse("外出时间", cell.get("out_since"), "外出时间不能晚于今天")


def place(check: RowCheck, mapping: dict[int, str], org: OrgIndex, scope_township: int | None):
    """Put the row in its township and village branch, within the importer's scope."""
    by_field = {name: check.cells[col] for col, name in mapping.items() if col < len(check.cells)}
    township_text = fields.text(by_field.get("township"))
    village_text = fields.text(by_field.get("village"))
    if not village_text:
        check.refuse("所在党支部", "", "所在党支部为空")
        return
    named_township, village = org.village_name(village_text)
    township_id = None
    if township_text:
        township_id = org.township_of(township_text)
        if township_id is None:
            check.refuse("乡镇", township_text, f"乡镇“{township_text}”不在保靖县的乡镇名单中")
            return
    if named_township:
        from_village = org.townships[named_township]
        if township_id is not None and township_id != from_village:
            check.refuse("所在党支部", village_text, "所在党支部与“乡镇”一列不是同一个乡镇")
            return
        township_id = from_village
    if township_id is None and scope_township is not None:
        township_id = scope_township
    if scope_township is not None and township_id != scope_township:
        check.refuse("乡镇", township_text or village_text, "不在您管辖的乡镇，不能导入")
        return
    found = org.find_village(township_id, village)
    if len(found) > 1:
        check.refuse("所在党支部", village_text, f"多个乡镇都有“{village}”：请在表中加一列“乡镇”")
        return
    if found:
        check.township_id, check.village_id = found[0]
        return
    if township_id is None:
        check.refuse(
            "所在党支部", village_text,
            f"组织架构中没有“{village}”：请在表中加一列“乡镇”，以便新建这个村党支部",
        )  # fmt: skip
        return
    check.township_id, check.new_village = township_id, village


def compare(checks: list[RowCheck], scope_township: int | None) -> None:
    """Rows against the registry: new, unchanged, changed (with the diff) or refused."""
    numbers = [c.data["id_number"] for c in checks if c.outcome != REFUSED]
    registered = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        for member in db.session.execute(
            select(Member.id, Member.status, Member.township_id, *_compared_columns()).where(
                Member.id_number.in_(chunk)
            )
        ):
            registered[member.id_number] = member
    for check in checks:
        if check.outcome == REFUSED:
            continue
        member = registered.get(check.data["id_number"])
        if member is None:
            check.outcome = NEW
            continue
        check.member_id = member.id
        if scope_township is not None and member.township_id != scope_township:
            check.refuse("身份证号", "", "该党员已登记在您管辖范围以外的乡镇，请与县委组织部联系")
        elif member.status != ACTIVE:
            check.refuse("身份证号", "", "该党员已转出组织关系，不再导入")
        else:
            check.diff = _diff(member, check)
            check.outcome = CHANGED if check.diff else UNCHANGED


def _compared_columns():
    return [Member.id_number, *(getattr(Member, name) for name in COMPARED)]


def _diff(member, check: RowCheck) -> dict:
    """Fields the file says otherwise; a blank cell never clears what is registered, and a
    month (入党时间 2010.07) agrees with any day of that month."""
    out = {}
    for name in COMPARED:
        new = check.village_id if name == "village_id" else check.data.get(name)
        if new is None or new == "" or (name == "village_id" and check.new_village):
            continue
        old = getattr(member, name)
        if isinstance(new, fields.MonthOnly) and old and (old.year, old.month) == new.month_of:
            continue
        if old != new:
            out[name] = (old, new)
    if check.new_village:
        out["village_id"] = (member.village_id, check.new_village)
    return out


def parse_rows(
    rows: list[tuple[int, list]], mapping: dict[int, str], today: date, seen: dict[str, int]
) -> list[RowCheck]:
    """Each row's cells as registry values, and repeats of an ID number within the file;
    no database. `seen` (ID number → first row) carries across batches: rebuilt by
    parsing the rows before, a resumed import refuses exactly what a straight one would."""
    checks = []
    keys = [col for col, name in mapping.items() if name in ("name", "id_number")]
    for number, cells in rows:
        if all(fields.text(cells[col]) == "" for col in keys if col < len(cells)):
            continue  # neither name nor ID: a note or a subtotal under the table, not a member
        check = RowCheck(number, cells)
        parse(check, mapping, today)
        if check.outcome != REFUSED:
            first = seen.get(check.data["id_number"])
            if first is not None:
                check.refuse("身份证号", "", f"与第 {first} 行的身份证号码重复")
            else:
                seen[check.data["id_number"]] = number
        checks.append(check)
    return checks


def settle(
    checks: list[RowCheck], mapping: dict[int, str], org: OrgIndex, scope_township: int | None
) -> None:
    """Parsed rows into their branches and against the registry (reads the database)."""
    for check in checks:
        place(check, mapping, org, scope_township)
    compare(checks, scope_township)


def check_rows(
    rows: list[tuple[int, list]],
    mapping: dict[int, str],
    org: OrgIndex,
    scope_township: int | None,
    today: date,
) -> list[RowCheck]:
    """Every row of a sheet checked, as the preview shows them."""
    checks = parse_rows(rows, mapping, today, {})
    settle(checks, mapping, org, scope_township)
    return checks
