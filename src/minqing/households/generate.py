"""A generated household roll for a county: realistic, valid, deterministic.

``generate_households(villages, count, seed=1)`` yields :class:`GenHousehold` records (plain
frozen dataclasses, no database objects), so that the demo can write them (minqing.demo) and
the benchmarks can write them to an .xlsx roll in the import layout (bench/households.py).

What the records look like, for 涿州市 (130681):

- households of 1–6 members (15/27/22/18/12/6 %, about 3.0 on average), spread over the
  county's villages with more in the flooded townships (刁窝镇, 码头镇, 东城坊镇, 双塔街道);
- names from the common surnames, weighted as the census counts them (王 李 张 刘 陈 …), and
  given names of the person's generation (秀英, 建国 / 丽, 伟 / 梓涵, 浩然);
- valid 身份证号 with the county's prefix, the birth date and a sex digit that match, each
  number used once; heads 30–85, spouses within a few years, children, grandchildren, parents;
- mobile phones for about 85% of people (none for young children), a share working away;
- categories in believable shares: 低保 ≈ 3% and 特困 ≈ 0.5% and 低保边缘 ≈ 1% of households,
  残疾 ≈ 6% of people (一级–四级), 独居老人, 留守老人/儿童, 信访户 ≈ 0.3%, 征地拆迁户, 受灾户
  (flooded townships), 党员代表, 致富能手, 老干部;
- dwellings: in the flooded townships ≈ 5% grade C and ≈ 3% grade D, damaged by the flood,
  assessed 2023-08/09, many ground floors flooded, the rest A/B or not assessed; elsewhere
  mostly not assessed, a few old houses C/D.

Everything is relative to a fixed reference day (:data:`REFERENCE_DAY`), never today, so the
same seed gives the same roll on any day. Each village draws from its own random stream
(``Random(f"{seed}:{code}")``), so a larger ``count`` keeps the households a smaller one made
and adds to them (except for the rare ID number that had to be moved to stay unique).
"""

import datetime
import itertools
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from minqing.households.categories import GRADES
from minqing.lib.idcard import make_id_number

REFERENCE_DAY = datetime.date(2024, 6, 30)
FLOOD_DAY = datetime.date(2023, 8, 1)
# The townships of 涿州市 hit hardest by the flood of August 2023.
FLOODED_TOWNSHIPS = ("130681107", "130681101", "130681102", "130681001")
SIZE_WEIGHTS = (15, 27, 22, 18, 12, 6)  # households of 1 … 6 members, in %
APPRAISERS = (
    "涿州市住房和城乡建设局",
    "河北省建筑科学研究院有限公司",
    "保定市建设工程质量检测中心",
    "涿州市房屋安全鉴定所",
)
DISABILITY_GRADES = GRADES

# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class Village:
    code: str  # 12 digits
    name: str  # short name: 万全庄村, 文兴街社区
    township: str  # short name of the township: 刁窝镇

    @property
    def flooded(self) -> bool:
        return self.code.startswith(FLOODED_TOWNSHIPS)

    @property
    def is_community(self) -> bool:
        return self.name.endswith("社区")


@dataclass(frozen=True, slots=True)
class GenGrant:
    """A category held from ``start`` (to ``end``, if it ended); ``code`` as in categories.py."""

    code: str
    start: datetime.date
    document: str = ""
    grade: str = ""
    end: datetime.date | None = None
    end_reason: str = ""


@dataclass(frozen=True, slots=True)
class GenPerson:
    name: str
    id_number: str
    relation: str  # Relation values: head, spouse, child …
    sex: str  # "M" / "F", as the ID number says
    birth_date: datetime.date
    phone: str  # "" for none
    status: str  # PersonStatus values: resident, away
    categories: tuple[GenGrant, ...] = ()

    def age(self, on: datetime.date = REFERENCE_DAY) -> int:
        return _age(self.birth_date, on)


@dataclass(frozen=True, slots=True)
class GenDwelling:
    grade: str = ""  # A/B/C/D, "" when not assessed
    assessed_on: datetime.date | None = None
    appraiser: str = ""
    cause: str = ""  # DamageCause values: flood, age, ""
    ground_floor_flooded: bool = False


