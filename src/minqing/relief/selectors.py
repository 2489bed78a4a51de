"""Reads of relief and reconstruction, always starting from the reader's reach.

A programme is seen by the users of its region and of the regions below (a village cadre
sees the county's programmes), its list rows and payments only within the reader's reach."""

import datetime
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.roles import Cap
from minqing.households.models import Household
from minqing.households.selectors import households_in_reach
from minqing.regions.codes import LEVEL_DIGITS, pad
from minqing.regions.models import Level, Region, prefix_q
from minqing.relief.models import (
    DONE_STAGES,
    BankBatch,
    Depot,
    Entitlement,
    EntitlementList,
    GrantKind,
    HazardSite,
    Payment,
    Programme,
    Project,
    RebuildTarget,
    StockBalance,
)
from minqing.relief.rules import line_querysets


def _up_and_down(field: str, reach: str) -> Q:
    """Rows whose region is within the reach, or is one of the reach's ancestors."""
    ancestors = [pad(reach[:n]) for n in LEVEL_DIGITS.values() if n < len(reach)]
    return prefix_q(field, reach) | Q(**{f"{field}__in": ancestors})


def regions_by_codes(codes: list[str]) -> list[Region]:
    """The regions of some codes or prefixes (130681107), all of them or a ValidationError."""
    codes = [c.strip() for c in codes if c.strip()]
    regions = list(Region.objects.filter(code__in=[pad(c) for c in codes]))
    if len(regions) != len(set(codes)):
        found = {r.code for r in regions}
        wrong = [c for c in codes if pad(c) not in found]
        raise ValidationError(_("区划代码有误：%s") % "、".join(wrong))
    return regions


def households_by_ids(user, ids: list[int]) -> list[Household]:
    """Households by number, each within the reader's reach, or a ValidationError naming the
    numbers that are not (out of reach and missing read the same)."""
    households = list(households_in_reach(user).filter(pk__in=ids))
    missing = sorted(set(ids) - {h.pk for h in households})
    if missing:
        raise ValidationError(
            {"households": _("户编号不存在或不在您的管辖范围内：%s") % "、".join(map(str, missing))}
        )
    return households


def programmes_in_reach(user) -> QuerySet[Programme]:
    return Programme.objects.filter(_up_and_down("region_id", user.reach))


def _can_write(user, region_code: str) -> bool:
    return user.can(Cap.WRITE) and user.reaches(region_code)


def get_programme_for_user(user, pk) -> tuple[Programme, bool]:
    programme = programmes_in_reach(user).select_related("region").filter(pk=pk).first()
    if programme is None:
        raise Http404
    return programme, _can_write(user, programme.region_id)


def get_list_for_user(user, pk) -> tuple[EntitlementList, bool]:
    found = (
        EntitlementList.objects.filter(programme__in=programmes_in_reach(user), pk=pk)
        .select_related("programme", "cycle", "ruleset", "corrects")
        .first()
    )
    if found is None:
        raise Http404
    return found, _can_write(user, found.programme.region_id)


def get_entitlement_for_user(user, pk) -> tuple[Entitlement, bool]:
    found = (
        Entitlement.objects.filter(prefix_q("region_id", user.reach), pk=pk)
        .select_related("household", "line__material", "entitlement_list__programme")
        .first()
    )
    if found is None:
        raise Http404
    return found, user.can(Cap.WRITE)


def get_batch_for_user(user, pk) -> BankBatch:
    batch = BankBatch.objects.filter(
        entitlement_list__programme__in=programmes_in_reach(user), pk=pk
    ).first()
    if batch is None:
        raise Http404
    return batch


def rule_preview(programme: Programme, lines, match: str, on: datetime.date) -> list[dict]:
    """For each line, how many households it would grant now (the live preview)."""
    return [
        {"line": line, "households": qs.count()}
        for line, qs in line_querysets(programme, lines, match, on)
    ]


def entitlements_in_reach(user, entitlement_list: EntitlementList) -> QuerySet[Entitlement]:
    return entitlement_list.entitlements.filter(prefix_q("region_id", user.reach))


def line_counts(user, entitlement_list: EntitlementList) -> list[dict]:
    """Per rule line: households granted (not excluded), the total, and how many were paid."""
    rows = (
        entitlements_in_reach(user, entitlement_list)
        .filter(excluded=False)
        .values("line")
        .annotate(households=Count("id"))
    )
    counts = {r["line"]: r["households"] for r in rows}
    paid = dict(
        Payment.objects.filter(
            entitlement__entitlement_list=entitlement_list, status=Payment.Status.PAID
        )
        .filter(prefix_q("region_id", user.reach))
        .values("entitlement__line")
        .annotate(n=Count("id"))
        .values_list("entitlement__line", "n")
    )
    result = []
    for line in entitlement_list.ruleset.lines.select_related("material"):
        n = counts.get(line.pk, 0)
        result.append(
            {
                "line": line,
                "households": n,
                "paid": paid.get(line.pk, 0),
                "amount_fen": line.amount_fen * n,
                "quantity": line.quantity * n,
            }
        )
    return result


def paid_lines(entitlement_list: EntitlementList, household_ids) -> dict:
    """{(household, line code): live payment} of the list's cycle, for the distribution page."""
    payments = (
        Payment.objects.filter(
            programme_id=entitlement_list.programme_id,
            cycle_id=entitlement_list.cycle_id,
            household_id__in=list(household_ids),
        )
        .exclude(status=Payment.Status.FAILED)
        .select_related("paid_by")
    )
    return {(p.household_id, p.line_code): p for p in payments}


