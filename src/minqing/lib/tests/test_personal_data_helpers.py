import datetime
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minqing.lib.crypto import decrypt, encrypt, key_id, keyed_hash, keyring
from minqing.lib.idcard import InvalidIdNumber, make_id_number, parse_id_number
from minqing.lib.masking import mask_id_number, mask_phone
from minqing.lib.phones import InvalidPhone, normalize_phone
from minqing.lib.pinyin import initials

TODAY = datetime.date(2026, 11, 22)


def test_a_valid_id_number_gives_its_birth_date_and_sex():
    parsed = parse_id_number("11010519491231002X", today=TODAY)
    assert parsed.birth_date == datetime.date(1949, 12, 31)
    assert parsed.sex == "F"
    assert parsed.tail == "002X"


def test_a_lower_case_x_and_spaces_are_accepted():
    assert parse_id_number(" 110105 19491231002x ", today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1101051949", "身份证号应为18位"),
        ("11010519491231002Y", "含有非法字符"),
        ("110105194913310029", "出生日期 19491331 不存在"),
        ("110105203012310023", "不可能"),
        ("110105194912310021", "校验位错误：末位应为 X"),
    ],
)
def test_a_bad_id_number_says_what_is_wrong(raw, message):
    with pytest.raises(InvalidIdNumber, match=message):
        parse_id_number(raw, today=TODAY)


@given(
    st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
)
def test_generated_id_numbers_are_valid_and_keep_their_birth_date(birth, sequence):
    number = make_id_number("130681", birth, sequence)
    assert parse_id_number(number, today=TODAY).birth_date == birth


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("13812345678.0", "13812345678"),
        ("0312-1234567", "03121234567"),
    ],
)
def test_phones_are_normalised(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "1381234567", "abc", "+1 202 555 0100"])
def test_a_bad_phone_is_refused_in_chinese(raw):
    with pytest.raises(InvalidPhone, match="联系电话"):
        normalize_phone(raw)


def test_masks_keep_what_a_clerk_needs_to_recognise_the_number():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("") == mask_phone("") == ""


@pytest.mark.parametrize(
    ("name", "expected"),
    [("张三", "zs"), ("欧阳建国", "oyjg"), ("单田芳", "stf"), ("曾国藩", "zgf")],
)
def test_pinyin_initials(name, expected):
    assert initials(name) == expected


def test_encryption_round_trips_and_never_repeats_a_ciphertext():
    first, second = encrypt("11010519491231002X"), encrypt("11010519491231002X")
    assert first != second
    assert b"11010519491231002X" not in first
    assert decrypt(first) == decrypt(second) == "11010519491231002X"
    assert key_id(first) == keyring().current


def test_keyed_hashes_differ_by_purpose_and_hide_the_value():
    assert keyed_hash("5678", "id-tail") != keyed_hash("5678", "phone-tail")
    assert keyed_hash("5678", "id-tail") == keyed_hash("5678", "id-tail")
    assert "5678" not in keyed_hash("5678", "id-tail")


@given(st.text(max_size=40), st.sampled_from(["id", "id-tail", "phone", "phone-tail"]))
def test_a_keyed_hash_is_the_hmac_sha256_of_purpose_and_text(text, purpose):
    # keyed_hash copies a keyed HMAC for speed: it must give what a fresh HMAC gives, or
    # every stored hash would stop matching.
    fresh = hmac.digest(keyring().hash_key, f"{purpose}:{text}".encode(), "sha256").hex()[:32]
    assert keyed_hash(text, purpose) == fresh
