"""Reads of the registry, always starting from the reader's reach."""

import datetime
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.http import Http404
from django.utils import timezone

from minqing.accounts.roles import Cap
from minqing.audit.models import AuditLog
from minqing.audit.selectors import audit_in_reach
from minqing.households.models import (
    Assessment,
    Category,
    CategoryGrant,
    CategoryScope,
    Household,
    Membership,
    Person,
    Relation,
)
from minqing.households.people import id_hash, phone_hash, tail_hashes
from minqing.lib.idcard import InvalidIdNumber, parse_id_number
from minqing.lib.phones import InvalidPhone, normalize_phone
from minqing.lib.pinyin import is_initials_query
from minqing.regions.codes import LEVEL_DIGITS
from minqing.regions.models import Level, Region, prefix_q


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
    """A grant within reach; a grant of a sensitive category is 404 to a user who may not see
    such categories, like a grant out of reach."""
    grant = (
        CategoryGrant.objects.filter(prefix_q("region_id", user.reach), pk=pk)
        .filter(category__in=visible_categories(user))
        .select_related("category", "household", "person")
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
    state: str = ""  # "" the current households, "closed" the closed (销户) ones, "all" both


_DIGITS = re.compile(r"^\d{3}[\dX]$|^\d{4}$", re.IGNORECASE)


def _person_match(text: str) -> Q | None:
    """What a search matches among people: a name prefix, pinyin initials (zs), a whole ID
    number or phone, or their last four; None when it can match no one."""
    if len(text) == 18:
        try:
            return Q(id_hash=id_hash(parse_id_number(text).number))
        except InvalidIdNumber:
            return None
    if text.isdigit() and len(text) >= 7:
        try:
            return Q(phone_hash=phone_hash(normalize_phone(text)))
        except InvalidPhone:
            return None
    if _DIGITS.match(text):
        id_tail, phone_tail = tail_hashes(text)
        return Q(id_tail_hash=id_tail) | Q(phone_tail_hash=phone_tail)
    if is_initials_query(text):
        return _starts_with("name_initials", text.lower())
    return _starts_with("name", text)


@dataclass
class _SetFilter:
    """A filter met through other rows (people, grants): ``rows`` are the rows that meet
    it, ``column`` leads from one of them to its household."""

    rows: QuerySet
    column: str

    def ids(self) -> QuerySet:
        return self.rows.values(self.column)

    def exists(self) -> Exists:
        return _RowTest(self.rows.filter(**{self.column: OuterRef("pk")}))


class _RowTest(Exists):
    """An EXISTS tested on each household as the list walks or lists them. PostgreSQL would
    turn a plain EXISTS into a semi-join and cost it with a guessed selectivity: on 涿州市's
    roll it then read every 低保 household and sorted them (285 ms) instead of walking the
    roll (10 ms). OFFSET 0 keeps the subquery a per-row test (a documented optimisation
    fence); SQLite already runs EXISTS that way and gets the plain form."""

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="EXISTS(%(subquery)s OFFSET 0)", **extra_context
        )


def _sizes(sets: list[_SetFilter], cap: int) -> list[int]:
    """How many rows each filter has, counted up to ``cap``: one query for all, each count
    read from the filter's index alone (nothing selected but a constant)."""
    counts, params = [], []
    for i, f in enumerate(sets):
        sql, values = f.rows.values(one=Value(1))[:cap].query.sql_with_params()
        counts.append(f"(SELECT COUNT(*) FROM ({sql}) s{i})")
        params.extend(values)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(counts)}", params)
        return list(cursor.fetchone())


# Two ways to the first page of households that meet X, in the roll's order:
# - walk the roll's order (the (region, id) index) and test X on each household with a
#   correlated EXISTS on the household column of X's rows: cheap when X is common (a page is
#   full after ~50 / share households), ruinous when X is rare (every household tested);
# - list the households that meet X from X's own index, then sort them: cheap when X is
#   rare, costly when it is common ("张": 45k households listed and sorted to show 50).
# Counting X's rows up to SPARSE (an index range: a millisecond) tells which: below it the
# rarest filter lists and the others test each listed household; otherwise the roll is
# walked. A village is always walked: it has a few hundred households. On 涿州市's roll
# (bench/households.py) "张" walks in 9 ms instead of listing in 100; 低保 + "王" walks in
# 16 ms (both tests on each household, ~7,500 passed) instead of listing 7,877 grants in 72.
# The walk's weak spot: two common filters that rarely meet (it passes many households).
SPARSE = 5_000


def _apply_sets(qs: QuerySet[Household], sets: list[_SetFilter], reach: str) -> QuerySet:
    if not sets:
        return qs
    if len(reach) < LEVEL_DIGITS[Level.VILLAGE]:
        size, rarest = min((size, i) for i, size in enumerate(_sizes(sets, SPARSE)))
        if size < SPARSE:
            return qs.filter(pk__in=sets[rarest].ids()).filter(
                *(f.exists() for i, f in enumerate(sets) if i != rarest)
            )
    return qs.filter(*(f.exists() for f in sets))


# The roll's order: village by village, then as registered. The (region, id) index serves it
# for any reach, a county's or a village's, without sorting (bench/households.py).
LIST_ORDER = ("region_id", "id")


