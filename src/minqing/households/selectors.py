"""Reads of the registry, always starting from the reader's reach."""

import datetime
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from minqing.accounts.roles import Cap
from minqing.households.models import Category, CategoryGrant, Household, Person
from minqing.households.people import id_hash, phone_hash, tail_hashes
from minqing.lib.idcard import InvalidIdNumber, parse_id_number
from minqing.lib.phones import InvalidPhone, normalize_phone
from minqing.lib.pinyin import is_initials_query
from minqing.regions.models import prefix_q


def households_in_reach(user) -> QuerySet[Household]:
    return Household.objects.filter(prefix_q("region_id", user.reach))


def people_in_reach(user) -> QuerySet[Person]:
    return Person.objects.filter(prefix_q("region_id", user.reach))


def get_household_for_user(user, pk) -> tuple[Household, bool]:
    household = (
        households_in_reach(user).select_related("region", "head", "dwelling").filter(pk=pk).first()
    )
    if household is None:
        raise Http404
    return household, user.can(Cap.WRITE)


def get_person_for_user(user, pk) -> tuple[Person, bool]:
    person = people_in_reach(user).select_related("household").filter(pk=pk).first()
    if person is None:
        raise Http404
    return person, user.can(Cap.WRITE)


def get_grant_for_user(user, pk) -> tuple[CategoryGrant, bool]:
    grant = (
        CategoryGrant.objects.filter(prefix_q("region_id", user.reach), pk=pk)
        .select_related("category")
        .first()
    )
    if grant is None:
        raise Http404
    return grant, user.can(Cap.WRITE)


def visible_categories(user) -> QuerySet[Category]:
    """Sensitive categories (health, petitions) only for users who may see personal data."""
    qs = Category.objects.all()
    return qs if user.can_view_personal else qs.filter(sensitive=False)


def _starts_with(field: str, text: str) -> Q:
    """A prefix match the index answers: LIKE 'x%' on PostgreSQL (varchar_pattern_ops), a
    range on SQLite, whose LIKE is case-insensitive and so cannot use a plain index."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__startswith": text})
    return Q(**{f"{field}__gte": text, f"{field}__lt": text + "\U0010ffff"})


@dataclass(frozen=True)
class HouseholdFilter:
    region: str = ""  # a code prefix within reach (a township, a village)
    category: Category | None = None
    on: datetime.date | None = None  # category held on this day (default: today)
    grade: str = ""
    members_min: int | None = None
    members_max: int | None = None
    q: str = ""


_DIGITS = re.compile(r"^\d{3}[\dXx]$|^\d{4}$")


def _search(qs: QuerySet[Household], text: str) -> QuerySet[Household]:
    """Name prefix, pinyin initials (zs), a whole ID number or phone, or their last four."""
    text = text.strip()
    if not text:
        return qs
    people = Person.objects.filter(household=OuterRef("pk"))
    if len(text) == 18:
        try:
            number = parse_id_number(text).number
        except InvalidIdNumber:
            return qs.none()
        return qs.filter(Exists(people.filter(id_hash=id_hash(number))))
    if text.isdigit() and len(text) >= 7:
        try:
            return qs.filter(Exists(people.filter(phone_hash=phone_hash(normalize_phone(text)))))
        except InvalidPhone:
            return qs.none()
    if _DIGITS.match(text):
        id_tail, phone_tail = tail_hashes(text)
        return qs.filter(
            Exists(people.filter(Q(id_tail_hash=id_tail) | Q(phone_tail_hash=phone_tail)))
        )
    if is_initials_query(text):
        text = text.lower()
        return qs.filter(
            _starts_with("head_initials", text)
            | Exists(people.filter(_starts_with("name_initials", text)))
        )
    return qs.filter(
        _starts_with("head_name", text) | Exists(people.filter(_starts_with("name", text)))
    )


def household_list(user, filters: HouseholdFilter) -> QuerySet[Household]:
    """The households a list page, an export or the API shows: reach, then the filters."""
    qs = households_in_reach(user)
    if filters.region and filters.region.startswith(user.reach):
        qs = qs.filter(prefix_q("region_id", filters.region))
    elif filters.region:
        return qs.none()
    if filters.category is not None:
        day = filters.on or datetime.date.today()
        held = CategoryGrant.objects.filter(category=filters.category, start__lte=day).filter(
            Q(end__isnull=True) | Q(end__gte=day)
        )
        held = held.filter(Q(household=OuterRef("pk")) | Q(person__household=OuterRef("pk")))
        qs = qs.filter(Exists(held))
    if filters.grade:
        qs = qs.filter(dwelling__grade=filters.grade)
    if filters.members_min is not None:
        qs = qs.filter(member_count__gte=filters.members_min)
    if filters.members_max is not None:
        qs = qs.filter(member_count__lte=filters.members_max)
    return _search(qs, filters.q)


def grants_on(user, category: Category, day: datetime.date) -> QuerySet[CategoryGrant]:
    """Who held ``category`` on ``day`` ("who was 低保 on 1 March")."""
    return CategoryGrant.objects.filter(
        prefix_q("region_id", user.reach), category=category, start__lte=day
    ).filter(Q(end__isnull=True) | Q(end__gte=day))
