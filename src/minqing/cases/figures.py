"""The ledger's figures, as data: each is a count of rows (or a rate of two counts) over the
cases registered in a period, so that every figure is also a filter of the ledger that shows
its rows. The formulas are written out in docs/case-figures.md."""

import datetime
import operator
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Case, Count, DateField, Q, Sum, Value, When
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.cases.models import (
    FINISHED,
    TALLY_COUNTS,
    CaseTally,
    CaseUnitTally,
    MediationResult,
    Rating,
    Status,
)
from minqing.cases.models import Case as CaseModel
from minqing.regions.models import prefix_q

RECEIVED = ~Q(status=Status.MERGED)

# What the figures count, each condition on a case's columns. A case keeps the ones it meets as
# bits of ``Case.flags`` (recomputed by every change, ``figures_refresh``), and the tallies
# keep, per month of registration and region (``CaseTally``) or region and unit
# (``CaseUnitTally``), how many cases meet each: one column per name. The ledger shows a figure's rows from the same conditions.
COUNTS: dict[str, Q] = {
    "received": RECEIVED,
    "accepted": RECEIVED & Q(accepted_on_time__isnull=False),
    "accepted_on_time": RECEIVED & Q(accepted_on_time=True),
    "answered": RECEIVED & Q(answered_on_time__isnull=False),
    "answered_on_time": RECEIVED & Q(answered_on_time=True),
    "closed": Q(status=Status.CLOSED),
    "rated": RECEIVED & ~Q(last_rating=""),
    "satisfied": RECEIVED & Q(last_rating__in=[Rating.SATISFIED, Rating.BASIC]),
    "escalated": RECEIVED & Q(escalated_count__gt=0),
    "sent_back": RECEIVED & Q(sent_back_count__gt=0),
    "extended": RECEIVED & Q(extension_count__gt=0),
    "merged": Q(status=Status.MERGED),
    "mediated": RECEIVED & ~Q(mediation=""),
    "mediation_ok": RECEIVED & Q(mediation=MediationResult.AGREEMENT),
}
BITS = {name: 1 << i for i, name in enumerate(COUNTS)}
if tuple(COUNTS) != TALLY_COUNTS:  # the tally's columns are these, in this order
    raise ImproperlyConfigured("figures.COUNTS and models.TALLY_COUNTS differ")
# A count of now, not of a period: from the cases themselves (the partial index of overdue).
OVERDUE_OPEN = Q(overdue=True) & ~Q(status__in=FINISHED)


def _flags_expr():
    terms = [Case(When(q, then=Value(bit)), default=Value(0)) for q, bit in _conditions()]
    return reduce(operator.add, terms)


def _conditions():
    return [(COUNTS[name], bit) for name, bit in BITS.items()]


@dataclass(frozen=True)
class Figure:
    label: str
    numerator: str  # a name of COUNTS (or "overdue_open")
    denominator: str | None = None  # a rate: numerator / denominator
    in_period: bool = True  # False: a count of now, whatever the registration date

    def rows(self, part: str = "num") -> Q:
        name = self.denominator if part == "den" and self.denominator else self.numerator
        return OVERDUE_OPEN if name == "overdue_open" else COUNTS[name]


FIGURES: dict[str, Figure] = {
    "received": Figure(_("受理件数"), "received"),
    "accepted_on_time": Figure(_("按时签收率"), "accepted_on_time", "accepted"),
    "answered_on_time": Figure(_("按时办结率"), "answered_on_time", "answered"),
    "resolved": Figure(_("办结率"), "closed", "received"),
    "satisfied": Figure(_("满意率"), "satisfied", "rated"),
    "overdue": Figure(_("当前逾期"), "overdue_open", in_period=False),
    "escalated": Figure(_("升级件数"), "escalated"),
    "sent_back": Figure(_("退单件数"), "sent_back"),
    "extended": Figure(_("延期件数"), "extended"),
    "merged": Figure(_("合并件数"), "merged"),
    "mediated": Figure(_("调解成功率"), "mediation_ok", "mediated"),
}


# Keeping the tally


def _month(at: datetime.datetime) -> datetime.date:
    """The tally's month of a registration: the first day of its month in the county's time."""
    return timezone.localtime(at, timezone.get_default_timezone()).date().replace(day=1)