@dataclass(frozen=True, slots=True)
class GenHousehold:
    region: str  # the village's 12-digit code
    address: str
    members: tuple[GenPerson, ...]  # the head first
    categories: tuple[GenGrant, ...] = ()
    dwelling: GenDwelling = GenDwelling()

    @property
    def head(self) -> GenPerson:
        return self.members[0]


# ---------------------------------------------------------------------------------------------
# Names

# The commonest surnames with their share in ‰ (2020 census, rounded); 单 for its reading (shàn).
_SURNAME_TEXT = (
    "王71 李70 张67 刘54 陈45 杨31 赵23 黄22 周21 吴20 徐17 孙15 胡13 朱13 高12 林12 何12 "
    "郭11 马11 罗9 梁8 宋8 郑8 谢7 韩7 唐6 冯6 于6 董6 肖5 程5 曹5 袁5 邓5 许5 傅4 沈4 曾4 "
    "彭4 吕4 苏4 卢4 蒋4 蔡4 贾4 丁3 魏3 薛3 叶3 阎3 余3 潘3 杜3 戴3 夏3 钟3 汪3 田3 任3 "
    "姜3 范3 方3 石3 姚3 谭2 廖2 邹2 熊2 金2 陆2 郝2 孔2 白2 崔2 康2 毛2 邱2 秦2 江2 史2 "
    "顾2 侯2 邵2 孟2 龙2 万2 段2 钱2 汤2 尹2 常2 武2 乔2 贺2 齐2 单1 庞1 霍1 耿1 甄1"
)
_SURNAMES = _SURNAME_TEXT.split()
SURNAMES = tuple(item[0] for item in _SURNAMES)
_SURNAME_CUM = tuple(itertools.accumulate(int(item[1:]) for item in _SURNAMES))

# Given names by generation: born before 1965, 1965–1989, from 1990.
_GIVEN = {
    ("M", 0): "建国 建华 国强 志强 德福 永德 文明 振华 国庆 福生 玉田 宝山 长江 海 军 勇 明 刚 "
    "金山 树林 连生 春生 秋生 保国 卫国 向东 红军 凤岐 玉林 庆祥 振海 德胜 全福 占山",
    ("F", 0): "秀英 桂英 秀兰 玉兰 桂兰 凤英 淑珍 玉珍 秀珍 凤兰 素芬 淑兰 玉梅 翠英 桂芝 秀云 "
    "丽华 春兰 美兰 金凤 素珍 淑芬 桂荣 玉英 秀芝 凤琴 桂花 素梅",
    ("M", 1): "伟 强 磊 军 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 飞 海涛 志刚 建军 晓东 立新 建伟 "
    "永强 海波 春雷 小龙 宏伟 东升 立军 志勇 红亮 建民 学军 永辉 海军 振宇",
    ("F", 1): "丽 静 敏 燕 艳 娟 霞 芳 红 玲 丽娟 海燕 晓红 丽萍 春梅 雪梅 红梅 秀丽 晓燕 "
    "美玲 艳红 小红 丽丽 彩霞 立红 淑华 晓丽 玉红 文静 春燕",
    ("M", 2): "浩 宇 浩然 子轩 宇轩 浩宇 俊杰 梓豪 一鸣 博文 子豪 天佑 思远 宇航 明轩 皓轩 "
    "嘉豪 泽宇 睿 铭 晨阳 子墨 奕辰 佳乐 志豪 家豪 鑫 帅 旭东 昊天",
    ("F", 2): "欣怡 梓涵 子涵 诗涵 雨涵 可欣 思琪 佳怡 一诺 梓萱 雨桐 欣妍 悦 婷 雪 佳琪 "
    "语桐 静怡 紫涵 若曦 晓雯 梦瑶 雅琪 佳欣 思雨 欣然 雨欣 婉清",
}
GIVEN_NAMES = {key: tuple(value.split()) for key, value in _GIVEN.items()}

