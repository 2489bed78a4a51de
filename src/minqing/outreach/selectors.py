"""Reads of outreach, always starting from the reader's reach. Coverage figures come from the
counters (Tally, Enrolment's must-visit and unpaired partial indexes, DayTally, CadreTally),
grouped by the code prefix of the level below the region asked for."""

import datetime
import functools
import operator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from minqing.accounts.models import User
from minqing.accounts.roles import Cap
from minqing.accounts.selectors import users_in_reach
from minqing.households.models import Household
from minqing.lib import statements
from minqing.outreach.models import (
    CadreTally,
    Campaign,
    DayTally,
    Enrolment,
    Flag,
    Need,
    Pairing,
    PairingKind,
    Tally,
    Visit,
)
from minqing.regions.codes import DIGITS_LEVEL, LEVEL_DIGITS, pad
from minqing.regions.models import Region, prefix_q

IDLE_DAYS = 7


def campaigns_for(user) -> list[Campaign]:
    """Campaigns with any region in the user's reach (or containing it), newest first."""
    return [c for c in Campaign.objects.order_by("-start", "-id") if c.overlaps(user.reach)]


def get_campaign_for_user(user, pk) -> tuple[Campaign, bool]:
    campaign = statements.get_one(Campaign, id=pk)
    if campaign is None or not campaign.overlaps(user.reach):
        raise Http404
    return campaign, user.can(Cap.WRITE)


def get_campaign_and_household_for_user(user, campaign_pk, household_pk) -> tuple:
    """(campaign, household, can write): what every visit posted is about, read in one
    statement (lib.statements); 404 if either is missing or out of the user's reach."""
    found = statements.get_each((Campaign, {"id": campaign_pk}), (Household, {"id": household_pk}))
    if found is None:
        raise Http404
    require_reach(user, *found)
    return *found, user.can(Cap.WRITE)


def require_reach(user, campaign: Campaign, household: Household) -> None:
    """404 unless the campaign and the household are both within the user's reach."""
    if not campaign.overlaps(user.reach) or not user.reaches(household.region_id):
        raise Http404


def visits_in_reach(user) -> QuerySet[Visit]:
    return Visit.objects.filter(prefix_q("region_id", user.reach))


def get_visit_for_user(user, pk) -> tuple[Visit, bool]:
    visit = (
        visits_in_reach(user)
        .select_related("campaign", "household", "region", "author")
        .filter(pk=pk)
        .first()
    )
    if visit is None:
        raise Http404
    return visit, user.can(Cap.WRITE)


def get_cadre_for_user(user, pk) -> User:
    """A cadre whose visits the reader may list: a user in the reader's reach, or one paired with
    or visiting households in it (a township's cadre working in a village); 404 otherwise."""
    works_here = Q(
        pk__in=Enrolment.objects.filter(prefix_q("region_id", user.reach)).values("cadre")
    )
    works_here |= Q(pk__in=visits_in_reach(user).values("author"))
    cadre = (users_in_reach(user) | User.objects.filter(works_here)).filter(pk=pk).first()
    if cadre is None:
        raise Http404
    return cadre


def switched_off_cadres(user, campaign: Campaign) -> QuerySet[User]:
    """Switched-off accounts in the user's reach still holding open pairings of the campaign
    within it: a leaving cadre's account is usually switched off before the handover."""
    holding = Pairing.objects.filter(
        campaign=campaign, cadre=OuterRef("pk"), end__isnull=True
    ).filter(prefix_q("region_id", user.reach))
    return users_in_reach(user).filter(Exists(holding), is_active=False)


def _switched_off_ids(campaign: Campaign) -> list[int]:
    """Switched-off accounts still paired with households of the campaign: those households
    count as unpaired. There are few or none, so their households are looked up by cadre
    (enrolment_cadre_idx) rather than every household joined to its cadre's account, which
    would cost the unpaired figure its small partial index."""
    paired = Enrolment.objects.filter(campaign=campaign, cadre=OuterRef("pk"))
    return list(User.objects.filter(Exists(paired), is_active=False).values_list("pk", flat=True))


