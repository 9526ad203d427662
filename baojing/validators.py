"""Identity formats and masking (DOMAIN.md "Identity formats", SECURITY.md items 15 and 32)."""

import re
import unicodedata
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# An office line with its area code: 0743-8721234, 010 12345678.
_LANDLINE = re.compile(r"0[0-9]{2,3}-?[0-9]{7,8}")
_ID = re.compile(r"[0-9]{17}[0-9X]")


class InvalidValue(ValueError):
    """A value a user typed that cannot be accepted; str() is the message to show."""


def id_check_char(first17: str) -> str:
    """GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_resident_id(raw: str, today: date | None = None) -> str:
    """Return the ID upper-cased and stripped, or raise InvalidValue with the reason."""
    # NFKC turns full-width digits (a Chinese keyboard's) into ASCII ones, so the same
    # ID can never be stored twice in two spellings.
    value = unicodedata.normalize("NFKC", raw or "").strip().replace(" ", "").upper()
    if not value:
        raise InvalidValue("请填写身份证号码")
    if len(value) != 18:
        raise InvalidValue(f"身份证号码应为 18 位，当前为 {len(value)} 位")
    if not _ID.fullmatch(value):
        raise InvalidValue("身份证号码前 17 位应为数字，最后一位为数字或 X")
    birth = id_birth_date(value)
    if birth is None:
        raise InvalidValue("身份证号码中的出生日期无效")
    if birth > (today or date.today()):
        raise InvalidValue("身份证号码中的出生日期在未来")
    if id_check_char(value[:17]) != value[17]:
        raise InvalidValue("身份证号码校验位不正确，请核对")
    return value


def id_birth_date(value: str) -> date | None:
    """Birth date encoded in an 18-character ID, or None if it is not a real date."""
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def id_gender(value: str) -> str:
    """男 for an odd sequence digit, 女 for even (GB 11643)."""
    return "男" if int(value[16]) % 2 else "女"


def normalize_mobile(raw: str) -> str:
    """Strip spaces, dashes and +86/0086; return 11 digits or raise InvalidValue."""
    value = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", raw or ""))
    if not value:
        raise InvalidValue("请填写手机号码")
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    if not _MOBILE.fullmatch(value):
        raise InvalidValue("手机号码应为以 13–19 开头的 11 位数字")
    return value


def normalize_phone(raw: str) -> str:
    """A mainland mobile (as normalize_mobile) or an office line with its area code.

    For contacts who may only have their office's fixed line (a receiving committee's
    handler). Returns 13800138000 or 0743-8721234; raises InvalidValue otherwise.
    """
    try:
        return normalize_mobile(raw)
    except InvalidValue:
        pass
    line = re.sub(r"[\s()]", "", unicodedata.normalize("NFKC", raw or ""))
    if not _LANDLINE.fullmatch(line):
        raise InvalidValue("请填写手机号码，或带区号的固定电话（如 0743-8721234）")
    return line


def mask_id(value: str | None) -> str:
    """433125********1234 — area code and last four only."""
    if not value:
        return ""
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """138****1234."""
    if not value:
        return ""
    return value[:3] + "****" + value[-4:]


def mask_name(value: str | None) -> str:
    """张*明, 张*, 欧阳**明 for public pages: the first and last character only."""
    if not value:
        return ""
    if len(value) == 1:
        return value  # nothing to hide that a star would not give away
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
