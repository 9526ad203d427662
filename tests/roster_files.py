"""Roster spreadsheets as counties keep them, written by the tests: .xlsx and the old .xls.

A roster has a merged title row above its headings, a heading row, and one row per
member. Rows are dicts keyed by heading; a value may be a str, a number or a date.
"""

from datetime import date, datetime
from pathlib import Path

import xlsxwriter
import xlwt

from tests.factories import mobile, resident_id

HEADINGS = ["序号", "姓名", "性别", "民族", "身份证号", "手机号码", "乡镇", "所在党支部", "入党时间",
            "外出时间", "外出地点", "务工单位", "从事行业"]  # fmt: skip


def member_row(village: str, township: str = "迁陵镇", **kw) -> dict:
    """A valid row; keyword arguments override single cells by heading."""
    idn = resident_id(date(1984, 3, 9))
    row = {
        "姓名": "彭建国", "性别": "男", "民族": "土家族", "身份证号": idn, "手机号码": mobile(),
        "乡镇": township, "所在党支部": f"{village}党支部", "入党时间": date(2012, 7, 1),
        "外出时间": "2019.03", "外出地点": "浙江省宁波市北仑区", "务工单位": "宁波建工集团",
        "从事行业": "建筑",
    }  # fmt: skip
    row.update(kw)
    return row


def write_xlsx(path: Path, rows: list[dict], headings=HEADINGS, title="保靖县流动党员花名册",
               blank_after: int | None = None) -> Path:  # fmt: skip
    """An .xlsx with a merged title row, the headings, rows (a blank line after row N)."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("花名册")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.merge_range(0, 0, 0, len(headings) - 1, title)
    for col, heading in enumerate(headings):
        sheet.write_string(1, col, heading)
    line = 2
    for n, row in enumerate(rows, 1):
        for col, heading in enumerate(headings):
            value = n if heading == "序号" else row.get(heading, "")
            if isinstance(value, date | datetime):
                sheet.write_datetime(line, col, datetime(value.year, value.month, value.day), dates)
            elif isinstance(value, int | float):
                sheet.write_number(line, col, value)
            else:
                sheet.write_string(line, col, str(value))
        line += 1
        if blank_after == n:
            line += 1
    book.close()
    return path


def write_xls(
    path: Path, rows: list[dict], headings=HEADINGS, title="保靖县流动党员花名册"
) -> Path:
    """The same roster as the .xls (BIFF8) that WPS and older Excel save."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    sheet.write_merge(0, 0, 0, len(headings) - 1, title)
    for col, heading in enumerate(headings):
        sheet.write(1, col, heading)
    for line, row in enumerate(rows, 2):
        for col, heading in enumerate(headings):
            value = line - 1 if heading == "序号" else row.get(heading, "")
            if isinstance(value, date):
                sheet.write(line, col, value, dates)
            else:
                sheet.write(line, col, value)
    book.save(str(path))
    return path
