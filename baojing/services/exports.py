"""Lists as .xlsx downloads: the columns, a streaming writer that never writes a formula,
masking, and the audit row of every export (SECURITY.md items 17, 35, 36)."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import xlsxwriter

from baojing import audit
from baojing.dates import local_today
from baojing.extensions import db
from baojing.models.users import User
from baojing.scoping import REGISTRY_ROLES
from baojing.validators import mask_id, mask_phone

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Rows fetched from the database at a time: an export holds one chunk, whatever its size.
CHUNK_ROWS = 1000

# What a column holds. ID numbers and phones are masked unless the export asked for them in
# full and the user may have them; a date is written as an Excel date, not as text.
TEXT, NUMBER, DATE, ID_NUMBER, PHONE = "text", "number", "date", "id_number", "phone"

# Excel, WPS and LibreOffice read a cell starting with these as a formula (or its start).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    heading: str
    width: float = 12  # in Excel's character units; a CJK character takes about two
    kind: str = TEXT


@dataclass
class Export:
    """One download: what it is called, its columns, and its rows (an iterable, read once)."""

    name: str  # ASCII, for the file name: members → members-20261207.xlsx
    title: str  # the sheet's name and the Chinese file name: 流动党员 → 流动党员-20261207.xlsx
    columns: Sequence[Column]
    rows: Iterable[Sequence]

    def filenames(self, today: date | None = None) -> tuple[str, str]:
        """(ASCII file name, Chinese file name), both dated."""
        stamp = f"{today or local_today():%Y%m%d}"
        return f"{self.name}-{stamp}.xlsx", f"{self.title}-{stamp}.xlsx"


def stream(stmt, params: dict | None = None):
    """The rows of a select (made with yield_per=CHUNK_ROWS), read a chunk at a time.

    On the session's connection, as Core: the ORM session's own execute() buffers every
    row of a select over mapped columns before handing out the first (measured here:
    6,000 members took 1.8 MB more than 1,000).
    """
    return db.session.connection().execute(stmt, params or {})


def neutralise(text: str) -> str:
    """Text that a spreadsheet would take for a formula, made plain text with a leading '."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def sheet_name(title: str) -> str:
    """A title as Excel takes a worksheet name: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "Sheet1"


def may_include_full_ids(user: User) -> bool:
    """Full ID numbers and phones in an export: the registry roles (rows already in their
    scope), never the clerk, a 流动党组织's leader or a member (scoping.can_see_full_id)."""
    return user.role in REGISTRY_ROLES


def full_ids(user: User, asked: bool) -> bool:
    """Whether this export carries full numbers: asked for, and allowed."""
    return asked and may_include_full_ids(user)


def write(path: Path, export: Export, *, full: bool = False) -> int:
    """Write the export to path in constant memory; return the number of rows written.

    xlsxwriter's constant_memory mode flushes each row to disk once the next begins, so
    with rows streamed from the database nothing grows with the list. Every string goes
    through write_string after neutralise(): no cell can become a formula or a link.
    """
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(path.parent)})
    try:
        sheet = book.add_worksheet(sheet_name(export.title))
        heading = book.add_format({"bold": True, "bg_color": "#F3E5E5", "bottom": 1})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        for i, column in enumerate(export.columns):
            sheet.set_column(i, i, column.width)
            sheet.write_string(0, i, column.heading, heading)
        sheet.freeze_panes(1, 0)
        writers = [_cell_writer(sheet, column.kind, full, day) for column in export.columns]
        count = 0
        for count, row in enumerate(export.rows, start=1):
            for i, (put, value) in enumerate(zip(writers, row, strict=True)):
                if value is not None and value != "":
                    put(count, i, value)
        if count:
            sheet.autofilter(0, 0, count, len(export.columns) - 1)
    finally:
        book.close()
    return count


def _cell_writer(sheet, kind: str, full: bool, day_format):
    """How one column's values are written (sheet, kind and masking decided once)."""

    def text(row, col, value):
        sheet.write_string(row, col, neutralise(str(value)))

    if kind == NUMBER:
        return sheet.write_number
    if kind == DATE:
        return lambda row, col, value: sheet.write_datetime(row, col, value, day_format)
    mask = {ID_NUMBER: mask_id, PHONE: mask_phone}.get(kind)
    if mask is not None and not full:
        return lambda row, col, value: text(row, col, mask(value))
    return text


def record(
    action: str, *, rows: int, full: bool, filters: dict, entity_type: str = "",
    entity_id: int | None = None,
) -> None:  # fmt: skip
    """The export's audit row: which list, how many rows, whether full numbers were in it,
    and the names of the filters used, never their values (a search may be a name)."""
    used = sorted(name for name, value in filters.items() if value not in (None, "", False))
    audit.record_access(
        action, entity_type=entity_type, entity_id=entity_id,
        after={"rows": rows, "full_id": full, "filters": used},
    )  # fmt: skip
