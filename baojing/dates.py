"""Calendar helpers: months back from a date, and local 'today' in Asia/Shanghai."""

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    """Today in China, whatever the server's own timezone."""
    return datetime.now(SHANGHAI).date()


def months_before(day: date, months: int) -> date:
    """The same day-of-month `months` earlier, clamped to the month's last day."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def quarter_of(day: date) -> str:
    """The quarter a day falls in, as 2026Q4 (caps and the 比积分 ranking count by it)."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
