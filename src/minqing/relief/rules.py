"""Rule conditions as data, and their translation to SQL.

A condition is a JSON object; every key present must hold (AND), an empty one matches every
household in the programme's regions::

    {"grades": ["D"]}                               危房等级 D
    {"categories": ["disaster_hit"]}                受灾户 on the cycle's day
    {"ground_floor_flooded": true}                  首层进水
    {"causes": ["flood"], "members_min": 3}         洪涝受损 and at least 3 members
    {"age_min": 60}                                 a present member aged 60 or more
    {"not_categories": ["tekun"], "regions": ["130681107"]}

``household_q(condition, on)`` turns one into a ``Q`` on Household made of EXISTS subqueries,
so that a rule set becomes one INSERT … SELECT per line (services.list_compute) and the
database, not Python, decides who is eligible.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from minqing.households.models import (
    Category,
    CategoryGrant,
    DamageCause,
    Dwelling,
    Household,
    Person,
    PersonStatus,
    SafetyGrade,
)
from minqing.regions.codes import LEVEL_DIGITS
from minqing.regions.models import prefix_q
from minqing.relief.models import MatchMode, Programme

KEYS = (
    "grades",
    "causes",
    "ground_floor_flooded",
    "categories",
    "not_categories",
    "members_min",
    "members_max",
    "age_min",
    "age_max",
    "regions",
)
_PRESENT = [PersonStatus.RESIDENT, PersonStatus.AWAY]


def _int(condition: dict, key: str, where: str) -> int | None:
    value = condition.get(key)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            _("%(where)s：“%(key)s”应为整数") % {"where": where, "key": key}
        ) from None
    if number < 0 or number > 150:
        raise ValidationError(_("%(where)s：“%(key)s”超出范围") % {"where": where, "key": key})
    return number


def _list(condition: dict, key: str, allowed, where: str) -> list[str]:
    value = condition.get(key) or []
    if isinstance(value, str):
        value = [v for v in value.replace("，", ",").split(",") if v.strip()]
    value = [str(v).strip() for v in value]
    bad = [v for v in value if v not in allowed]
    if bad:
        raise ValidationError(
            _("%(where)s：“%(key)s”中的 %(bad)s 无法识别")
            % {"where": where, "key": key, "bad": "、".join(bad)}
        )
    return value


def clean_condition(condition, *, where: str = "") -> dict:
    """The condition with its values checked and normalised; a ValidationError in Chinese
    that names the line (``where``) and the key otherwise."""
    where = where or _("条件")
    if not isinstance(condition, dict):
        raise ValidationError(_("%(where)s：条件应为键值对") % {"where": where})
    unknown = sorted(set(condition) - set(KEYS))
    if unknown:
        raise ValidationError(
            _("%(where)s：无法识别的条件 %(keys)s") % {"where": where, "keys": "、".join(unknown)}
        )
    codes = set(Category.objects.values_list("code", flat=True))
    clean: dict = {}
    for key, allowed in (
        ("grades", SafetyGrade.values),
        ("causes", [c for c in DamageCause.values if c]),
        ("categories", codes),
        ("not_categories", codes),
    ):
        if values := _list(condition, key, allowed, where):
            clean[key] = values
    regions = _list(condition, "regions", _AnyCode(), where)
    if regions:
        clean["regions"] = regions
    if condition.get("ground_floor_flooded") not in (None, ""):
        clean["ground_floor_flooded"] = condition["ground_floor_flooded"] in (True, "true", "1", 1)
    for low, high in (("members_min", "members_max"), ("age_min", "age_max")):
        lo, hi = _int(condition, low, where), _int(condition, high, where)
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError(
                _("%(where)s：“%(low)s”大于“%(high)s”") % {"where": where, "low": low, "high": high}
            )
        if lo is not None:
            clean[low] = lo
        if hi is not None:
            clean[high] = hi
    return clean


class _AnyCode:
    """Region prefixes: digits of a level's length (6 county, 9 township, 12 village)."""

    def __contains__(self, value) -> bool:
        return value.isdigit() and len(value) in LEVEL_DIGITS.values()


