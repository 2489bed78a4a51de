"""The household roll (户籍花名册) as a spreadsheet: THE column layout, read by the import and
written by the export, so that a full export re-imports unchanged.

One row per person. The household's own columns (所属村, 家庭住址, 户类别, the dwelling) are
repeated on each of its members' rows; the head's row is the one that counts, and a member's
row that says something different is refused rather than guessed at.

A member's row says its household by 户主身份证号, or, left blank, by standing under its
head's row. A household without a head (its head moved out) has no head row to stand
under: its rows say so with NO_HEAD in 户主姓名, and the import keeps each such person in
the household the registry has them in, never under the head row above.

Cell values are words a clerk types (户主, 外出务工, 残疾二级, C, 是), each with the variants
found in real rolls; the words are Chinese whatever the interface language, because the
roll is.
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

from minqing.households.categories import grade_refusal
from minqing.households.models import DamageCause, PersonStatus, Relation, SafetyGrade, Sex
from minqing.lib.excel import column_letter


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as the export writes it
    aliases: tuple[str, ...] = ()
    household: bool = False  # a household's column, repeated on its members' rows


COLUMNS = (
    Column("head_name", "户主姓名", ("户主", "户主名称")),
    Column(
        "head_id_number", "户主身份证号", ("户主身份证号码", "户主公民身份号码", "户主证件号码")
    ),
    Column("name", "姓名", ("成员姓名", "人员姓名", "家庭成员姓名", "家庭成员")),
    Column(
        "id_number",
        "身份证号",
        ("身份证号码", "公民身份号码", "公民身份证号码", "身份证", "证件号码", "成员身份证号"),
    ),
    Column("relation", "与户主关系", ("关系", "与户主的关系", "家庭关系")),
    Column("sex", "性别"),
    Column("birth_date", "出生日期", ("出生年月日", "出生年月", "生日")),
    Column("phone", "联系电话", ("手机号", "手机号码", "电话", "电话号码", "联系方式", "手机")),
    Column("status", "人员状态", ("状态", "居住状态", "在家情况")),
    Column(
        "region",
        "所属村（社区）",
        (
            "所属村",
            "村（社区）",
            "所属社区",
            "所在村",
            "所在村（社区）",
            "村",
            "社区",
            "村名",
            "行政村",
            "村居",
        ),
        household=True,
    ),
    Column(
        "address", "家庭住址", ("住址", "地址", "家庭地址", "居住地址", "现住址"), household=True
    ),
    Column("household_categories", "户类别", ("户类型", "家庭类别", "户属性"), household=True),
    Column("person_categories", "人员类别", ("人员类型", "人员属性", "身份类别")),
    Column(
        "grade", "危房等级", ("房屋等级", "房屋安全等级", "鉴定等级", "安全等级"), household=True
    ),
    Column("assessed_on", "鉴定日期", ("鉴定时间",), household=True),
    Column("cause", "受损原因", ("损毁原因", "受灾原因"), household=True),
    Column("flooded", "首层进水", ("一层进水", "首层是否进水", "是否进水"), household=True),
)
BY_KEY = {column.key: column for column in COLUMNS}
HEADERS = [column.header for column in COLUMNS]
HOUSEHOLD_KEYS = frozenset(column.key for column in COLUMNS if column.household)
DWELLING_KEYS = ("grade", "assessed_on", "cause", "flooded")
# Columns a roll must have; 所属村 may be left out by a user who reaches one village only.
REQUIRED = ("name", "id_number", "relation", "region")
# Columns read and dropped: a row number, and the two columns the error report adds.
IGNORED_HEADERS = ("序号", "编号", "错误原因", "原行号")
REASON_HEADER = "错误原因"
ROW_HEADER = "原行号"
# 户主姓名 of a household without a head (what the household's page shows, too).
NO_HEAD = "（无户主）"


def says_no_head(head_name: str) -> bool:
    """Whether a 户主姓名 cell is NO_HEAD: （无户主）, (无户主) or 无户主."""
    return plain(head_name).strip("()") == "无户主"


def normalize_header(text: str) -> str:
    """Headers compared without spaces, stars (required marks) or full/half-width
    differences: “所属村(社区)”, “所属村（社区）” and “* 所属村 （社区）” are one."""
    text = unicodedata.normalize("NFKC", str(text or ""))
    return re.sub(r"[\s*:：]", "", text)


_HEADER_KEYS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _HEADER_KEYS.setdefault(normalize_header(_name), _column.key)
_IGNORED = frozenset(normalize_header(h) for h in IGNORED_HEADERS)


def header_key(text: str) -> str | None:
    """The column a header names; "" for a column to skip (序号); None when unknown."""
    name = normalize_header(text)
    if name in _IGNORED:
        return ""
    return _HEADER_KEYS.get(name)


def find_header_row(rows: list[tuple[int, list[str]]]) -> tuple[int, list[str]] | None:
    """The header among the first rows: the first row naming at least three known columns
    (a title row such as “万全庄村户籍花名册” may sit above it), else the first non-empty row."""
    for number, cells in rows:
        if sum(1 for cell in cells if header_key(cell)) >= 3:
            return number, cells
    for number, cells in rows:
        if any(cells):
            return number, cells
    return None


def guess_mapping(headers: list[str]) -> dict[int, str]:
    """{column number (1-based): column key, or "" to skip} for the headers recognised; an
    unknown header, and the second of two headers naming the same column, are left out."""
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers, start=1):
        if not header:
            continue
        key = header_key(header)
        if key is None or (key and key in taken):
            continue
        mapping[index] = key
        if key:
            taken.add(key)
    return mapping


def unknown_columns(headers: list[str], mapping: dict[int, str]) -> list[int]:
    """Columns with a header that the mapping neither reads nor skips."""
    return [i for i, header in enumerate(headers, start=1) if header and i not in mapping]


def mapping_problems(mapping: dict[int, str], *, region_optional: bool = False) -> list[str]:
    """What stops a mapping from being used: a required column missing, a column twice."""
    problems = []
    keys = [key for key in mapping.values() if key]
    for key in REQUIRED:
        if key == "region" and region_optional:
            continue
        if key not in keys:
            problems.append(_("缺少必填列“%(header)s”") % {"header": BY_KEY[key].header})
    for key in sorted(set(keys)):
        if keys.count(key) > 1:
            columns = "、".join(column_letter(c) for c, k in sorted(mapping.items()) if k == key)
            problems.append(
                _("“%(header)s”对应了多列（%(columns)s），只能对应一列")
                % {"header": BY_KEY[key].header, "columns": columns}
            )
    return problems


def mapping_from_json(raw: dict | None) -> dict[int, str]:
    return {
        int(col): key
        for col, key in (raw or {}).items()
        if key is None or key in BY_KEY or key == ""
    }


def mapping_to_json(mapping: dict[int, str]) -> dict[str, str]:
    return {str(col): key for col, key in sorted(mapping.items())}


# --- Cell values ----------------------------------------------------------------------------


class CellError(ValueError):
    """A cell whose value cannot be read; the message says why, in Chinese."""


_SPACE = re.compile(r"\s")


def plain(text: str) -> str:
    """Full-width letters and digits to ASCII (１３０６８１ → 130681), spaces out."""
    if text.isascii() and " " not in text and text.isprintable():  # nearly every cell
        return text
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or ""))


RELATION_WORDS = {
    Relation.HEAD: "户主",
    Relation.SPOUSE: "配偶",
    Relation.CHILD: "子女",
    Relation.PARENT: "父母",
    Relation.GRANDCHILD: "孙子女",
    Relation.GRANDPARENT: "祖父母",
    Relation.SIBLING: "兄弟姐妹",
    Relation.CHILD_IN_LAW: "儿媳女婿",
    Relation.OTHER: "其他",
}
_RELATION_ALIASES = {
    Relation.HEAD: ("本人", "户主本人"),
    Relation.SPOUSE: ("妻", "妻子", "夫", "丈夫", "爱人", "老伴"),
    Relation.CHILD: (
        "子",
        "女",
        "儿子",
        "女儿",
        "长子",
        "次子",
        "三子",
        "长女",
        "次女",
        "三女",
        "独生子",
        "独生女",
        "养子",
        "养女",
        "继子",
        "继女",
    ),
    Relation.PARENT: ("父", "母", "父亲", "母亲", "公公", "婆婆", "岳父", "岳母"),
    Relation.GRANDCHILD: ("孙子", "孙女", "外孙", "外孙子", "外孙女", "孙"),
    Relation.GRANDPARENT: ("祖父", "祖母", "外祖父", "外祖母", "爷爷", "奶奶", "姥爷", "姥姥"),
    Relation.SIBLING: ("兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹", "兄弟", "姐妹"),
    Relation.CHILD_IN_LAW: ("儿媳", "女婿", "媳妇", "儿媳妇"),
    Relation.OTHER: ("其它", "亲属", "其他亲属"),
}
_RELATIONS = {word: value for value, word in RELATION_WORDS.items()} | {
    alias: value for value, aliases in _RELATION_ALIASES.items() for alias in aliases
}

STATUS_WORDS = {
    PersonStatus.RESIDENT: "在家居住",
    PersonStatus.AWAY: "外出务工",
    PersonStatus.MOVED_OUT: "已迁出",
    PersonStatus.DECEASED: "已故",
}
_STATUSES = {word: value for value, word in STATUS_WORDS.items()} | {
    "在家": PersonStatus.RESIDENT,
    "常住": PersonStatus.RESIDENT,
    "在册": PersonStatus.RESIDENT,
    "正常": PersonStatus.RESIDENT,
    "外出": PersonStatus.AWAY,
    "务工": PersonStatus.AWAY,
    "外出打工": PersonStatus.AWAY,
    "迁出": PersonStatus.MOVED_OUT,
    "死亡": PersonStatus.DECEASED,
    "去世": PersonStatus.DECEASED,
    "已死亡": PersonStatus.DECEASED,
    "已去世": PersonStatus.DECEASED,
}

SEX_WORDS = {Sex.MALE: "男", Sex.FEMALE: "女"}
_SEXES = {"男": Sex.MALE, "女": Sex.FEMALE, "M": Sex.MALE, "F": Sex.FEMALE}

CAUSE_WORDS = {
    DamageCause.FLOOD: "洪涝",
    DamageCause.LANDSLIDE: "滑坡、泥石流",
    DamageCause.EARTHQUAKE: "地震",
    DamageCause.AGE: "年久失修",
    DamageCause.OTHER: "其他",
}
_CAUSES = {word: value for value, word in CAUSE_WORDS.items()} | {
    "洪水": DamageCause.FLOOD,
    "水灾": DamageCause.FLOOD,
    "内涝": DamageCause.FLOOD,
    "洪涝灾害": DamageCause.FLOOD,
    "暴雨": DamageCause.FLOOD,
    "滑坡": DamageCause.LANDSLIDE,
    "泥石流": DamageCause.LANDSLIDE,
    "山体滑坡": DamageCause.LANDSLIDE,
    "滑坡泥石流": DamageCause.LANDSLIDE,
    "地质灾害": DamageCause.LANDSLIDE,
    "老旧": DamageCause.AGE,
    "自然老化": DamageCause.AGE,
    "其它": DamageCause.OTHER,
    "无": DamageCause.NONE,
}
_YES = {"是", "有", "Y", "YES", "TRUE", "1", "√"}
_NO = {"否", "无", "N", "NO", "FALSE", "0", "×"}


# Plain strings as values, not the enum members; the messages translated only when a value
# is refused: a county's roll calls these millions of times.
_RELATIONS = {word: str(value) for word, value in _RELATIONS.items()}
_STATUSES = {word: str(value) for word, value in _STATUSES.items()}
_SEXES = {word: str(value) for word, value in _SEXES.items()}
_CAUSES = {word: str(value) for word, value in _CAUSES.items()}


def _not_a_choice(what: str, text: str, choices) -> CellError:
    return CellError(
        _("%(what)s“%(value)s”不是可选值（%(choices)s）")
        % {"what": what, "value": text, "choices": "、".join(choices)}
    )


def parse_relation(text: str) -> str:
    value = _RELATIONS.get(text.strip())
    if value is None:
        raise _not_a_choice(_("与户主关系"), text, RELATION_WORDS.values())
    return value


def parse_status(text: str) -> str:
    value = _STATUSES.get(text.strip())
    if value is None:
        raise _not_a_choice(_("人员状态"), text, STATUS_WORDS.values())
    return value


def parse_sex(text: str) -> str:
    value = _SEXES.get(plain(text).upper())
    if value is None:
        raise _not_a_choice(_("性别"), text, SEX_WORDS.values())
    return value


def parse_cause(text: str) -> str:
    value = _CAUSES.get(plain(text))
    if value is None:
        raise _not_a_choice(_("受损原因"), text, CAUSE_WORDS.values())
    return value


def parse_flooded(text: str) -> bool:
    value = plain(text).upper()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise CellError(_("首层进水“%(value)s”应填“是”或“否”") % {"value": text})


_GRADES = frozenset(SafetyGrade.values)


def parse_grade(text: str) -> str:
    value = plain(text).upper().removesuffix("级危房").removesuffix("级")
    if value not in _GRADES:
        raise CellError(_("危房等级“%(value)s”应为 A、B、C 或 D") % {"value": text})
    return value


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)


DATE_WORDS = {"birth_date": "出生日期", "assessed_on": "鉴定日期"}


def parse_date(text: str, key: str, today: datetime.date) -> datetime.date:
    """2023-08-01, 2023/8/1, 2023.8.1, 20230801, 2023年8月1日, or an Excel day number (45139)
    from a date cell saved as a number; a date later than today is refused. ``key``: the
    column (DATE_WORDS), named in the messages."""
    value = plain(text)
    day = None
    if len(value) == 10 and value[4] == "-":  # the common case, without strptime's cost
        try:  # not contextlib.suppress: 700k rows pay for its context manager
            day = datetime.date.fromisoformat(value)
        except ValueError:
            day = None
    if day is None:
        day = _other_date(value)
    what = DATE_WORDS.get(key, key)
    if day is None:
        raise CellError(
            _("%(what)s“%(value)s”不是有效日期，应为“年-月-日”，如 2023-08-01")
            % {"what": _(what), "value": text}
        )
    if day > today:
        raise CellError(
            _("%(what)s %(date)s 晚于今天") % {"what": _(what), "date": day.isoformat()}
        )
    if day.year < 1890:
        raise CellError(_("%(what)s %(date)s 不可能") % {"what": _(what), "date": day.isoformat()})
    return day


def _other_date(value: str) -> datetime.date | None:
    if re.match(r"^\d{4}-\d\d-\d\d.", value):  # a date and a time: 2023-08-0108:00:00
        value = value[:10]
    if re.fullmatch(r"\d{5}", value):
        return _EXCEL_EPOCH + datetime.timedelta(days=int(value))
    for pattern in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


_NUMERALS = {"1": "一", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六"}


def _grade_words(text: str) -> str:
    text = text.strip("()（）:：-— ")
    if not text:
        return ""
    text = "".join(_NUMERALS.get(c, c) for c in text)
    return text if text.endswith("级") else text + "级"


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    name: str
    household: bool  # a household category (户类别), else a person's (人员类别)
    has_grade: bool
    order: int


def category_catalogue(categories) -> dict[str, CategoryInfo]:
    """{normalised name: CategoryInfo} of Category rows, with the names rolls also use."""
    catalogue = {}
    for category in categories:
        info = CategoryInfo(
            id=category.pk,
            name=category.name,
            household=category.scope == "household",
            has_grade=category.has_grade,
            order=category.order,
        )
        catalogue[plain(category.name)] = info
        short = re.sub(r"[(（].*[)）]$", "", category.name)  # 特困（五保） -> 特困
        catalogue.setdefault(plain(short), info)
        for inner in re.findall(r"[(（](.*?)[)）]", category.name):  # -> 五保
            catalogue.setdefault(plain(inner), info)
    return catalogue


_SPLIT = re.compile(r"[,，、;；/\s]+")


def parse_categories(
    text: str, catalogue: dict[str, CategoryInfo], household: bool
) -> frozenset[tuple[int, str]]:
    """“低保、残疾二级” -> {(category id, grade)}; a category of the other kind (a person's
    category in 户类别) or without its grade is refused with the reason."""
    found = set()
    for token in _SPLIT.split(unicodedata.normalize("NFKC", text or "")):
        if not token:
            continue
        info, grade = catalogue.get(token), ""
        if info is None:
            # 残疾二级, 残疾(2级): the longest category name the token starts with.
            for name in sorted(catalogue, key=len, reverse=True):
                if token.startswith(name) and catalogue[name].has_grade:
                    info, grade = catalogue[name], _grade_words(token[len(name) :])
                    break
        if info is None:
            raise CellError(_("类别“%(name)s”不存在") % {"name": token})
        if info.household != household:
            raise CellError(
                (
                    _("“%(name)s”是户类别，请填在“户类别”列")
                    if info.household
                    else _("“%(name)s”是人员类别，请填在“人员类别”列")
                )
                % {"name": info.name}
            )
        if info.has_grade and not grade:
            raise CellError(_("“%(name)s”须写明等级，如“%(name)s二级”") % {"name": info.name})
        if refused := grade_refusal(info.name, info.has_grade, grade):
            raise CellError(refused)
        found.add((info.id, grade))
    return frozenset(found)


# --- Writing the roll (the export, and anyone who makes a roll: bench/, tests) --------------


def format_region(short_name: str, code: str) -> str:
    """万全庄村（130681107228）: readable, and unambiguous on the way back in."""
    return f"{short_name}（{code}）"


def format_categories(held: list[tuple[str, str, int]]) -> str:
    """[(name, grade, order)] -> “残疾二级、独居老人”, in the catalogue's order."""
    return "、".join(name + grade for name, grade, _order in sorted(held, key=lambda h: h[2]))


def format_date(day: datetime.date | str | None) -> str:
    """A date, or a date as SQLite gives it raw ("2026-03-01"), as 2026-03-01."""
    if not day:
        return ""
    return day if isinstance(day, str) else day.isoformat()


def roll_row(
    *,
    head_name: str,
    head_id_number: str,
    name: str,
    id_number: str,
    relation: str,
    sex: str,
    birth_date: datetime.date | None,
    phone: str,
    status: str,
    region: str,
    address: str,
    household_categories: str,
    person_categories: str,
    grade: str,
    assessed_on: datetime.date | None,
    cause: str,
    flooded: bool | None,
) -> list[str]:
    """One person's row in the order of COLUMNS, from stored values (relation "head" …)."""
    return [
        head_name,
        head_id_number,
        name,
        id_number,
        RELATION_WORDS.get(relation, relation),
        SEX_WORDS.get(sex, ""),
        format_date(birth_date),
        phone,
        STATUS_WORDS.get(status, status),
        region,
        address,
        household_categories,
        person_categories,
        grade,
        format_date(assessed_on),
        CAUSE_WORDS.get(cause, ""),
        "" if flooded is None else ("是" if flooded else "否"),
    ]
