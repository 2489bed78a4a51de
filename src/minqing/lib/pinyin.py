"""Pinyin initials for search (张三 -> "zs"), fast enough for a 700k-person import: names are
made of a few thousand distinct characters, so each character is looked up once."""

from functools import cache

from pypinyin import Style, lazy_pinyin

# Surnames whose reading differs from the character's common one.
_SURNAMES = {
    "单": "s",
    "曾": "z",
    "解": "x",
    "仇": "q",
    "区": "o",
    "查": "z",
    "盖": "g",
    "朴": "p",
    "覃": "q",
    "缪": "m",
    "翟": "z",
    "乐": "y",
    "员": "y",
    "尉": "y",
}


@cache
def _initial(char: str) -> str:
    if char.isascii():
        return char.lower() if char.isalnum() else ""
    letters = lazy_pinyin(char, style=Style.FIRST_LETTER, errors="ignore")
    return letters[0][:1].lower() if letters else ""


def initials(name: str) -> str:
    """张三 -> zs; 单田芳 -> stf (surname reading); letters and digits kept, the rest dropped."""
    if not name:
        return ""
    first = _SURNAMES.get(name[0]) or _initial(name[0])
    return first + "".join(_initial(c) for c in name[1:])


def is_initials_query(text: str) -> bool:
    """A query typed as pinyin initials: ASCII letters only, e.g. "zs"."""
    return text.isascii() and text.isalpha()