def unpaired_parts(campaign: Campaign) -> list[Q]:
    """未包联, as every figure, list and filter counts it: an enrolment without a cadre, or
    with a switched-off one. Disjoint parts, so that coverage counts each on its own index
    (the first on enrolment_unpaired_idx); ``unpaired_q`` joins them for the rows."""
    parts = [Q(cadre__isnull=True)]
    if switched_off := _switched_off_ids(campaign):
        parts.append(Q(cadre__in=switched_off))
    return parts


def unpaired_q(campaign: Campaign) -> Q:
    """The enrolments ``unpaired_parts`` counts, as one filter."""
    return functools.reduce(operator.or_, unpaired_parts(campaign))


def unpaired_household_ids(campaign: Campaign) -> QuerySet:
    """The households coverage counts as unpaired, for the pairing page's "只看未包联"."""
    return Enrolment.objects.filter(unpaired_q(campaign), campaign=campaign).values("household_id")


def switched_off_holders(campaign: Campaign, household_ids: list[int]) -> dict[int, User]:
    """{household id: its cadre} for those of the households that count as unpaired although
    they have a cadre in the campaign: a switched-off account (``unpaired_parts``)."""
    if not household_ids:
        return {}
    rows = Enrolment.objects.filter(
        unpaired_q(campaign), campaign=campaign, household_id__in=household_ids
    ).filter(cadre__isnull=False)
    return {e.household_id: e.cadre for e in rows.select_related("cadre")}


def get_flag_for_user(user, pk) -> Flag:
    flag = Flag.objects.filter(prefix_q("region_id", user.reach), pk=pk).first()
    if flag is None:
        raise Http404
    return flag


def get_pairing_for_user(user, pk) -> Pairing:
    pairing = (
        Pairing.objects.filter(prefix_q("region_id", user.reach), pk=pk)
        .select_related("campaign")
        .first()
    )
    if pairing is None:
        raise Http404
    return pairing


def scope_prefix(user, raw: str) -> str:
    """The region prefix asked for (a county, township or village code, padded or not),
    narrowed to the user's reach; outside it is 404."""
    raw = (raw or "").strip()
    if not raw:
        return user.reach
    # Only a region's own digits (2, 4, 6, 9 or 12) name it: "1306811" would be a township's
    # first digit and no region. A padded code keeps its level's: 130681001000 → 130681001.
    if not raw.isdigit() or len(raw) not in DIGITS_LEVEL:
        raise Http404
    region = Region.objects.filter(code=pad(raw)).first()
    if region is None or not region.prefix.startswith(user.reach):
        raise Http404
    return region.prefix


@dataclass
class Figures:
    households: int = 0
    rounds: list[int] = field(default_factory=list)  # households visited ≥ k times, k = 1..
    must_visit: int = 0
    overdue: int = 0
    unpaired: int = 0
    visits: int = 0

    @property
    def must_covered(self) -> int:
        return self.must_visit - self.overdue

    def percent(self, n: int, of: int | None = None) -> float:
        whole = self.households if of is None else of
        return round(100 * n / whole, 1) if whole else 0.0

    @property
    def round_rows(self) -> list[tuple[int, int, float]]:
        return [(k, n, self.percent(n)) for k, n in enumerate(self.rounds, start=1)]

    @property
    def must_percent(self) -> float:
        return self.percent(self.must_covered, self.must_visit) if self.must_visit else 100.0


def _child_digits(prefix: str) -> int | None:
    level = DIGITS_LEVEL.get(len(prefix))
    if level is None or level >= 5:
        return None
    return LEVEL_DIGITS[level + 1]


