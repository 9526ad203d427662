"""Money as integer fen from the form to the page: parsed with Decimal, never float.

One parser for every amount a user types (care visits' 慰问金, enterprise loans), so
that "12.345", "NaN" or "1e5" get the same clear message everywhere.
"""

import re
from decimal import Decimal

FEN_PER_YUAN = 100
_NUMBER = re.compile(r"([+-]?)(\d+(?:\.\d*)?|\.\d+)")


def parse_yuan(text: str | None, *, max_yuan: int, allow_zero: bool = False) -> int:
    """'50000', '12.5', '1,200.00 元' as fen; ValueError carrying the message to show."""
    raw = (text or "").strip()
    for junk in (",", "，", " ", "\u3000"):
        raw = raw.replace(junk, "")
    raw = raw.removesuffix("元")
    if not raw:
        raise ValueError("请填写金额")
    match = _NUMBER.fullmatch(raw)
    if match is None:
        raise ValueError("请填写数字金额（单位：元），如 50000 或 12.50")
    value = Decimal(match.group(2))
    if match.group(1) == "-" and value != 0:
        raise ValueError("金额不能为负数")
    if value == 0 and not allow_zero:
        raise ValueError("金额必须大于 0")
    if value > max_yuan:
        raise ValueError(f"金额超过 {_in_words(max_yuan)}，请核对（单位是元，不是分）")
    fen = value * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise ValueError("金额最多精确到分（两位小数）")
    return int(fen)


def _in_words(whole_yuan: int) -> str:
    """A limit as people say it: 100000 → '10 万元', 1000000000 → '10 亿元'."""
    for unit, name in ((10**8, "亿元"), (10**4, "万元")):
        if whole_yuan >= unit and whole_yuan % unit == 0:
            return f"{whole_yuan // unit:,} {name}"
    return f"{whole_yuan:,} 元"


def yuan(fen: int | None) -> str:
    """Fen as yuan with separators and both decimals: 12000050 → '120,000.50'."""
    fen = fen or 0
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"


def wan(fen: int | None) -> str:
    """Fen as 万元, exactly (no rounding): 120000000000 → '12,000', 30 → '0.00003'."""
    text = format(Decimal(fen or 0).scaleb(-6), ",f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