def _birth_before(on: datetime.date, years: int) -> datetime.date:
    """The latest birth date of someone ``years`` old on ``on`` (29 Feb → 28 Feb)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def _categories_q(codes: list[str], on: datetime.date) -> Q:
    """The household, or one of its present members, holds one of ``codes`` on ``on``.

    Two uncorrelated ``id IN (…)`` subqueries rather than correlated EXISTS: the database
    reads the grants once (a hashed subplan on PostgreSQL, a materialised list on SQLite)
    instead of once per household; 0.2 s → 0.01 s for 2,000 households on SQLite. The
    subqueries never yield NULL, so that NOT IN (not_categories) stays correct."""
    ids = list(Category.objects.filter(code__in=codes).values_list("id", flat=True))
    held = CategoryGrant.objects.filter(category_id__in=ids, start__lte=on).filter(
        Q(end__isnull=True) | Q(end__gte=on)
    )
    by_household = held.filter(household__isnull=False).values("household_id")
    by_member = held.filter(person__household__isnull=False, person__status__in=_PRESENT).values(
        "person__household_id"
    )
    return Q(pk__in=by_household) | Q(pk__in=by_member)


def household_q(condition: dict, on: datetime.date) -> Q:
    """The condition as a filter on Household (a cleaned condition, see clean_condition)."""
    q = Q()
    dwelling = {}
    if "grades" in condition:
        dwelling["grade__in"] = condition["grades"]
    if "causes" in condition:
        dwelling["cause__in"] = condition["causes"]
    if "ground_floor_flooded" in condition:
        dwelling["ground_floor_flooded"] = condition["ground_floor_flooded"]
    if dwelling:
        q &= Q(Exists(Dwelling.objects.filter(household=OuterRef("pk"), **dwelling)))
    if "categories" in condition:
        q &= _categories_q(condition["categories"], on)
    if "not_categories" in condition:
        q &= ~_categories_q(condition["not_categories"], on)
    if "members_min" in condition:
        q &= Q(member_count__gte=condition["members_min"])
    if "members_max" in condition:
        q &= Q(member_count__lte=condition["members_max"])
    if "age_min" in condition or "age_max" in condition:
        born = {}
        if "age_min" in condition:
            born["birth_date__lte"] = _birth_before(on, condition["age_min"])
        if "age_max" in condition:
            # Still age_max on ``on``: born after the day they would turn age_max + 1.
            born["birth_date__gt"] = _birth_before(on, condition["age_max"] + 1)
        q &= Q(Exists(Person.objects.filter(household=OuterRef("pk"), status__in=_PRESENT, **born)))
    if "regions" in condition:
        regions = Q()
        for prefix in condition["regions"]:
            regions |= prefix_q("region_id", prefix)
        q &= regions
    return q


def describe(condition: dict) -> str:
    """The condition in words, for the rule list and the notice sheet."""
    names = dict(Category.objects.values_list("code", "name"))
    causes = dict(DamageCause.choices)
    parts = []
    if "grades" in condition:
        parts.append(_("危房等级 %s") % "/".join(condition["grades"]))
    if "causes" in condition:
        parts.append(_("受损原因 %s") % "、".join(str(causes[c]) for c in condition["causes"]))
    if "ground_floor_flooded" in condition:
        parts.append(_("首层进水") if condition["ground_floor_flooded"] else _("首层未进水"))
    if "categories" in condition:
        parts.append("、".join(names.get(c, c) for c in condition["categories"]))
    if "not_categories" in condition:
        parts.append(_("非%s") % "、".join(names.get(c, c) for c in condition["not_categories"]))
    if "members_min" in condition:
        parts.append(_("家庭人口不少于 %s 人") % condition["members_min"])
    if "members_max" in condition:
        parts.append(_("家庭人口不多于 %s 人") % condition["members_max"])
    if "age_min" in condition:
        parts.append(_("有 %s 周岁及以上成员") % condition["age_min"])
    if "age_max" in condition:
        parts.append(_("有 %s 周岁及以下成员") % condition["age_max"])
    if "regions" in condition:
        parts.append(_("限区划 %s") % "、".join(condition["regions"]))
    return _("且").join(parts) if parts else _("所有户")


def programme_households(programme: Programme):
    """The households of the programme's regions (a Q on Household)."""
    covered = Q()
    for region in programme.regions.all():
        covered |= prefix_q("region_id", region.prefix)
    return Household.objects.filter(covered)


def line_querysets(programme: Programme, lines, match: str, on: datetime.date):
    """For each line, the queryset of households it grants: in "first" mode a household
    matched by an earlier line is left to it."""
    # A household closed (销户) by that day is on no roll: nobody lives there to be paid.
    base = programme_households(programme).filter(Q(closed_on__isnull=True) | Q(closed_on__gt=on))
    earlier = Q()
    result = []
    for line in lines:
        q = household_q(line.condition, on)
        qs = base.filter(q)
        if match == MatchMode.FIRST:
            qs = qs.exclude(earlier) if earlier else qs
            earlier |= q
        result.append((line, qs))
    return result