def coverage(
    campaign: Campaign, prefix: str, *, today: datetime.date | None = None, by: int | None = None
) -> dict[str, Figures]:
    """Figures for ``prefix`` ({"": total}), or, with ``by`` (a number of code digits), for
    each region under it ({child prefix: figures}): three grouped queries on the counters."""
    today = today or timezone.localdate()
    figures: dict[str, Figures] = {} if by else {"": Figures(rounds=[0] * campaign.rounds)}

    def grouped(qs, *extra, **aggregates):
        qs = qs.filter(campaign=campaign).filter(prefix_q("region_id", prefix))
        if by:
            qs = qs.annotate(key=Substr("region_id", 1, by))
        fields = ["key", *extra] if by else list(extra)
        if not fields:
            return [("", qs.aggregate(**aggregates))]
        rows = qs.values(*fields).annotate(**aggregates).order_by()
        return [(row.get("key", ""), row) for row in rows]

    def of(k) -> Figures:
        return figures.setdefault(k, Figures(rounds=[0] * campaign.rounds))

    for k, row in grouped(Tally.objects, "round", n=Sum("households"), visits=Sum("visits")):
        _put_round(of(k), row["round"], row["n"] or 0)
        if row["round"] == 0:
            of(k).visits = row["visits"] or 0
    # Counting next_due, not id: every column read is in enrolment_must_visit_idx, so that
    # PostgreSQL answers from the index alone (an index-only scan) instead of visiting the
    # scattered rows of every must-visit household.
    for k, row in grouped(
        Enrolment.objects.filter(next_due__isnull=False),
        must=Count("next_due"),
        overdue=Count("next_due", filter=Q(next_due__lt=today)),
    ):
        of(k).must_visit, of(k).overdue = row["must"] or 0, row["overdue"] or 0
    for part in unpaired_parts(campaign):
        for k, row in grouped(Enrolment.objects.filter(part), n=Count("id")):
            of(k).unpaired += row["n"] or 0
    return figures


def _put_round(figures: Figures, k: int, n: int) -> None:
    if k == 0:
        figures.households = n
    elif k <= len(figures.rounds):
        figures.rounds[k - 1] = n


def coverage_table(campaign: Campaign, prefix: str, *, today=None) -> list[dict]:
    """One row per region under ``prefix`` (townships of a county, villages of a township)."""
    return coverage_with_table(campaign, prefix, today=today)[1]


def coverage_with_table(
    campaign: Campaign, prefix: str, *, today=None
) -> tuple[Figures, list[dict]]:
    """The region's figures and its table, from one grouped pass: the total is the sum of
    the rows (a village, having no rows, is counted directly)."""
    digits = _child_digits(prefix)
    if digits is None:
        return coverage(campaign, prefix, today=today)[""], []
    figures = coverage(campaign, prefix, today=today, by=digits)
    names = dict(
        Region.objects.filter(code__in=[pad(k) for k in figures]).values_list("code", "short_name")
    )
    total = Figures(rounds=[0] * campaign.rounds)
    for f in figures.values():
        total.households += f.households
        total.rounds = [a + b for a, b in zip(total.rounds, f.rounds, strict=True)]
        total.must_visit += f.must_visit
        total.overdue += f.overdue
        total.unpaired += f.unpaired
        total.visits += f.visits
    rows = [
        {"prefix": k, "name": names.get(pad(k), k), "figures": figures[k]}
        for k in sorted(figures)
        if figures[k].households
    ]
    return total, rows


# The rows behind each figure.
SHOW = {
    "all": Q(),
    "visited": Q(visits__gt=0),
    "unvisited": Q(visits=0),
    "overdue": Q(next_due__isnull=False),  # and next_due < today, added below
    "covered": Q(next_due__isnull=False),  # and next_due >= today: visited within the period
    "must": Q(next_due__isnull=False),
    "unpaired": Q(cadre__isnull=True),  # and a switched-off cadre's: unpaired_q, below
    "promised": Q(promise_open=True),
}