def _tally_rows(ids) -> list[tuple]:
    return list(
        CaseModel.objects.filter(pk__in=ids).values_list(
            "registered_at", "region_id", "unit_id", "flags"
        )
    )


def figures_refresh(ids, *, before: list[tuple] | None = None) -> None:
    """Recompute the flags of cases ``ids`` and move their counts in the tally, in the caller's
    transaction. ``before``: the cases' ``_tally_rows`` as they were before the caller changed
    them (None: the cases are new)."""
    CaseModel.objects.filter(pk__in=ids).update(flags=_flags_expr())
    deltas: dict = {}
    _tally_count(deltas, before or [], -1)
    _tally_count(deltas, _tally_rows(ids), 1)
    _tally_write(deltas)


def tally_before(ids) -> list[tuple]:
    """What ``figures_refresh`` needs to know of cases about to change."""
    return _tally_rows(ids)


def _tally_count(deltas: dict, rows, sign: int) -> None:
    for at, region, unit, flags in rows:
        counts = deltas.setdefault((_month(at), region, unit or 0), [0] * len(BITS))
        for i, bit in enumerate(BITS.values()):
            if flags & bit:
                counts[i] += sign


def _tally_write(deltas: dict) -> None:
    """Add the deltas to both tallies, row by row in key order: two transactions never wait
    for each other's tally rows in opposite orders (no deadlock)."""
    by_region: dict = {}
    for (month, region, _unit), counts in deltas.items():
        into = by_region.setdefault((month, region), [0] * len(counts))
        for i, n in enumerate(counts):
            into[i] += n
    _upsert(CaseTally, ("month", "region"), by_region)
    _upsert(CaseUnitTally, ("month", "region", "unit"), deltas)


def _upsert(model, key: tuple[str, ...], deltas: dict) -> None:
    rows = [(k, v) for k, v in sorted(deltas.items()) if any(v)]
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join((*key, *TALLY_COUNTS))
    marks = ", ".join(["%s"] * (len(key) + len(TALLY_COUNTS)))
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in TALLY_COUNTS)
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {adds}"
    )
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(adapt(k[0]), *k[1:], *v) for k, v in rows])


def figures_rebuild(
    case_model=CaseModel, tally_model=CaseTally, unit_tally_model=CaseUnitTally
) -> int:
    """Recompute every case's flags and both tallies from the cases' columns (after a
    migration, which passes its historical models, a bulk load, or to repair). Returns the
    number of tally rows. Service writes wait until it commits (PostgreSQL: the table locks;
    SQLite: one writer at a time)."""
    # Cases first: a service that changed a case before the lock finishes (its tally upsert
    # is not blocked yet), and the ones after it wait for the rebuild (no deadlock).
    tables = [m._meta.db_table for m in (case_model, tally_model, unit_tally_model)]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE")
        expr = _flags_expr()
        case_model.objects.exclude(flags=expr).update(flags=expr)
        month = Trunc(
            "registered_at",
            "month",
            output_field=DateField(),
            tzinfo=timezone.get_default_timezone(),
        )
        cases = case_model.objects.annotate(month=month).order_by()
        counts = {f"n_{name}": Count("pk", filter=q) for name, q in COUNTS.items()}
        written = 0
        for model, key in (
            (tally_model, ("month", "region_id")),
            (unit_tally_model, ("month", "region_id", "unit_id")),
        ):
            model.objects.all().delete()
            rows = cases.values(*key).annotate(**counts).iterator(chunk_size=10000)
            tallies = [model(**_tally_fields(row)) for row in rows]
            model.objects.bulk_create(tallies, batch_size=5000)
            written += len(tallies)
        return written


def _tally_fields(row: dict) -> dict:
    fields = {"month": row["month"], "region": row["region_id"]}
    if "unit_id" in row:
        fields["unit"] = row["unit_id"] or 0
    return fields | {name: row[f"n_{name}"] for name in TALLY_COUNTS}


# Reading the figures


@dataclass
class Cell:
    value: int
    total: int | None = None  # the denominator of a rate

    @property
    def rate(self) -> float | None:
        """A percentage; None when there is nothing to divide by."""
        if not self.total:
            return None
        return 100 * self.value / self.total


@dataclass(frozen=True)
class Grouping:
    """Count by a column of the cases (and the same one of the tally), then fold the counts
    into groups in Python: cheaper than a function of the column on every row."""

    field: str
    tally: type  # the tally that has the column
    tally_field: str
    key: Callable[[object], object]


