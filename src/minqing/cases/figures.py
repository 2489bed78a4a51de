"""The ledger's figures, as data: each is a count of rows (or a rate of two counts) over the
cases registered in a period, so that every figure is also a filter of the ledger that shows
its rows. The formulas are written out in docs/case-figures.md."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from minqing.cases.models import FINISHED, MediationResult, Rating, Status

RECEIVED = ~Q(status=Status.MERGED)


@dataclass(frozen=True)
class Figure:
    label: str
    numerator: Q
    denominator: Q | None = None  # a rate: numerator / denominator
    in_period: bool = True  # False: a count of now, whatever the registration date

    def rows(self, part: str = "num") -> Q:
        return (
            self.denominator if part == "den" and self.denominator is not None else self.numerator
        )


FIGURES: dict[str, Figure] = {
    "received": Figure(_("受理件数"), RECEIVED),
    "accepted_on_time": Figure(
        _("按时签收率"),
        RECEIVED & Q(accepted_on_time=True),
        RECEIVED & Q(accepted_on_time__isnull=False),
    ),
    "answered_on_time": Figure(
        _("按时办结率"),
        RECEIVED & Q(answered_on_time=True),
        RECEIVED & Q(answered_on_time__isnull=False),
    ),
    "resolved": Figure(_("办结率"), Q(status=Status.CLOSED), RECEIVED),
    "satisfied": Figure(
        _("满意率"),
        RECEIVED & Q(last_rating__in=[Rating.SATISFIED, Rating.BASIC]),
        RECEIVED & ~Q(last_rating=""),
    ),
    "overdue": Figure(_("当前逾期"), Q(overdue=True) & ~Q(status__in=FINISHED), in_period=False),
    "escalated": Figure(_("升级件数"), RECEIVED & Q(escalated_count__gt=0)),
    "sent_back": Figure(_("退单件数"), RECEIVED & Q(sent_back_count__gt=0)),
    "extended": Figure(_("延期件数"), RECEIVED & Q(extension_count__gt=0)),
    "merged": Figure(_("合并件数"), Q(status=Status.MERGED)),
    "mediated": Figure(
        _("调解成功率"),
        RECEIVED & Q(mediation=MediationResult.AGREEMENT),
        RECEIVED & ~Q(mediation=""),
    ),
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


def by_region(digits: int):
    """Group by the first ``digits`` of the region code (9: townships, 12: villages)."""
    return Substr("region_id", 1, digits)


def by_unit():
    return F("unit_id")


def figures_by_group(qs, *, group, start=None, end=None) -> dict[str, dict[str, Cell]]:
    """{group: {figure: Cell}} for the cases in ``qs`` (already scoped), grouped by the
    expression ``group`` (by_region, by_unit); one query."""
    period = _period(start, end)
    aggregates = {}
    for key, figure in FIGURES.items():
        scope = period if figure.in_period else Q()
        aggregates[f"n_{key}"] = Count("id", filter=scope & figure.numerator)
        if figure.denominator is not None:
            aggregates[f"d_{key}"] = Count("id", filter=scope & figure.denominator)
    rows = qs.order_by().annotate(group=group).values("group").annotate(**aggregates)
    result = {}
    for row in rows:
        result[row["group"]] = {
            key: Cell(row[f"n_{key}"], row.get(f"d_{key}")) for key, figure in FIGURES.items()
        }
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