def enrolment_rows(
    campaign: Campaign, prefix: str, show: str, *, k: int = 0, cadre=None, today=None
) -> QuerySet[Enrolment]:
    """``show`` is one of SHOW, or "round" (visited at least k times) / "missing" (fewer);
    with ``cadre``, only the households paired with that cadre (the cadre table's figures)."""
    today = today or timezone.localdate()
    qs = Enrolment.objects.filter(campaign=campaign).filter(prefix_q("region_id", prefix))
    if cadre is not None:
        qs = qs.filter(cadre=cadre)
    if show == "round":
        qs = qs.filter(visits__gte=k)
    elif show == "missing":
        qs = qs.filter(visits__lt=k)
    elif show == "unpaired":  # as coverage counts them
        qs = qs.filter(unpaired_q(campaign))
    else:
        qs = qs.filter(SHOW.get(show, Q()))
        if show == "overdue":
            qs = qs.filter(next_due__lt=today)
        elif show == "covered":
            qs = qs.filter(next_due__gte=today)
    return qs.select_related("household", "region", "cadre")


def gap_list(campaign: Campaign, prefix: str, *, today=None) -> QuerySet[Enrolment]:
    """Must-visit households not visited within their period, with their paired cadre."""
    return enrolment_rows(campaign, prefix, "overdue", today=today).order_by("next_due", "id")


def _visits_in(campaign: Campaign, prefix: str) -> QuerySet[Visit]:
    """The campaign's visits in a region, found by the region's index. The campaign is compared
    as ``campaign_id + 0``: SQLite without statistics (no ANALYZE) would otherwise take
    visit_campaign_time_idx for its equality and read every visit of the county (1.5 s for a
    village at 涿州市's size, against 2 ms)."""
    return (
        Visit.objects.alias(of_campaign=F("campaign_id") + 0)
        .filter(of_campaign=campaign.pk)
        .filter(prefix_q("region_id", prefix))
    )


def cadre_table(
    campaign: Campaign, prefix: str, *, idle_days: int = IDLE_DAYS, now=None
) -> list[dict]:
    """Cadres with open pairings in ``prefix``: households paired and visited there, and their
    visits there (the rows of ``visit_list`` for the cadre and ``prefix``), the last one, and
    whether they are idle there (no visit in ``idle_days``)."""
    now = now or timezone.now()
    paired = (
        Enrolment.objects.filter(campaign=campaign, cadre__isnull=False)
        .filter(prefix_q("region_id", prefix))
        .values("cadre")
        .annotate(households=Count("id"), visited=Count("id", filter=Q(visits__gt=0)))
        .order_by()
    )
    counts = {row["cadre"]: row for row in paired}
    if len(prefix) <= 6 and campaign.within(prefix):
        # A county (or more) holding the whole campaign holds every visit of it, also those of
        # townships a narrowed campaign left: the cadre's counter is the same figure here,
        # without reading the visits.
        done = {
            t.cadre_id: (t.visits, t.last_visit_at)
            for t in CadreTally.objects.filter(campaign=campaign, cadre__in=list(counts))
        }
    else:
        # A township or village: its visits only, found by their region's index (not the
        # campaign's, which would read the whole county's).
        done = {
            row["author"]: (row["n"], row["last"])
            for row in _visits_in(campaign, prefix)
            .values("author")
            .annotate(n=Count("id"), last=Max("visited_at"))
            .order_by()
        }
    since = now - datetime.timedelta(days=idle_days)
    rows = []
    for cadre in User.objects.filter(pk__in=list(counts)).order_by("full_name", "id"):
        visits, last = done.get(cadre.pk, (0, None))
        rows.append(
            {
                "cadre": cadre,
                "households": counts[cadre.pk]["households"],
                "visited": counts[cadre.pk]["visited"],
                "visits": visits,
                "last_visit_at": last,
                "idle": last is None or last < since,
            }
        )
    return rows