def by_region(digits: int) -> Grouping:
    """Group by the first ``digits`` of the region code (9: townships, 12: villages)."""
    return Grouping("region_id", CaseTally, "region", lambda code: code[:digits])


def by_unit() -> Grouping:
    return Grouping("unit_id", CaseUnitTally, "unit", lambda unit: unit or None)


def _month_start(at: datetime.datetime, *, up: bool) -> datetime.datetime:
    """The start of ``at``'s month in the county's time, or of the next one (``up``) unless
    ``at`` is a month's start."""
    tz = timezone.get_default_timezone()
    local = timezone.localtime(at, tz)
    start = datetime.datetime(local.year, local.month, 1, tzinfo=tz)
    if up and start != local:
        start = datetime.datetime(
            local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=tz
        )
    return start


def _period(start: datetime.datetime | None, end: datetime.datetime | None) -> Q:
    q = Q()
    if start:
        q &= Q(registered_at__gte=start)
    if end:
        q &= Q(registered_at__lt=end)
    return q


def _split(start, end) -> tuple[Q | None, Q | None]:
    """The period [start, end) as its whole months (for the tally) and the rest of it (for
    the cases); None where there is nothing."""
    lo = _month_start(start, up=True) if start else None
    hi = _month_start(end, up=False) if end else None
    if lo and hi and lo >= hi:  # no whole month inside
        return None, _period(start, end)
    months = Q()
    if lo:
        months &= Q(month__gte=lo.date())
    if hi:
        months &= Q(month__lt=hi.date())
    edges = [_period(a, b) for a, b in ((start, lo), (hi, end)) if a and b and a < b]
    return months, reduce(operator.or_, edges) if edges else None


def figures_by_group(user, *, group: Grouping, start=None, end=None) -> dict:
    """{group: {figure: Cell}} for the cases in the user's reach registered in [start, end):
    the whole months of the period from the tally, the days before and after them from the
    cases (by (column, flags) pairs from the figures index), and the open overdue cases of
    now. Three queries; equal to counting the cases' columns (tests/test_figures.py)."""
    names = list(COUNTS)
    counts: dict = {}

    def add(key, values):
        into = counts.setdefault(key, [0] * len(names))
        for i, n in enumerate(values):
            into[i] += n

    months, rest = _split(start, end)
    if months is not None:
        tally = (
            group.tally.objects.filter(months, prefix_q("region", user.reach))
            .order_by()
            .values_list(group.tally_field)
            .annotate(*[Sum(name) for name in names])
        )
        for value, *values in tally:
            add(group.key(value), values)
    scope = CaseModel.objects.filter(prefix_q("region_id", user.reach))
    if rest is not None:
        pairs = (
            scope.filter(rest)
            .order_by()
            .values_list(group.field, "flags")
            # COUNT(*), not COUNT(id): the id is not in the figures index (index-only scan).
            .annotate(n=Count("*"))
        )
        folded: Counter = Counter()  # first by group, then each flags' bits once
        for value, flags, n in pairs:
            folded[group.key(value), flags] += n
        for (key, flags), n in folded.items():
            add(key, [n if flags & bit else 0 for bit in BITS.values()])
    overdue: dict = {}
    rows = scope.filter(OVERDUE_OPEN).order_by().values_list(group.field)
    for key, n in rows.annotate(n=Count("*")):
        overdue[group.key(key)] = overdue.get(group.key(key), 0) + n

    result = {}
    for key in counts.keys() | overdue.keys():
        if not any(counts.get(key, ())) and not overdue.get(key):
            continue  # tally rows whose cases all moved elsewhere
        values = dict(zip(names, counts.get(key, [0] * len(names)), strict=True))
        cells = {}
        for name, figure in FIGURES.items():
            if not figure.in_period:
                cells[name] = Cell(overdue.get(key, 0))
            else:
                den = values[figure.denominator] if figure.denominator else None
                cells[name] = Cell(values[figure.numerator], den)
        result[key] = cells
    return result


def total(groups: dict[str, dict[str, Cell]]) -> dict[str, Cell]:
    out = {}
    for key, figure in FIGURES.items():
        cells = [g[key] for g in groups.values()]
        out[key] = Cell(
            sum(c.value for c in cells),
            sum(c.total or 0 for c in cells) if figure.denominator is not None else None,
        )
    return out
