import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minqing.regions.codes import (
    is_code,
    level_of,
    pad,
    parent_of,
    prefix_of,
    prefix_upper,
    short_name,
)

digits = st.text(alphabet="0123456789", min_size=0, max_size=12)
prefixes = st.text(alphabet="0123456789", min_size=1, max_size=12)
codes = st.text(alphabet="0123456789", min_size=12, max_size=12)


def test_pad_fills_a_prefix_to_twelve_digits():
    assert pad("130681") == "130681000000"
    assert pad("130681107228") == "130681107228"


@pytest.mark.parametrize(
    ("code", "level", "prefix", "parent"),
    [
        ("130000000000", 1, "13", None),
        ("130600000000", 2, "1306", "130000000000"),
        ("130681000000", 3, "130681", "130600000000"),
        ("130681107000", 4, "130681107", "130681000000"),
        ("130681107228", 5, "130681107228", "130681107000"),
        # Communities under a street office have codes ending in 0xx: still villages.
        ("130681001001", 5, "130681001001", "130681001000"),
    ],
)
def test_level_prefix_and_parent_are_read_from_the_code(code, level, prefix, parent):
    assert level_of(code) == level
    assert prefix_of(code) == prefix
    assert parent_of(code) == parent


def test_prefix_of_can_cut_a_code_at_a_higher_level():
    assert prefix_of("130681107228", 4) == "130681107"
    assert prefix_of("130681107228", 3) == "130681"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("130681107228", True), ("13068110722", False), ("13068110722X", False), ("", False)],
)
def test_is_code_accepts_only_twelve_digits(value, expected):
    assert is_code(value) is expected


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("万全庄村村民委员会", "万全庄村"),
        ("多福巷社区居委会", "多福巷社区"),
        ("文兴街社区居民委员会", "文兴街社区"),
        ("万全庄村村委会", "万全庄村"),
        ("新兴里居委会", "新兴里"),
        ("高新技术产业开发区管理委员会", "高新技术产业开发区管委会"),
        ("刁窝镇", "刁窝镇"),
        # A bare suffix is a name of its own, not an empty one.
        ("村民委员会", "村民委员会"),
    ],
)
def test_short_name_drops_the_committee_suffix(name, short):
    assert short_name(name) == short


@given(prefix=prefixes, suffix=digits)
def test_every_extension_of_a_prefix_lies_below_its_upper_bound(prefix, suffix):
    code = prefix + suffix
    assert prefix <= code < prefix_upper(prefix)


@given(prefix=prefixes, code=codes)
def test_a_code_outside_the_prefix_lies_outside_the_range(prefix, code):
    assume(not code.startswith(prefix))
    assert not (prefix <= code < prefix_upper(prefix))


@given(code=codes)
def test_a_code_is_its_padded_prefix(code):
    assert pad(prefix_of(code)) == code
    parent = parent_of(code)
    if parent is not None:
        assert level_of(parent) < level_of(code)
        assert code.startswith(prefix_of(parent))