def household_list(user, filters: HouseholdFilter) -> QuerySet[Household]:
    """The households a list page, an export or the API shows: reach, then the filters."""
    reach = user.reach
    if filters.region and not filters.region.startswith(reach):
        return Household.objects.none()
    # One code range, the narrower: with both, SQLite may walk the wider one.
    reach = filters.region or reach
    qs = Household.objects.filter(prefix_q("region_id", reach))
    if filters.state != "all":
        qs = qs.filter(closed_on__isnull=filters.state != "closed")
    if filters.grade:
        qs = qs.filter(dwelling__grade=filters.grade)
    if filters.members_min is not None:
        qs = qs.filter(member_count__gte=filters.members_min)
    if filters.members_max is not None:
        qs = qs.filter(member_count__lte=filters.members_max)
    sets: list[_SetFilter] = []
    if filters.category is not None:
        held = _held_on(
            CategoryGrant.objects.filter(category=filters.category),
            filters.on or datetime.date.today(),
        )
        # A category is held by households or by people, by its scope (category_grant).
        if filters.category.scope == CategoryScope.PERSON:
            sets.append(_SetFilter(held, "person__household_id"))
        else:
            sets.append(_SetFilter(held, "household_id"))
    text = filters.q.strip()
    if text:
        match = _person_match(text)
        if match is None:
            return qs.none()
        sets.append(_SetFilter(Person.objects.filter(match), "household_id"))
    return _apply_sets(qs, sets, reach)


def grants_on(user, category: Category, day: datetime.date) -> QuerySet[CategoryGrant]:
    """Who held ``category`` on ``day`` ("who was 低保 on 1 March")."""
    return CategoryGrant.objects.filter(
        prefix_q("region_id", user.reach), category=category, start__lte=day
    ).filter(Q(end__isnull=True) | Q(end__gte=day))


# What the list page, the household page and the API show of a household, each in a fixed
# number of queries however many rows or members there are.


def annotate_for_list(qs: QuerySet[Household]) -> QuerySet[Household]:
    """The dwelling's grade as a column (a left join: a household without a dwelling row
    shows no grade rather than failing)."""
    return qs.annotate(dwelling_grade=F("dwelling__grade"))


def decorate_household_rows(user, households: list[Household], *, day=None) -> list[Household]:
    """Set ``region_name`` and ``category_names`` (the categories the household or a member
    holds on ``day`` that the user may see) on one page of households: two queries."""
    day = day or timezone.localdate()
    ids = [h.pk for h in households]
    names = dict(
        Region.objects.filter(code__in={h.region_id for h in households}).values_list(
            "code", "short_name"
        )
    )
    held: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    if ids:
        current = _held_on(CategoryGrant.objects.all(), day)
        if not user.can_view_personal:
            current = current.filter(category__sensitive=False)
        # The households' own grants and their members', as two index lookups in one
        # query: an OR of the two makes PostgreSQL read every grant and every person.
        grants = (
            current.filter(household_id__in=ids)
            .values_list("household_id", "category__name", "category__order")
            .union(
                current.filter(person__household_id__in=ids).values_list(
                    "person__household_id", "category__name", "category__order"
                ),
                all=True,
            )
        )
        for household_id, name, order in grants:
            held.setdefault(household_id, {})[name] = order
    for household in households:
        household.region_name = names.get(household.region_id, household.region_id)
        categories = held.get(household.pk, {})
        household.category_names = sorted(categories, key=lambda name: categories[name])
    return households


def _of_households(ids) -> Q:
    """Grants of the households or of their members. Both sides are IN lists on the grant's
    own indexed columns (no OR across a join, which PostgreSQL answers with a full scan)."""
    members = Person.objects.filter(household_id__in=ids).values("pk")
    return Q(household_id__in=ids) | Q(person_id__in=members)


def _held_on(qs: QuerySet[CategoryGrant], day: datetime.date) -> QuerySet[CategoryGrant]:
    return qs.filter(start__lte=day).filter(Q(end__isnull=True) | Q(end__gte=day))


_RELATION_ORDER = {value: i for i, value in enumerate(Relation.values)}


def household_members(household: Household) -> list[Person]:
    """The people of the household, the head first, then by relation and age."""
    people = list(household.members.all())
    return sorted(
        people,
        key=lambda p: (
            _RELATION_ORDER.get(p.relation, 99),
            p.birth_date or datetime.date.max,
            p.pk,
        ),
    )


def household_grants(user, household: Household) -> list[CategoryGrant]:
    """The categories of the household and of its current members, current and ended,
    without the sensitive ones for a user who may not see them."""
    return list(
        CategoryGrant.objects.filter(_of_households([household.pk]))
        .filter(category__in=visible_categories(user))
        .select_related("category", "person")
        .order_by(F("end").desc(nulls_first=True), "-start", "-id")
    )


def household_assessments(household: Household) -> list[Assessment]:
    return list(
        Assessment.objects.filter(dwelling__household=household).select_related("recorded_by")
    )


def household_memberships(household: Household) -> list[Membership]:
    """Who joined and left the household, and when: the newest first."""
    return list(
        Membership.objects.filter(household=household)
        .select_related("person")
        .order_by("-joined_on", "-id")
    )


def household_audit(
    user, household: Household, *, people=(), grants=(), dwelling=None, limit: int = 50
) -> list[AuditLog]:
    """The audit rows about the household, its people (``people``: ids of everyone who has
    been a member), its categories (``grants``: the ones the user may see) and its dwelling."""
    about = Q(entity="households.household", entity_id=str(household.pk))
    if people:
        about |= Q(entity="households.person", entity_id__in=[str(pk) for pk in people])
    if grants:
        about |= Q(entity="households.categorygrant", entity_id__in=[str(pk) for pk in grants])
    if dwelling is not None:
        about |= Q(entity="households.dwelling", entity_id=str(dwelling.pk))
    return list(audit_in_reach(user).filter(about).order_by("-at", "-id")[:limit])
