"""The ledger's figures, as data: each is a count of rows (or a rate of two counts) over the
cases registered in a period, so that every figure is also a filter of the ledger that shows
its rows. The formulas are written out in docs/case-figures.md."""

import datetime
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from django.db.models import Case, Count, Q, Value, When
from django.utils.translation import gettext_lazy as _

from minqing.cases.models import FINISHED, MediationResult, Rating, Status

RECEIVED = ~Q(status=Status.MERGED)

# Each case keeps these facts as bits in ``Case.flags`` (kept by the services: FLAGS_EXPR), so
# that the figures count (group, flags) pairs from a small index instead of evaluating every
# condition on every row. The ledger shows a figure's rows from the same conditions.
FLAGS: dict[str, tuple[int, Q]] = {
    "received": (1, RECEIVED),
    "accepted": (2, Q(accepted_on_time__isnull=False)),
    "accepted_on_time": (4, Q(accepted_on_time=True)),
    "answered": (8, Q(answered_on_time__isnull=False)),
    "answered_on_time": (16, Q(answered_on_time=True)),
    "closed": (32, Q(status=Status.CLOSED)),
    "rated": (64, ~Q(last_rating="")),
    "satisfied": (128, Q(last_rating__in=[Rating.SATISFIED, Rating.BASIC])),
    "escalated": (256, Q(escalated_count__gt=0)),
    "sent_back": (512, Q(sent_back_count__gt=0)),
    "extended": (1024, Q(extension_count__gt=0)),
    "merged": (2048, Q(status=Status.MERGED)),
    "mediated": (4096, ~Q(mediation="")),
    "mediation_ok": (8192, Q(mediation=MediationResult.AGREEMENT)),
    "overdue_open": (16384, Q(overdue=True) & ~Q(status__in=FINISHED)),
}
OVERDUE_OPEN = FLAGS["overdue_open"][0]


def _flags_expr():
    terms = [Case(When(q, then=Value(bit)), default=Value(0)) for bit, q in FLAGS.values()]
    return reduce(operator.add, terms)


def refresh_flags(qs) -> int:
    """Recompute ``flags`` for the cases of ``qs`` from their columns."""
    return qs.update(flags=_flags_expr())


@dataclass(frozen=True)
class Figure:
    label: str
    numerator: tuple[str, ...]  # flags that must all be set
    denominator: tuple[str, ...] | None = None  # a rate: numerator / denominator
    in_period: bool = True  # False: a count of now, whatever the registration date

    def rows(self, part: str = "num") -> Q:
        names = self.denominator if part == "den" and self.denominator else self.numerator
        return reduce(operator.and_, (FLAGS[name][1] for name in names))

    def mask(self, part: str = "num") -> int:
        names = self.denominator if part == "den" else self.numerator
        return sum(FLAGS[name][0] for name in names)


FIGURES: dict[str, Figure] = {
    "received": Figure(_("受理件数"), ("received",)),
    "accepted_on_time": Figure(
        _("按时签收率"), ("received", "accepted_on_time"), ("received", "accepted")
    ),
    "answered_on_time": Figure(
        _("按时办结率"), ("received", "answered_on_time"), ("received", "answered")
    ),
    "resolved": Figure(_("办结率"), ("closed",), ("received",)),
    "satisfied": Figure(_("满意率"), ("received", "satisfied"), ("received", "rated")),
    "overdue": Figure(_("当前逾期"), ("overdue_open",), in_period=False),
    "escalated": Figure(_("升级件数"), ("received", "escalated")),
    "sent_back": Figure(_("退单件数"), ("received", "sent_back")),
    "extended": Figure(_("延期件数"), ("received", "extended")),
    "merged": Figure(_("合并件数"), ("merged",)),
    "mediated": Figure(_("调解成功率"), ("received", "mediation_ok"), ("received", "mediated")),
}


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


def _period(start: datetime.datetime | None, end: datetime.datetime | None) -> Q:
    q = Q()
    if start:
        q &= Q(registered_at__gte=start)
    if end:
        q &= Q(registered_at__lt=end)
    return q


@dataclass(frozen=True)
class Grouping:
    """Count by a column (one the figures index holds, for regions), then fold the counts
    into groups in Python: cheaper than a function of the column on every row."""

    field: str
    key: Callable[[object], object]


def by_region(digits: int) -> Grouping:
    """Group by the first ``digits`` of the region code (9: townships, 12: villages)."""
    return Grouping("region_id", lambda code: code[:digits])


def by_unit() -> Grouping:
    return Grouping("unit_id", lambda unit: unit)


def figures_by_group(qs, *, group: Grouping, start=None, end=None) -> dict:
    """{group: {figure: Cell}} for the cases in ``qs`` (already scoped): two queries, the
    (column, flags) pairs of the period and the open overdue cases of now."""
    pairs = (
        qs.filter(_period(start, end))
        .order_by()
        .values_list(group.field, "flags")
        # COUNT(*), not COUNT(id): the id is not in the figures index (index-only scan).
        .annotate(n=Count("*"))
    )
    counts: dict = {}
    for value, flags, n in pairs:
        counts.setdefault(group.key(value), {}).setdefault(flags, 0)
        counts[group.key(value)][flags] += n
    overdue: dict = {}
    rows = qs.filter(FLAGS["overdue_open"][1]).order_by().values_list(group.field)
    for value, n in rows.annotate(n=Count("*")):
        overdue[group.key(value)] = overdue.get(group.key(value), 0) + n

    def count(pairs, mask):
        return sum(n for flags, n in pairs.items() if flags & mask == mask)

    result = {}
    for key in counts.keys() | overdue.keys():
        pairs_of = counts.get(key, {})
        cells = {}
        for name, figure in FIGURES.items():
            if not figure.in_period:
                cells[name] = Cell(overdue.get(key, 0))
                continue
            total_ = count(pairs_of, figure.mask("den")) if figure.denominator else None
            cells[name] = Cell(count(pairs_of, figure.mask()), total_)
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