def list_reconciliation(entitlement_list: EntitlementList) -> dict:
    """The whole list (not a reader's part): granted, paid, failed and open per line."""
    by_line = defaultdict(lambda: {"granted": 0, "paid": 0, "failed": 0})
    for row in (
        entitlement_list.entitlements.filter(excluded=False)
        .values("line__code")
        .annotate(n=Count("id"))
    ):
        by_line[row["line__code"]]["granted"] = row["n"]
    for row in (
        Payment.objects.filter(entitlement__entitlement_list=entitlement_list)
        .values("line_code", "status")
        .annotate(n=Count("id"))
    ):
        if row["status"] in ("paid", "failed"):
            by_line[row["line_code"]][row["status"]] += row["n"]
    lines = {}
    for code, figures in by_line.items():
        figures["open"] = figures["granted"] - figures["paid"]
        lines[code] = figures
    return {"lines": lines, "at": timezone.now().isoformat(timespec="seconds")}


def household_received(user, household: Household) -> list[Payment]:
    """Everything the household was given, with programme, cycle and rule version."""
    return list(
        Payment.objects.filter(household=household)
        .exclude(status=Payment.Status.FAILED)
        .select_related(
            "programme",
            "cycle",
            "paid_by",
            "depot",
            "entitlement__line__material",
            "entitlement__line__ruleset",
        )
        .order_by("-paid_at", "-id")
    )


def household_entitlements(household: Household) -> list[Entitlement]:
    """Lists the household is on (approved ones), to show what is still to come."""
    return list(
        Entitlement.objects.filter(household=household, excluded=False)
        .filter(entitlement_list__status="approved")
        .select_related(
            "line__material",
            "line__ruleset",
            "entitlement_list__programme",
            "entitlement_list__cycle",
        )
    )


def depots_in_reach(user) -> QuerySet[Depot]:
    return Depot.objects.filter(_up_and_down("region_id", user.reach))


def stock_balances(user) -> QuerySet[StockBalance]:
    return (
        StockBalance.objects.filter(depot__in=depots_in_reach(user))
        .select_related("depot", "material")
        .order_by("depot__name", "material__name")
    )


# ---------------------------------------------------------------------------------------------
# Reconstruction


def projects_in_reach(user) -> QuerySet[Project]:
    return Project.objects.filter(prefix_q("region_id", user.reach))


def get_project_for_user(user, pk) -> tuple[Project, bool]:
    project = projects_in_reach(user).select_related("household", "region").filter(pk=pk).first()
    if project is None:
        raise Http404
    return project, user.can(Cap.WRITE)


def completion_rates(user, *, level: int) -> list[dict]:
    """Projects and finished projects per township (level 4) or village (level 5), with the
    rate, whether all are done, and for townships the target and the veto flag."""
    digits = LEVEL_DIGITS[level]
    counts = defaultdict(lambda: [0, 0])
    rows = (
        projects_in_reach(user)
        .values("region_id", "stage")
        .annotate(n=Count("id"))
        .values_list("region_id", "stage", "n")
    )
    for region_id, stage, n in rows:
        key = pad(region_id[:digits])
        counts[key][0] += n
        if stage in DONE_STAGES:
            counts[key][1] += n
    names = dict(Region.objects.filter(code__in=counts).values_list("code", "name"))
    targets = {}
    if level == Level.TOWNSHIP:
        targets = {t.township_id: t for t in RebuildTarget.objects.filter(township__in=counts)}
    today = timezone.localdate()
    result = []
    for code in sorted(counts):
        total, done = counts[code]
        rate = round(done * 100 / total, 1) if total else 0.0
        target = targets.get(code)
        result.append(
            {
                "code": code,
                "name": names.get(code, code),
                "projects": total,
                "done": done,
                "rate": rate,
                "finished": total > 0 and done == total,
                "target": target,
                "veto": bool(target and today > target.deadline and rate < target.target_percent),
            }
        )
    return result


def project_received(project: Project) -> dict:
    """The materials and money a project's household was given (all programmes)."""
    payments = Payment.objects.filter(household_id=project.household_id, status=Payment.Status.PAID)
    cash = (
        payments.filter(entitlement__line__kind=GrantKind.CASH).aggregate(
            s=Sum("entitlement__line__amount_fen")
        )["s"]
        or 0
    )
    materials = (
        payments.filter(entitlement__line__kind=GrantKind.MATERIAL)
        .values("entitlement__line__material__name", "entitlement__line__material__unit")
        .annotate(q=Sum("entitlement__line__quantity"))
        .order_by("entitlement__line__material__name")
    )
    return {
        "cash_fen": cash,
        "materials": [
            {
                "name": m["entitlement__line__material__name"],
                "unit": m["entitlement__line__material__unit"],
                "quantity": m["q"],
            }
            for m in materials
        ],
    }


# ---------------------------------------------------------------------------------------------
# Hazard sites


def hazard_sites_in_reach(user) -> QuerySet[HazardSite]:
    return HazardSite.objects.filter(prefix_q("region_id", user.reach))


def get_hazard_site_for_user(user, pk) -> tuple[HazardSite, bool]:
    site = hazard_sites_in_reach(user).select_related("region").filter(pk=pk).first()
    if site is None:
        raise Http404
    return site, user.can(Cap.WRITE)
