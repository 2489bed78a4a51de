"""Pure helpers for 统计用区划代码: province 2 + city 2 + county 2 + township 3 + village 3."""

import re

# Digits that identify a region at each level (1 province … 5 village).
LEVEL_DIGITS = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}
DIGITS_LEVEL = {digits: level for level, digits in LEVEL_DIGITS.items()}
_CODE = re.compile(r"^\d{12}$")


def is_code(value: str) -> bool:
    return bool(_CODE.match(value or ""))


def pad(raw: str) -> str:
    """130681 -> 130681000000."""
    return raw.ljust(12, "0")


def level_of(code: str) -> int:
    """The level of a padded 12-digit code, read from its trailing zeros."""
    if code[9:] != "000":
        return 5
    if code[6:9] != "000":
        return 4
    if code[4:6] != "00":
        return 3
    if code[2:4] != "00":
        return 2
    return 1


def prefix_of(code: str, level: int | None = None) -> str:
    """The significant digits of a code: 130681107228 -> itself, 130681000000 -> 130681."""
    return code[: LEVEL_DIGITS[level or level_of(code)]]


def parent_of(code: str) -> str | None:
    level = level_of(code)
    if level == 1:
        return None
    return pad(code[: LEVEL_DIGITS[level - 1]])


def prefix_upper(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix``.

    ``code >= prefix AND code < prefix_upper(prefix)`` is a prefix match that both SQLite and
    PostgreSQL answer from a plain b-tree index, whatever the collation or LIKE settings.
    """
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# Official committee names, and what people call the place: 万全庄村村民委员会 -> 万全庄村,
# 楼梓庄村委会 -> 楼梓庄村, 多福巷社区居委会 -> 多福巷社区. (suffix, what the place is called)
_SUFFIXES = (
    ("村民委员会", "村"),
    ("村委会", "村"),
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("居民委员会", ""),
    ("居委会", ""),
    ("管理委员会", "管委会"),
)


def short_name(name: str) -> str:
    for suffix, kind in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            return stem if stem.endswith(kind) else stem + kind
    return name