# Mobile prefixes of the three carriers (1[3-9]x).
_MOBILE_TEXT = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 173 175 176 177 178 180 181 182 183 185 186 187 188 189 191 195 198 199"
)
MOBILE_PREFIXES = tuple(_MOBILE_TEXT.split())


def _generation(birth: datetime.date) -> int:
    return 0 if birth.year < 1965 else 1 if birth.year < 1990 else 2


def _age(birth: datetime.date, on: datetime.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# ---------------------------------------------------------------------------------------------
# Villages


def county_villages(county: str) -> list[Village]:
    """The current villages and communities (level 5) of a county, from the region table."""
    from minqing.regions.models import Level, Region

    townships = dict(
        Region.objects.filter(level=Level.TOWNSHIP, code__startswith=county).values_list(
            "code", "short_name"
        )
    )
    rows = (
        Region.objects.filter(level=Level.VILLAGE, code__startswith=county, retired_in__isnull=True)
        .order_by("code")
        .values_list("code", "short_name", "parent_id")
    )
    return [Village(code, name, townships.get(parent, "")) for code, name, parent in rows]


def village_weight(village: Village, seed: int) -> float:
    """How many households a village has, relatively: its own draw (villages differ in size),
    more in the flooded townships (the demo's focus) and in urban communities."""
    weight = random.Random(f"{seed}:{village.code}:size").uniform(0.6, 1.4)
    if village.flooded:
        weight *= 1.6
    if village.is_community:
        weight *= 1.3
    return weight


def allocate(
    villages: Sequence[Village], count: int, *, seed: int, at_least: dict[str, int] | None = None
) -> list[int]:
    """Households per village (in the order given), ``count`` in all: shares by weight, largest
    remainders first, every village at least one when there are enough, and ``at_least``
    (code -> n) where asked."""
    at_least = dict(at_least or {})
    floor = 1 if count >= len(villages) else 0
    fixed = [max(at_least.get(v.code, 0), floor) for v in villages]
    rest = count - sum(fixed)
    if rest < 0:
        raise ValueError(f"{count} households are too few for the villages' minimum {sum(fixed)}")
    weights = [village_weight(v, seed) for v in villages]
    total = sum(weights)
    shares = [rest * w / total for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(villages)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: rest - sum(counts)]:
        counts[i] += 1
    return [a + b for a, b in zip(fixed, counts, strict=True)]


# ---------------------------------------------------------------------------------------------
# The generator


class _Ids:
    """Valid, unique ID numbers: region 6 + birth date + sequence + check digit, the sequence's
    last digit odd for men, even for women (GB 11643)."""

    def __init__(self, region6: str, taken: Iterable[str] = ()):
        self.region6 = region6
        self.used: set[int] = {int(number[:17]) for number in taken}

    def make(self, rng: random.Random, birth: datetime.date, sex: str) -> str:
        sequence = rng.randrange(500) * 2 + (1 if sex == "M" else 0)
        for _ in range(500):
            number = make_id_number(self.region6, birth, sequence)
            key = int(number[:17])
            if key not in self.used:
                self.used.add(key)
                return number
            sequence = (sequence + 2) % 1000
        raise RuntimeError(f"no ID number left for {birth} {sex}")  # 500 people, same day, sex


class _HouseholdMaker:
    def __init__(self, seed: int, ids: _Ids):
        self.seed = seed
        self.ids = ids

    # -- people ---------------------------------------------------------------------------------

    def birth(self, rng: random.Random, age: int) -> datetime.date:
        """A birth date at which one is ``age`` on the reference day."""
        latest = REFERENCE_DAY.replace(year=REFERENCE_DAY.year - age)
        return latest - datetime.timedelta(days=rng.randrange(365))

    def name(self, rng: random.Random, sex: str, birth: datetime.date, surname: str = "") -> str:
        surname = surname or rng.choices(SURNAMES, cum_weights=_SURNAME_CUM)[0]
        return surname + rng.choice(GIVEN_NAMES[sex, _generation(birth)])

    def phone(self, rng: random.Random, age: int) -> str:
        chance = (
            0 if age < 12 else 0.55 if age < 18 else 0.97 if age < 65 else 0.85 if age < 80 else 0.6
        )
        if rng.random() >= chance:
            return ""
        return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"

    def person(
        self, rng: random.Random, relation: str, sex: str, age: int, surname: str = ""
    ) -> dict:
        age = max(age, 0)
        birth = self.birth(rng, age)
        return {
            "name": self.name(rng, sex, birth, surname),
            "id_number": self.ids.make(rng, birth, sex),
            "relation": relation,
            "sex": sex,
            "birth_date": birth,
            "phone": self.phone(rng, age),
            "status": "resident",
            "age": age,
        }

    def members(self, rng: random.Random, size: int) -> list[dict]:
        """A head and ``size - 1`` relatives of believable ages."""
        if size == 1:
            age = int(rng.triangular(30, 90, 72))
            sex = "M" if rng.random() < (0.6 if age < 60 else 0.45) else "F"
        else:
            age = int(rng.triangular(30, 86, 52))
            sex = "M" if rng.random() < 0.82 else "F"
        head = self.person(rng, "head", sex, age)
        surname = head["name"][0]
        people = [head]
        left = size - 1
        couple_ages = [age]
        if left and rng.random() < 0.9:
            gap = rng.randint(-2, 6)
            spouse_age = max(age - gap if sex == "M" else age + gap, 20)
            people.append(self.person(rng, "spouse", "F" if sex == "M" else "M", spouse_age))
            couple_ages.append(spouse_age)
            left -= 1
        family = surname if sex == "M" else people[1]["name"][0] if len(people) > 1 else surname
        mother = min(couple_ages) if len(couple_ages) > 1 else age
        if left and age >= 58 and rng.random() < 0.7:
            # An older couple with a grown son, his wife and their children.
            son = self.person(rng, "child", "M", mother - rng.randint(22, 34), family)
            people.append(son)
            left -= 1
            if left:
                people.append(
                    self.person(rng, "child_in_law", "F", son["age"] - rng.randint(-1, 4))
                )
                left -= 1
            grandchild_age = son["age"] - rng.randint(22, 30)
            while left and grandchild_age >= 0:
                sex_ = rng.choice("MF")
                people.append(self.person(rng, "grandchild", sex_, grandchild_age, family))
                grandchild_age -= rng.randint(1, 6)
                left -= 1
        child_age = mother - rng.randint(21, 34)
        children = 0
        while left and child_age >= 0 and children < 3:
            people.append(self.person(rng, "child", rng.choice("MF"), child_age, family))
            child_age -= rng.randint(1, 7)
            children += 1
            left -= 1
        parent_age = age + rng.randint(22, 32)
        for parent_sex in ("F", "M"):  # mothers outlive fathers
            if left and parent_age <= 96:
                # The head's own parents carry the head's family name when the head is a son.
                name = surname if parent_sex == "M" and sex == "M" else ""
                people.append(self.person(rng, "parent", parent_sex, parent_age, name))
                parent_age += rng.randint(-3, 5)
                left -= 1
        while left:  # a brother or sister, or someone else living with them
            relation = "sibling" if rng.random() < 0.7 else "other"
            people.append(self.person(rng, relation, rng.choice("MF"), age + rng.randint(-8, 8)))
            left -= 1
        return people

    # -- categories -----------------------------------------------------------------------------

    def document(self, rng: random.Random, kind: str, year: int) -> str:
        return f"涿{kind}〔{year}〕{rng.randint(3, 160)}号"

    def since(self, rng: random.Random, earliest: datetime.date) -> datetime.date:
        """A start day between ``earliest`` and the reference day, at least 2012."""
        earliest = min(max(earliest, datetime.date(2012, 1, 1)), REFERENCE_DAY)
        days = (REFERENCE_DAY - earliest).days
        return earliest + datetime.timedelta(days=rng.randrange(max(days, 1)))

    def person_categories(self, rng, p: dict, *, alone: bool, left_behind: bool) -> list[GenGrant]:
        age, birth = p["age"], p["birth_date"]
        grants = []
        chance = 0.014 if age < 18 else 0.045 if age < 60 else 0.125 if age < 80 else 0.22
        if rng.random() < chance:
            grade = rng.choices(DISABILITY_GRADES, cum_weights=(12, 35, 65, 100))[0]
            start = self.since(rng, birth + datetime.timedelta(days=365 * 2))
            grants.append(GenGrant("disabled", start, f"残疾人证（{grade}）", grade))
        if alone and age >= 60:
            sixty = datetime.date(birth.year + 60, birth.month, min(birth.day, 28))
            grants.append(GenGrant("elderly_alone", self.since(rng, sixty), "村委会走访认定"))
        if left_behind and age >= 60 and p["status"] == "resident":
            grants.append(
                GenGrant(
                    "elderly_left_behind",
                    self.since(rng, datetime.date(2020, 1, 1)),
                    "村委会走访认定",
                )
            )
        if left_behind and age < 16 and p["status"] == "resident":
            start = max(birth, datetime.date(2019, 1, 1))
            grants.append(GenGrant("child_left_behind", self.since(rng, start), "乡镇民政办备案"))
        if age >= 35 and rng.random() < 0.012:
            grants.append(
                GenGrant("party_rep", self.since(rng, datetime.date(2018, 1, 1)), "村党支部推选")
            )
        if 28 <= age <= 60 and p["status"] == "resident" and rng.random() < 0.008:
            grants.append(
                GenGrant("able_earner", self.since(rng, datetime.date(2019, 1, 1)), "乡镇党委推荐")
            )
        if age >= 62 and rng.random() < 0.006:
            grants.append(
                GenGrant(
                    "retired_cadre",
                    self.since(rng, datetime.date(2015, 1, 1)),
                    "涿州市委老干部局登记",
                )
            )
        return grants

    def household_categories(
        self, rng, people: list[dict], disabled: bool, dwelling: GenDwelling
    ) -> list[GenGrant]:
        head = people[0]
        grants = []
        if len(people) == 1 and head["age"] >= 60 and rng.random() < 0.056:
            grants.append(
                GenGrant(
                    "tekun",
                    self.since(rng, datetime.date(2014, 1, 1)),
                    self.document(rng, "民特", rng.randint(2014, 2024)),
                )
            )
        else:
            chance = 0.019 + (0.07 if disabled else 0) + (0.012 if head["age"] >= 65 else 0)
            draw = rng.random()
            if draw < chance:
                start = self.since(rng, datetime.date(2015, 1, 1))
                grants.append(GenGrant("dibao", start, self.document(rng, "民救", start.year)))
            elif draw < chance + 0.01:
                start = self.since(rng, datetime.date(2020, 1, 1))
                grants.append(GenGrant("dibao_edge", start, self.document(rng, "民救", start.year)))
            elif draw < chance + 0.016:
                # Once 低保, no longer: a period that ended ("who was 低保 on 1 March").
                start = self.since(rng, datetime.date(2015, 1, 1))
                end = start + datetime.timedelta(days=rng.randint(180, 1500))
                if end < REFERENCE_DAY:
                    grants.append(
                        GenGrant(
                            "dibao",
                            start,
                            self.document(rng, "民救", start.year),
                            end=end,
                            end_reason="家庭收入超过低保标准",
                        )
                    )
        if rng.random() < 0.003:
            grants.append(
                GenGrant(
                    "petitioner", self.since(rng, datetime.date(2016, 1, 1)), "涿州市信访局登记"
                )
            )
        if rng.random() < 0.005:
            grants.append(
                GenGrant(
                    "land_taken",
                    self.since(rng, datetime.date(2012, 1, 1)),
                    self.document(rng, "政征", rng.randint(2012, 2023)),
                )
            )
        if dwelling.cause == "flood":
            grants.append(GenGrant("disaster_hit", FLOOD_DAY, "涿州市防汛抗旱指挥部〔2023〕18号"))
        return grants

    # -- dwellings ------------------------------------------------------------------------------

    def dwelling(self, rng: random.Random, village: Village) -> GenDwelling:
        draw = rng.random()
        if village.flooded:
            grade = (
                "D"
                if draw < 0.03
                else "C"
                if draw < 0.08
                else "B"
                if draw < 0.38
                else "A"
                if draw < 0.78
                else ""
            )
            if not grade:
                return GenDwelling()
            flooded = rng.random() < {"D": 0.85, "C": 0.7, "B": 0.35, "A": 0.1}[grade]
            day = datetime.date(2023, 8, 5) + datetime.timedelta(days=rng.randrange(56))
            cause = "flood" if flooded or grade in "CD" else ""
            return GenDwelling(grade, day, rng.choice(APPRAISERS), cause, flooded)
        grade = (
            "D"
            if draw < 0.002
            else "C"
            if draw < 0.008
            else "B"
            if draw < 0.06
            else "A"
            if draw < 0.15
            else ""
        )
        if not grade:
            return GenDwelling()
        day = datetime.date(2021, 3, 1) + datetime.timedelta(days=rng.randrange(900))
        return GenDwelling(grade, day, rng.choice(APPRAISERS), "age" if grade in "CD" else "")

    # -- a household ----------------------------------------------------------------------------

    def address(self, rng: random.Random, village: Village, index: int) -> str:
        if village.is_community:
            building, rest = divmod(index, 24)
            unit, rest = divmod(rest, 8)
            floor, door = divmod(rest, 2)
            return f"{village.township}{village.name}{building + 1}号楼{unit + 1}单元{floor + 1}0{door + 1}"
        group, number = divmod(index, 45)
        return f"{village.township}{village.name}{group + 1}组{number + 1}号"

    def household(self, rng: random.Random, village: Village, index: int) -> GenHousehold:
        size = rng.choices(range(1, 7), cum_weights=tuple(itertools.accumulate(SIZE_WEIGHTS)))[0]
        people = self.members(rng, size)
        # Working away: the whole working-age generation in some households, single people
        # in others; those left at home are 留守.
        working = [p for p in people if 18 <= p["age"] < 55]
        all_away = bool(working) and len(people) > len(working) and rng.random() < 0.14
        for p in working:
            if all_away or rng.random() < 0.07:
                p["status"] = "away"
        if people[0]["status"] == "away" and len(people) == 1:
            people[0]["status"] = "resident"
        dwelling = self.dwelling(rng, village)
        members = []
        any_disabled = False
        for p in people:
            grants = self.person_categories(rng, p, alone=size == 1, left_behind=all_away)
            any_disabled = any_disabled or any(g.code == "disabled" for g in grants)
            members.append(
                GenPerson(
                    name=p["name"],
                    id_number=p["id_number"],
                    relation=p["relation"],
                    sex=p["sex"],
                    birth_date=p["birth_date"],
                    phone=p["phone"],
                    status=p["status"],
                    categories=tuple(grants),
                )
            )
        return GenHousehold(
            region=village.code,
            address=self.address(rng, village, index),
            members=tuple(members),
            categories=tuple(self.household_categories(rng, people, any_disabled, dwelling)),
            dwelling=dwelling,
        )


def generate_households(
    villages: Sequence[Village],
    count: int,
    *,
    seed: int = 1,
    at_least: dict[str, int] | None = None,
    region6: str | None = None,
) -> Iterator[GenHousehold]:
    """``count`` households over ``villages`` (village by village, in the order given).

    ``at_least``: code -> a minimum for some villages (the demo's 万全庄村). ``region6``: the
    ID numbers' region prefix, by default the county's (the first six digits of the first
    village). Deterministic: the same villages, count and seed give the same records."""
    if not villages or count <= 0:
        return
    ids = _Ids(region6 or villages[0].code[:6])
    maker = _HouseholdMaker(seed, ids)
    for village, n in zip(
        villages, allocate(villages, count, seed=seed, at_least=at_least), strict=True
    ):
        rng = random.Random(f"{seed}:{village.code}")
        for index in range(n):
            yield maker.household(rng, village, index)


def people_count(households: Iterable[GenHousehold]) -> int:
    return sum(len(h.members) for h in households)
