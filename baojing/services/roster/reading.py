"""Reading a roster spreadsheet: which file it is, where its headings are, its rows.

python-calamine reads .xlsx and the old .xls alike. It returns the stored value of each
cell: formulas are never evaluated and links never followed (SECURITY.md item 35).
"""

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine

from baojing.services.roster import fields

MAGIC = {b"PK\x03\x04": "xlsx", b"\xd0\xcf\x11\xe0": "xls"}
# The headings sit within the first rows, below a title such as 保靖县迁陵镇流动党员花名册.
HEADING_SCAN_ROWS = 15
# An .xlsx is a zip: what it unpacks to is bounded as well as the upload itself.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
# A roster has a score of columns. One stray cell far to the right would make every row
# that wide in memory, so a sheet wider than this is refused before it is read.
MAX_COLUMNS = 100


class UnreadableFile(Exception):
    """The file can't be used at all; str() is the message for the person who sent it."""


@dataclass
class Sheet:
    name: str
    headings: list[str]  # one per column, a two-row heading already combined
    rows: list[tuple[int, list]] = field(default_factory=list)  # (sheet row number, cells)
    blank_rows: int = 0
    # Other visible worksheets: one import reads one sheet, and the preview says which not.
    other_sheets: list[str] = field(default_factory=list)


def sniff(data: bytes) -> str:
    """xlsx or xls, by the file's first bytes (never by its name)."""
    kind = MAGIC.get(data[:4])
    if kind is None:
        raise UnreadableFile("不是 Excel 文件：请上传 .xlsx 或 .xls 格式的花名册")
    return kind


def read(path: Path, kind: str, max_rows: int) -> Sheet:
    """The worksheet that holds the roster, its headings and its non-blank rows."""
    if kind == "xlsx":
        _check_archive(path)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError as exc:
        raise UnreadableFile("文件设有密码：请取消密码后再上传") from exc
    except Exception as exc:  # noqa: BLE001 - calamine raises several kinds for a broken file
        raise UnreadableFile("文件已损坏或不是 Excel 花名册，无法读取") from exc
    with workbook:
        best, names = None, []
        for meta in workbook.sheets_metadata:
            if meta.visible != python_calamine.SheetVisibleEnum.Visible:
                continue
            names.append(meta.name)
            sheet = workbook.get_sheet_by_name(meta.name)
            if sheet.height > max_rows + HEADING_SCAN_ROWS:
                raise UnreadableFile(
                    f"工作表“{meta.name}”有 {sheet.height} 行，超过一次最多 {max_rows} 行："
                    "请分成几个文件上传"
                )
            if sheet.total_width > MAX_COLUMNS:
                raise UnreadableFile(
                    f"工作表“{meta.name}”有 {sheet.total_width} 列：请删去花名册右边多余的列后再上传"
                )
            cells = sheet.to_python(skip_empty_area=False)
            found = _headings(cells)
            if found and (best is None or found[0] > best[0]):
                best = (*found, meta.name, cells, sheet.merged_cell_ranges or [])
    if best is None:
        raise UnreadableFile(
            "没有找到表头：花名册应有一行列名，如 姓名、身份证号、手机号码、所在党支部、入党时间"
        )
    _score, _first, last, headings, name, cells, merged = best
    _fill_merged(cells, merged, below=last)
    sheet = Sheet(name=name, headings=headings, other_sheets=[n for n in names if n != name])
    width = len(headings)
    for index in range(last + 1, len(cells)):
        row = list(cells[index][:width]) + [""] * (width - len(cells[index]))
        if all(fields.text(cell) == "" for cell in row):
            sheet.blank_rows += 1
            continue
        sheet.rows.append((index + 1, row))
    return sheet


def _fill_merged(cells: list[list], merged: list, below: int) -> None:
    """A cell merged down over several members' rows (所在党支部 written once for a whole
    village) holds its value in its first cell only: give it to every row it covers."""
    for (top, left), (bottom, right) in merged:
        if top <= below or left != right or top >= len(cells) or left >= len(cells[top]):
            # The title and headings are read as they are; a note merged across a row
            # stays one cell, as a note.
            continue
        for row in range(top + 1, min(bottom, len(cells) - 1) + 1):
            if left < len(cells[row]):
                cells[row][left] = cells[top][left]


def _check_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise UnreadableFile("文件已损坏，无法读取：请用 Excel 或 WPS 重新保存后上传") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnreadableFile("文件解压后过大，无法读取：请只保留花名册工作表后重新上传")


def _headings(cells: list[list]) -> tuple[int, int, int, list[str]] | None:
    """(score, first row, last row, headings) of the best heading row, 0-based rows.

    A heading row names at least two known columns, one of them 姓名 or 身份证号. A
    heading split over two rows (外出情况 merged above 外出时间 | 外出地点; 姓名 merged
    down over both) is read as one: the lower cell where it names a column, the upper
    one otherwise. A merged cell's value sits in its first cell only, as in the file.
    """
    best = None
    for index, row in enumerate(cells[:HEADING_SCAN_ROWS]):
        known = {fields.field_for_heading(cell) for cell in row} - {None}
        if len(known) < 2 or not known & {"name", "id_number"}:
            continue
        headings = [fields.text(cell) for cell in row]
        last = index
        below = cells[index + 1] if index + 1 < len(cells) else []
        below_known = [
            col
            for col, cell in enumerate(below)
            if fields.field_for_heading(cell)
            and (col >= len(row) or not fields.field_for_heading(row[col]))
        ]
        if below_known:
            width = max(len(row), len(below))
            headings += [""] * (width - len(headings))
            for col in range(width):
                lower = fields.text(below[col]) if col < len(below) else ""
                if lower and (fields.field_for_heading(lower) or not headings[col]):
                    headings[col] = lower
            last = index + 1
        score = len({fields.field_for_heading(h) for h in headings} - {None})
        if best is None or score > best[0]:
            best = (score, index, last, headings)
    if best is None:
        return None
    score, first, last, headings = best
    while headings and not headings[-1]:
        headings.pop()  # trailing empty columns
    return score, first, last, headings
