"""Resident ID (GB 11643), mainland mobile numbers, masking, month arithmetic."""

from datetime import date

import pytest

from baojing.dates import months_before
from baojing.validators import (
    InvalidValue,
    id_check_char,
    id_gender,
    mask_id,
    mask_name,
    mask_phone,
    normalize_mobile,
    normalize_phone,
    normalize_resident_id,
)

TODAY = date(2026, 11, 28)


def test_domain_example_validates():
    assert normalize_resident_id("11010519491231002X", TODAY) == "11010519491231002X"


def test_lower_case_x_is_stored_upper():
    assert normalize_resident_id(" 11010519491231002x ", TODAY) == "11010519491231002X"


def test_check_character_matches_the_standard():
    # Weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, sum mod 11 into "10X98765432".
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("43312519850618001") in "0123456789X"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "请填写"),
        ("4331251985061800", "18 位"),
        ("4331251985061800123", "18 位"),
        ("43312519850618A01X", "前 17 位"),
        ("110105194912310021", "校验位"),
        ("110105194902300020", "出生日期无效"),  # 30 February
        ("433125203001010010", "未来"),
    ],
)
def test_bad_ids_are_refused_with_a_reason(raw, message):
    if len(raw) == 18 and raw[:17].isdigit() and message != "校验位":
        raw = raw[:17] + id_check_char(raw[:17])  # only the named fault, not the checksum
    with pytest.raises(InvalidValue, match=message):
        normalize_resident_id(raw, TODAY)


def test_gender_comes_from_the_sequence_digit():
    assert id_gender("11010519491231002X") == "女"
    assert id_gender("110105194912310011") == "男"


@pytest.mark.parametrize(
    "raw", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "199 0000 0000"]
)
def test_mobile_numbers_are_normalised(raw):
    assert len(normalize_mobile(raw)) == 11


@pytest.mark.parametrize(
    "raw", ["", "12800138000", "1380013800", "138001380001", "abc", "+1 2025550123"]
)
def test_bad_mobile_numbers_are_refused(raw):
    with pytest.raises(InvalidValue):
        normalize_mobile(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("138 0013 8000", "13800138000"), (" 0743-872 1234", "0743-8721234"),
     ("(010) 12345678", "01012345678"), ("０７４３－８７２１２３４", "0743-8721234")],
)  # fmt: skip
def test_a_phone_is_a_mobile_or_an_office_line_with_its_area_code(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "0571-8888", "12345678901", "8721234", "电话 123"])
def test_other_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidValue, match="固定电话"):
        normalize_phone(raw)


def test_masks_hide_the_middle():
    assert mask_id("433125198506180019") == "433125********0019"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_name("张三明") == "张*明"
    assert mask_name("李四") == "李*"
    assert mask_name("欧阳小明") == "欧**明"


def test_months_before_clamps_to_month_end():
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 12) == date(2025, 1, 15)


def test_full_width_digits_are_normalised():
    full = "１１０１０５１９４９１２３１００２Ｘ"
    assert normalize_resident_id(full, TODAY) == "11010519491231002X"
    assert normalize_mobile("１３８００１３８０００") == "13800138000"


def test_other_unicode_digits_are_refused_not_crashed():
    with pytest.raises(InvalidValue):
        normalize_resident_id("4331251985061800²X", TODAY)
    with pytest.raises(InvalidValue):
        normalize_resident_id("٤٣٣١٢٥١٩٨٥٠٦١٨٠٠١X", TODAY)  # Arabic-Indic digits