def coverage_series(campaign: Campaign, prefix: str, households: int, *, today=None) -> dict:
    """Per day with visits (`labels`, ISO dates): the visits, and the share of households
    visited at least once so far (%). The chart draws them on a time axis from `start` to
    `end`, so a day without visits keeps its width on the axis without being sent: a
    four-month campaign is at most ~120 entries per list, a few kilobytes."""
    rows = (
        DayTally.objects.filter(campaign=campaign)
        .filter(prefix_q("region_id", prefix))
        .values("day")
        .annotate(visits=Sum("visits"), first=Sum("first_visits"))
        .order_by("day")
    )
    # The axis runs from the campaign's start to today (its end once it is over), and always
    # takes in every day that has visits.
    start = campaign.start
    end = max(start, min(campaign.end, today or timezone.localdate()))
    labels, visits, covered, running = [], [], [], 0
    for row in rows:
        running += row["first"] or 0
        labels.append(row["day"].isoformat())
        visits.append(row["visits"] or 0)
        covered.append(round(100 * running / households, 1) if households else 0)
        start, end = min(start, row["day"]), max(end, row["day"])
    return {
        "labels": labels,
        "visits": visits,
        "covered": covered,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def my_households(user, *, today=None) -> list[Enrolment]:
    """The cadre's paired households in running campaigns, what is due first: must-visit
    overdue, never visited this campaign, promised follow-ups, then the least visited."""
    today = today or timezone.localdate()
    rows = list(
        Enrolment.objects.filter(
            cadre=user, campaign__start__lte=today, campaign__end__gte=today
        ).select_related("household", "campaign", "region")
    )
    for row in rows:
        row.overdue = row.overdue_on(today)
        row.due_rank = 0 if row.overdue else 1 if row.visits == 0 else 2 if row.promise_open else 3
    rows.sort(
        key=lambda r: (
            r.due_rank,
            r.next_due or datetime.date.max,
            r.visits,
            r.last_visit_at or timezone.now(),
            r.household_id,
        )
    )
    return rows


def household_visits(user, household: Household) -> QuerySet[Visit]:
    return (
        visits_in_reach(user)
        .filter(household=household)
        .select_related("campaign", "author")
        .order_by("-visited_at", "-id")
    )


def household_pairings(household: Household) -> QuerySet[Pairing]:
    return (
        Pairing.objects.filter(household=household, kind=PairingKind.CADRE_HOUSEHOLD)
        .select_related("campaign", "cadre")
        .order_by("-start", "-id")
    )


def visit_list(user, *, campaign=None, prefix="", cadre=None, flagged=False) -> QuerySet[Visit]:
    qs = visits_in_reach(user)
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    if prefix:
        qs = qs.filter(prefix_q("region_id", prefix))
    if cadre is not None:
        qs = qs.filter(author=cadre)
    if flagged:
        # Across the reverse key a plain filter is a LEFT JOIN, which a visit without any flag
        # passes too: ask for an open flag.
        qs = qs.filter(Exists(Flag.objects.filter(visit=OuterRef("pk"), cleared_at__isnull=True)))
    return qs.select_related("household", "author", "region")


def _month_bounds(month: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = month.replace(day=1)
    return first, (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)


def rollup_months(
    campaign: Campaign, *, today: datetime.date | None = None
) -> tuple[datetime.date, datetime.date]:
    """The first and the last month a roll-up can be made for: the campaign's months up to the
    current one (the last is before the first while the campaign has not begun)."""
    today = today or timezone.localdate()
    return campaign.start.replace(day=1), min(campaign.end, today).replace(day=1)


def rollup_due_month(campaign: Campaign, *, today: datetime.date | None = None) -> datetime.date:
    """The month whose report is due next: last month's until the campaign's report day
    (每月报送日), this month's after it; kept within ``rollup_months``."""
    today = today or timezone.localdate()
    due = today.replace(day=1)
    if today.day <= campaign.report_day:
        due = (due - datetime.timedelta(days=1)).replace(day=1)
    first, last = rollup_months(campaign, today=today)
    return max(first, min(due, last))


def rollup_month(campaign: Campaign, raw: str, *, today: datetime.date | None = None):
    """The month asked for (``YYYY-MM``), or else the month whose report is due. A month the
    campaign did not run in, or that has not begun, is refused (ValidationError): a sheet of
    it would carry the households in scope under a month with nothing to report, and go
    upward looking like a report."""
    today = today or timezone.localdate()
    raw = (raw or "").strip()
    if not raw:
        return rollup_due_month(campaign, today=today)
    try:
        month = datetime.datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        raise ValidationError(gettext("月份应写作 YYYY-MM，例如 2026-11")) from None
    label = f"{month:%Y年%m月}"
    if month > today.replace(day=1):
        raise ValidationError(gettext("%(month)s尚未开始，无法导出月报") % {"month": label})
    first, last = rollup_months(campaign, today=today)
    if not first <= month <= last:
        raise ValidationError(
            gettext("%(month)s不在活动期间（%(start)s 至 %(end)s），无法导出月报")
            % {"month": label, "start": campaign.start, "end": campaign.end}
        )
    return month


ROLLUP_DIFFICULTY = ("dibao", "tekun", "dibao_edge")  # 低保, 特困, 低保边缘


def _campaign_part(campaign: Campaign, prefix: str) -> Q:
    """The rows (by ``region_id``) of the part of ``prefix`` the campaign covers: each of its
    regions inside the prefix, or the prefix itself where one of them contains it."""
    q = Q(pk__in=[])
    for region in campaign.regions:
        if region.startswith(prefix):
            q |= prefix_q("region_id", region)
        elif prefix.startswith(region):
            q |= prefix_q("region_id", prefix)
    return q


def rollup_digits(prefix: str) -> int:
    """The digits of the roll-up's rows: the level below ``prefix``; a village is its own row."""
    return _child_digits(prefix) or len(prefix) or LEVEL_DIGITS[1]


def monthly_rollup(campaign: Campaign, prefix: str, month: datetime.date) -> list[dict]:
    """One row per region a level below ``prefix`` (the townships of a county, the villages of
    a township, a village itself), in the part of it the campaign covers, for the month:
    households in scope (在册), those of them in difficulty (低保, 特困, 低保边缘 held by the
    household on the month's last day), households visited, visits and needs found in the
    month. The sheet a county sends upward by the report day."""
    from minqing.households.models import CategoryGrant

    first, last = _month_bounds(month)
    key = Substr("region_id", 1, rollup_digits(prefix))
    part = _campaign_part(campaign, prefix)
    rows: dict[str, dict] = {}

    def put(qs, name, counted="id", distinct=False):
        counts = qs.annotate(k=key).values("k").annotate(n=Count(counted, distinct=distinct))
        for row in counts.order_by():
            rows.setdefault(row["k"], {})[name] = row["n"]

    enrolled = Enrolment.objects.filter(part, campaign=campaign)
    put(enrolled, "households")
    # Of the households in scope, so that a household closed or out of the campaign's regions
    # is in neither figure.
    held = CategoryGrant.objects.filter(
        Q(end__isnull=True) | Q(end__gte=last),
        household=OuterRef("household_id"),
        category__code__in=ROLLUP_DIFFICULTY,
        start__lte=last,
    )
    put(enrolled.filter(Exists(held)), "difficulty")
    visits = Visit.objects.filter(
        part, campaign=campaign, visited_at__date__gte=first, visited_at__date__lte=last
    )
    put(visits, "visits")
    put(visits, "visited", "household", distinct=True)
    put(
        Need.objects.filter(
            part,
            visit__campaign=campaign,
            visit__visited_at__date__gte=first,
            visit__visited_at__date__lte=last,
        ),
        "needs",
    )
    names = dict(
        Region.objects.filter(code__in=[pad(k) for k in rows]).values_list("code", "short_name")
    )
    return [{"prefix": k, "name": names.get(pad(k), k), **rows[k]} for k in sorted(rows)]


def last_visit_day(campaign: Campaign) -> datetime.date | None:
    return DayTally.objects.filter(campaign=campaign).aggregate(d=Max("day"))["d"]
