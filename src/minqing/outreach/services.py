"""Every write of outreach. A visit updates the coverage counters (Enrolment, Tally, DayTally,
CadreTally) in the same transaction, so that coverage is right the moment a visit is saved and
never needs to scan the visits. Each service checks the actor's reach and writes its audit row
in the same transaction."""

import datetime
import functools
import hashlib
import hmac
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, IntegerField, Max, Q, Value, When
from django.db.models.functions import Greatest, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.access import require_write
from minqing.accounts.models import OrgUnit, User
from minqing.accounts.roles import Cap
from minqing.audit.models import AuditLog
from minqing.audit.services import audit_record, audit_row, diff, snapshot
from minqing.households.models import Category, CategoryGrant, Household
from minqing.lib import statements
from minqing.lib.masking import mask_phone
from minqing.outreach import hooks, selectors
from minqing.outreach.models import (
    DEFAULT_ASPECTS,
    Amendment,
    CadreTally,
    Campaign,
    DayTally,
    Enrolment,
    Flag,
    FlagKind,
    Need,
    Pairing,
    PairingKind,
    Tally,
    Visit,
    VisitPhoto,
)
from minqing.regions.codes import is_code, pad
from minqing.regions.models import Level, Region, prefix_q

log = logging.getLogger(__name__)

EDIT_WINDOW = datetime.timedelta(hours=24)
# Two visits by one cadre in different villages closer than this cannot both be true.
IMPOSSIBLE_WINDOW = datetime.timedelta(minutes=10)
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = datetime.timedelta(minutes=10)
CODE_LIFETIME = datetime.timedelta(minutes=30)
CODE_TRIES = 5  # wrong codes before the code is void
CODES_PER_VISIT = 5  # codes sent for one visit, at most
SIGNATURE_MAX_BYTES = 512 * 1024
CAMPAIGN_FIELDS = [
    "name",
    "kind",
    "start",
    "end",
    "regions",
    "rounds",
    "must_visit",
    "aspects",
    "report_day",
]
VISIT_EDIT_FIELDS = [
    "address",
    "aspects",
    "family",
    "thinking",
    "difficulty",
    "help_needed",
    "found",
    "promised",
]


def _audit(actor, action, entity, pk, region, changes=None):
    audit_record(
        actor=actor,
        action=action,
        entity=f"outreach.{entity}",
        entity_id=pk,
        region_code=region,
        changes=changes,
    )


# ---------------------------------------------------------------------------------------------
# Campaigns


def _clean_campaign(
    actor, *, name, start, end, regions, rounds, must_visit, aspects, report_day
) -> dict:
    errors = {}
    if not name.strip():
        errors["name"] = _("请填写活动名称")
    if end < start:
        errors["end"] = _("结束日期不能早于开始日期")
    if not 1 <= rounds <= 12:
        errors["rounds"] = _("走访轮次应在 1 到 12 之间")
    if not 1 <= report_day <= 28:
        errors["report_day"] = _("每月报送日应在 1 到 28 之间")
    prefixes = sorted({r.strip() for r in regions if r.strip()})
    if not prefixes:
        errors["regions"] = _("请选择活动覆盖的区划")
    for prefix in prefixes:
        if not prefix.isdigit() or len(prefix) not in (6, 9, 12) or not is_code(pad(prefix)):
            errors["regions"] = _("区划代码 %(code)s 不正确（应为 6、9 或 12 位）") % {
                "code": prefix
            }
        elif not Region.objects.filter(code=pad(prefix)).exists():
            errors["regions"] = _("没有区划代码 %(code)s") % {"code": prefix}
        elif actor is not None and not actor.reaches(pad(prefix)):
            errors["regions"] = _("区划 %(code)s 不在您的管辖范围内") % {"code": prefix}
    codes = {c.code for c in Category.objects.all()}
    rules = []
    for rule in must_visit:
        code, days = rule.get("category"), rule.get("every_days")
        if code not in codes:
            errors["must_visit"] = _("必访规则中的类别 %(code)s 不存在") % {"code": code}
        elif not isinstance(days, int) or not 1 <= days <= 366:
            errors["must_visit"] = _("必访规则的间隔天数应在 1 到 366 之间")
        else:
            rules.append({"category": code, "every_days": days})
    aspects = [a.strip() for a in aspects if a.strip()] or list(DEFAULT_ASPECTS)
    if errors:
        raise ValidationError(errors)
    for prefix in prefixes:
        require_write(actor, pad(prefix))
    return {
        "name": name.strip(),
        "start": start,
        "end": end,
        "regions": prefixes,
        "rounds": rounds,
        "must_visit": rules,
        "aspects": aspects,
        "report_day": report_day,
    }


@transaction.atomic
def campaign_create(
    *,
    actor,
    name: str,
    kind: str,
    start: datetime.date,
    end: datetime.date,
    regions: Sequence[str],
    rounds: int = 1,
    must_visit: Sequence[dict] = (),
    aspects: Sequence[str] = (),
    report_day: int = 20,
) -> Campaign:
    """A campaign, with every household of its regions enrolled."""
    fields = _clean_campaign(
        actor,
        name=name,
        start=start,
        end=end,
        regions=regions,
        rounds=rounds,
        must_visit=must_visit,
        aspects=aspects,
        report_day=report_day,
    )
    campaign = Campaign.objects.create(kind=kind, created_by=_user(actor), **fields)
    enrolled = campaign_enrol(campaign=campaign)
    _audit(
        actor,
        "create",
        "campaign",
        campaign.pk,
        pad(campaign.regions[0]),
        {"name": [None, campaign.name], "households": [None, enrolled]},
    )
    return campaign


@transaction.atomic
def campaign_update(*, actor, campaign: Campaign, **changes) -> Campaign:
    """Name, period, rules; the regions and the number of rounds are fixed once it started.
    Only a user whose reach covers all of the campaign's regions may change it."""
    if actor is not None and not campaign.within(actor.reach):
        raise PermissionDenied(_("只有管辖范围覆盖活动全部区划的人员才能修改活动"))
    before = snapshot(campaign, CAMPAIGN_FIELDS)
    values = {f: changes.get(f, getattr(campaign, f)) for f in CAMPAIGN_FIELDS if f != "kind"}
    fields = _clean_campaign(actor, **values)
    fixed = fields["regions"] != campaign.regions or fields["rounds"] != campaign.rounds
    if fixed and campaign.visits.exists():
        raise ValidationError(_("活动已有走访记录，不能再改覆盖区划或轮次"))
    campaign.kind = changes.get("kind", campaign.kind)
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.save(update_fields=CAMPAIGN_FIELDS)
    campaign_enrol(campaign=campaign)
    _audit(
        actor,
        "update",
        "campaign",
        campaign.pk,
        pad(campaign.regions[0]),
        diff(before, snapshot(campaign, CAMPAIGN_FIELDS)),
    )
    return campaign


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _in_scope(campaign: Campaign, field: str = "region_id") -> Q:
    q = Q(pk__in=[])
    for prefix in campaign.regions:
        q |= prefix_q(field, prefix)
    return q


def _must_categories(
    campaign: Campaign, day: datetime.date, households: Sequence[int] | None = None
) -> dict[int, set[str]]:
    """{household id: codes of its must-visit categories held on ``day``}: the household's
    own grants and its current members' (of the given ``households`` only, if given)."""
    codes = [r["category"] for r in campaign.must_visit]
    if not codes:
        return {}
    active = Q(category__code__in=codes, start__lte=day) & (Q(end__isnull=True) | Q(end__gte=day))
    grants = CategoryGrant.objects.filter(active, _in_scope(campaign))
    if households is not None:
        grants = grants.filter(
            Q(household_id__in=households) | Q(person__household_id__in=households)
        )
    result: dict[int, set[str]] = defaultdict(set)
    for household_id, person_household_id, code in grants.values_list(
        "household_id", "person__household_id", "category__code"
    ):
        if household_id or person_household_id:
            result[household_id or person_household_id].add(code)
    return result


def _due(enrolment: Enrolment, campaign: Campaign) -> datetime.date | None:
    if enrolment.must_every_days is None:
        return None
    since = (
        timezone.localdate(enrolment.last_visit_at) if enrolment.last_visit_at else campaign.start
    )
    return since + datetime.timedelta(days=enrolment.must_every_days)


def campaign_enrol(*, campaign: Campaign, day: datetime.date | None = None) -> int:
    """Enrol the households of the campaign's regions not enrolled yet, take out those closed
    or moved out of its regions, refresh who is a must-visit household (as of ``day``, default
    today within the period) and rebuild the village tallies. Idempotent; returns the number
    of households in scope."""
    today = day or min(max(timezone.localdate(), campaign.start), campaign.end)
    enrolled = {
        household_id: (pk, region)
        for pk, household_id, region in Enrolment.objects.filter(campaign=campaign).values_list(
            "id", "household_id", "region_id"
        )
    }
    households = dict(
        Household.objects.filter(_in_scope(campaign), closed_on__isnull=True).values_list(
            "id", "region_id"
        )
    )
    # Closed (销户), or moved out of the campaign's regions (an import's changes, past
    # FOLLOW_IN_BULK, or a move made before outreach followed such moves): as _follow does.
    leaving = {pk: h for h, (pk, _r) in enrolled.items() if h not in households}
    if leaving:
        gone = set(
            Household.objects.filter(
                pk__in=list(leaving.values()), closed_on__isnull=True
            ).values_list("id", flat=True)
        )
        _leave(campaign, leaving, gone)
    new, moved = [], defaultdict(list)
    for pk, region in households.items():
        if pk not in enrolled:
            new.append(Enrolment(campaign=campaign, household_id=pk, region_id=region))
        elif enrolled[pk][1] != region:
            moved[region].append(pk)
    # Moved to another village: as _follow does.
    for region, pks in sorted(moved.items()):
        Enrolment.objects.filter(campaign=campaign, household_id__in=pks).update(region_id=region)
    moved = {pk: region for region, pks in moved.items() for pk in pks}
    # A household enrolled meanwhile by another transaction (registered while the campaign is
    # edited) is skipped; the tallies are rebuilt from the table below, so they count it once.
    inserted = _enrol_new(new)
    if inserted and (
        Visit.objects.filter(campaign=campaign).exists()
        or Pairing.objects.filter(campaign=campaign, kind=PairingKind.CADRE_HOUSEHOLD).exists()
    ):
        # Some may come back (reopened, or moved back into the campaign's regions).
        for start in range(0, len(inserted), ENROL_BATCH):
            moved |= _resume(campaign, inserted[start : start + ENROL_BATCH])
    # Every open pairing of a household now living elsewhere follows it or ends: those of the
    # households moved here, and any a move left behind before pairings followed moves.
    ended = _pairings_follow(
        campaign,
        Pairing.objects.filter(household__isnull=False).exclude(
            region_id=F("household__region_id")
        ),
    )
    if ended:
        Enrolment.objects.filter(campaign=campaign, household_id__in=sorted(ended)).update(
            cadre=None
        )
    visits_moved = _move_visits(campaign, moved)
    must = _must_categories(campaign, today)
    changed = []
    for enrolment in Enrolment.objects.filter(campaign=campaign).filter(
        Q(must_every_days__isnull=False) | Q(household_id__in=list(must))
    ):
        before = (enrolment.must_every_days, enrolment.next_due)
        enrolment.must_every_days = campaign.must_visit_days(must.get(enrolment.household_id, ()))
        enrolment.next_due = _due(enrolment, campaign)
        # Only those that changed: the daily refresh rewrote every must-visit household's row.
        if (enrolment.must_every_days, enrolment.next_due) != before:
            changed.append(enrolment)
    Enrolment.objects.bulk_update(changed, ["must_every_days", "next_due"], batch_size=2000)
    # The visits figure is the tallies' own, with the visits moved above: no scan of the
    # visits (this also runs for a visit to a household not enrolled yet).
    visits = dict(
        Tally.objects.filter(campaign=campaign, round=0).values_list("region_id", "visits")
    )
    for region, n in visits_moved.items():
        visits[region] = visits.get(region, 0) + n
    _rebuild_tallies(campaign, visits)
    return len(enrolled) - len(leaving) + len(new)


@transaction.atomic
def campaigns_refresh(*, day: datetime.date | None = None, recount: bool = False) -> dict[int, int]:
    """Every running campaign's enrolment and must-visit rule as of ``day`` (default today):
    what the registry's hooks do not see, a grant's end date passing. The daily task
    (tasks.refresh_campaigns) runs it; {campaign id: households in scope}. ``recount`` also
    rebuilds every counter from the visits (campaign_recount: a repair, e.g. of counters
    left by a version before a fix; it reads all of a campaign's visits)."""
    day = day or timezone.localdate()
    done = {}
    for campaign in Campaign.objects.filter(start__lte=day, end__gte=day).order_by("id"):
        done[campaign.pk] = campaign_enrol(campaign=campaign, day=day)
        if recount:
            campaign_recount(campaign=campaign)
        action = "recount" if recount else "refresh"
        _audit(None, action, "campaign", campaign.pk, pad(campaign.regions[0]))
    return done


# An import that changes more households than this refreshes whole campaigns.
FOLLOW_IN_BULK = 2000


def households_changed(household_ids: list[int]) -> None:
    """The registry changed these households (households.hooks): enrol them in the campaigns
    still running that cover them and refresh their must-visit rule, so that a household
    registered, moved or newly 特困 after a campaign began is in its coverage and gap lists;
    one closed or moved out of a campaign's regions leaves it."""
    campaigns = list(Campaign.objects.filter(end__gte=timezone.localdate()))
    if not campaigns:
        return
    if len(household_ids) > FOLLOW_IN_BULK:
        for campaign in campaigns:
            campaign_enrol(campaign=campaign)
        return
    # Read once for every campaign: each household's village, None once closed (销户).
    households = {
        pk: None if closed_on else region
        for pk, region, closed_on in Household.objects.filter(pk__in=household_ids).values_list(
            "id", "region_id", "closed_on"
        )
    }
    for campaign in campaigns:
        _follow(campaign, households)


def _follow(campaign: Campaign, households: dict[int, str | None]) -> None:
    """``households_changed`` for one campaign: a few statements on these households' rows
    (their enrolments, pairings and visits by their indexes), and the tallies of their villages
    changed by what changed, never rebuilt: this runs in every change of the registry."""
    today = min(max(timezone.localdate(), campaign.start), campaign.end)
    regions = {pk: r for pk, r in households.items() if r is not None and campaign.covers(r)}
    # Locked: a visit posted to one of them meanwhile waits, so that the counts taken from a
    # village to another below are the enrolment's own.
    enrolments = list(
        Enrolment.objects.select_for_update().filter(
            campaign=campaign, household_id__in=list(households)
        )
    )
    tallies: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    # Closed (销户) or moved out of the campaign's regions: it leaves, its counts with it.
    leaving = [e for e in enrolments if e.household_id not in regions]
    if leaving:
        gone = {e.household_id for e in leaving if households.get(e.household_id)}
        _leave(campaign, {e.pk: e.household_id for e in leaving}, gone)
        for e in leaving:
            _count_household(tallies, campaign, e.region_id, e.visits, -1)
    if regions:
        enrolments = [e for e in enrolments if e.household_id in regions]
        known = {e.household_id for e in enrolments}
        new = [
            Enrolment(campaign=campaign, household_id=pk, region_id=region)
            for pk, region in regions.items()
            if pk not in known
        ]
        inserted = _enrol_new(new)
        if len(inserted) < len(new):
            # Enrolled since the read above by another transaction (a campaign edit, the same
            # household changed twice at once), which counted it: refresh it here, count ours.
            ours = {e.household_id for e in inserted}
            enrolments += Enrolment.objects.select_for_update().filter(
                campaign=campaign,
                household_id__in=[e.household_id for e in new if e.household_id not in ours],
            )
        must = _must_categories(campaign, today, list(regions))
        changed, moved = [], {}
        for enrolment in enrolments + inserted:
            before = (enrolment.region_id, enrolment.must_every_days, enrolment.next_due)
            enrolment.region_id = regions[enrolment.household_id]
            enrolment.must_every_days = campaign.must_visit_days(
                must.get(enrolment.household_id, ())
            )
            enrolment.next_due = _due(enrolment, campaign)
            if (enrolment.region_id, enrolment.must_every_days, enrolment.next_due) != before:
                changed.append(enrolment)
                if enrolment.region_id != before[0]:  # not a new one: enrolled where it is
                    moved[enrolment.household_id] = enrolment.region_id
                    _count_household(tallies, campaign, before[0], enrolment.visits, -1)
                    _count_household(tallies, campaign, enrolment.region_id, enrolment.visits, 1)
        Enrolment.objects.bulk_update(changed, ["region_id", "must_every_days", "next_due"])
        # Reopened after a 销户, or back in the campaign's regions: with the visits it had.
        moved |= _resume(campaign, inserted)
        for enrolment in inserted:
            _count_household(tallies, campaign, enrolment.region_id, enrolment.visits, 1)
        back = [e.household_id for e in inserted if e.cadre_id]
        if moved or back:
            ended = _pairings_follow(
                campaign, Pairing.objects.filter(household_id__in=sorted({*moved, *back}))
            )
            if ended:
                Enrolment.objects.filter(campaign=campaign, household_id__in=sorted(ended)).update(
                    cadre=None
                )
        for region, n in _move_visits(campaign, moved).items():
            tallies[(region, 0)][1] += n
    _write_tallies(campaign, tallies)


def _count_household(tallies: dict, campaign: Campaign, region: str, visits: int, sign: int):
    """A household with ``visits`` comes into (``sign`` 1) or leaves (-1) ``region``'s tallies:
    round 0 and every round it reached."""
    for k in range(min(visits, campaign.rounds) + 1):
        tallies[(region, k)][0] += sign


def _write_tallies(campaign: Campaign, tallies: dict[tuple[str, int], list[int]]) -> None:
    """Add {(village, round): [households, visits]} to the tallies, as a rebuild would make
    them: a village's rows (every round) exist while it has households or visits. A village
    gaining is one upsert, a village losing one update: two statements for a household moved,
    and a visit posted meanwhile to another household of the village adds to the same rows.
    Village by village in code order, so that two moves in opposite directions lock the rows
    in the same order (no deadlock)."""
    by_village: dict[str, dict[int, list[int]]] = defaultdict(dict)
    for (region, k), (h, v) in tallies.items():
        if h or v:
            by_village[region][k] = [h, v]
    for region, rounds in sorted(by_village.items()):
        taken = {k: hv for k, hv in rounds.items() if hv[0] < 0 or hv[1] < 0}
        if len(taken) < len(rounds):
            rows = [
                {
                    "campaign_id": campaign.pk,
                    "region_id": region,
                    "round": k,
                    "households": rounds.get(k, [0, 0])[0],
                    "visits": rounds.get(k, [0, 0])[1],
                }
                for k in range(campaign.rounds + 1)
                if k not in taken
            ]
            statements.together([_bump(Tally, rows, add=["households", "visits"])])
        if taken:
            Tally.objects.filter(campaign=campaign, region_id=region, round__in=list(taken)).update(
                households=_plus_by_round("households", {k: hv[0] for k, hv in taken.items()}),
                visits=_plus_by_round("visits", {k: hv[1] for k, hv in taken.items()}),
            )
    losing = sorted(
        r for r, rounds in by_village.items() if any(min(hv) < 0 for hv in rounds.values())
    )
    if losing:
        empty = list(
            Tally.objects.filter(
                campaign=campaign, region_id__in=losing, round=0, households=0, visits=0
            ).values_list("region_id", flat=True)
        )
        if empty:
            Tally.objects.filter(campaign=campaign, region_id__in=empty).delete()


def _plus_by_round(name: str, added: dict[int, int]):
    """``name`` + the number given for the row's round, never below 0: a change of the
    registry must not fail on a counter that is off (``campaign_recount`` mends it)."""
    return Greatest(
        F(name)
        + Case(
            *[When(round=k, then=Value(n)) for k, n in sorted(added.items())],
            default=Value(0),
            output_field=IntegerField(),
        ),
        Value(0),
        output_field=IntegerField(),
    )


def _leave(campaign: Campaign, leaving: dict[int, int], gone: set[int]) -> None:
    """These enrolments ({enrolment id: household id}) end: their households were closed (销户)
    or moved out of the campaign's regions (``gone``), whose open pairings in the campaign end
    too. The visits made to them stay where they were made, in the visits figure and the visit
    list; their first visits leave the chart's running share of households visited, which is
    over today's households (``selectors.coverage_series``). The caller takes their counts out
    of the tallies. Reads only these households' first visits (visit_household_idx)."""
    Enrolment.objects.filter(pk__in=list(leaving)).delete()
    firsts: dict[tuple[str, datetime.date], int] = defaultdict(int)
    for region, visited_at in Visit.objects.filter(
        campaign=campaign, household_id__in=sorted(leaving.values()), round=1
    ).values_list("region_id", "visited_at"):
        firsts[(region, timezone.localdate(visited_at))] += 1
    for (region, day), n in sorted(firsts.items()):
        DayTally.objects.filter(campaign=campaign, region_id=region, day=day).update(
            first_visits=Greatest(F("first_visits") - n, Value(0), output_field=IntegerField())
        )
    if gone:
        _pairings_follow(campaign, Pairing.objects.filter(household_id__in=sorted(gone)))


def _pairings_follow(campaign: Campaign, pairings) -> set[int]:
    """Open 干部包户 pairings of the campaign among ``pairings`` whose household lives in another
    village now follow it there when their cadre reaches it (the pairing's region changes);
    otherwise, and for households now out of the campaign's regions, they end on the day, with
    the reason, and are kept as history: the household is then unpaired where it lives, for
    that township to pair. Each change has its audit row, without an actor (the system). The
    households whose pairing ended: the caller clears their enrolment's cadre (a closed
    household keeps its pairing: it cannot move, and comes back to its cadre if reopened)."""
    found = list(
        pairings.filter(
            campaign=campaign, kind=PairingKind.CADRE_HOUSEHOLD, end__isnull=True
        ).select_related("cadre", "household")
    )
    moved: dict[str, list[int]] = defaultdict(list)
    ending, audits = [], []
    for pairing in found:
        village = pairing.household.region_id
        if campaign.covers(village):
            if pairing.region_id == village:
                continue
            if pairing.cadre is not None and pairing.cadre.reaches(village):
                moved[village].append(pairing.pk)
                audits.append(
                    audit_row(
                        actor=None,
                        action="move",
                        entity="outreach.pairing",
                        entity_id=pairing.pk,
                        region_code=village,
                        changes={"region": [pairing.region_id, village]},
                    )
                )
                continue
        ending.append(pairing)
    ended: dict[tuple[datetime.date, str], list[int]] = defaultdict(list)
    if ending:
        names = dict(
            Region.objects.filter(code__in={p.household.region_id for p in ending}).values_list(
                "code", "short_name"
            )
        )
        today = min(timezone.localdate(), campaign.end)
        for pairing in ending:
            values = {
                "village": names.get(pairing.household.region_id, pairing.household.region_id),
                "cadre": pairing.cadre.display_name if pairing.cadre else "",
            }
            reason = (
                _("该户迁至%(village)s，不在本活动范围内，包联自动终止") % values
                if not campaign.covers(pairing.household.region_id)
                else _("该户迁至%(village)s，不在%(cadre)s的管辖范围内，包联自动终止") % values
            )[:200]
            on = max(today, pairing.start)
            ended[(on, reason)].append(pairing.pk)
            audits.append(
                audit_row(
                    actor=None,
                    action="end",
                    entity="outreach.pairing",
                    entity_id=pairing.pk,
                    region_code=pairing.region_id,
                    changes={"end": [None, str(on)], "end_reason": [None, reason]},
                )
            )
    for village, pks in sorted(moved.items()):
        Pairing.objects.filter(pk__in=pks).update(region_id=village)
    for (on, reason), pks in sorted(ended.items()):
        Pairing.objects.filter(pk__in=pks).update(end=on, end_reason=reason)
    if audits:
        AuditLog.objects.bulk_create(audits)
    return {p.household_id for p in ending}


ENROL_BATCH = 1000


def _enrol_new(new: list[Enrolment]) -> list[Enrolment]:
    """Insert these enrolments but those whose household another transaction enrolled in the
    campaign since this one looked (it committed, or commits while this waits); the ones
    inserted, given their keys. Only those may be counted: the other transaction counted its
    own.

    ``INSERT ... ON CONFLICT (campaign, household) DO NOTHING RETURNING`` (PostgreSQL, SQLite
    >= 3.35) by hand: ``bulk_create(ignore_conflicts=True)`` does not tell which rows it
    inserted, and on SQLite (``INSERT OR IGNORE``) would also skip a row breaking any other
    constraint. In household order, so that two transactions enrolling the same households
    wait for each other instead of deadlocking."""
    if not new:
        return []
    connection = statements.db()
    quote = connection.ops.quote_name
    meta = Enrolment._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    key = ", ".join(quote(meta.get_field(n).column) for n in ("campaign", "household"))
    household = quote(meta.get_field("household").column)
    by_household = {e.household_id: e for e in new}
    ordered = [by_household[pk] for pk in sorted(by_household)]
    inserted = []
    for start in range(0, len(ordered), ENROL_BATCH):
        batch = ordered[start : start + ENROL_BATCH]
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
            f" VALUES {', '.join([one] * len(batch))} ON CONFLICT ({key}) DO NOTHING"
            f" RETURNING {quote(meta.pk.column)}, {household}"
        )
        values = [
            f.get_db_prep_save(f.pre_save(e, True), connection) for e in batch for f in fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            rows = cursor.fetchall()
        for pk, household_id in rows:
            enrolment = by_household[household_id]
            enrolment.pk = pk
            enrolment._state.adding, enrolment._state.db = False, connection.alias
            inserted.append(enrolment)
    return inserted


def _resume(campaign: Campaign, new: list[Enrolment]) -> dict[int, str]:
    """New enrolments of households reopened after a 销户, or back in the campaign's regions,
    take back the visits they had in the campaign (their first visits count again in the
    chart's share: ``_leave``) and the cadre still paired with them. {household id: its
    village} of those with visits, which the caller moves there (``_move_visits``)."""
    ids = [e.household_id for e in new]
    if not ids:
        return {}
    stats = {
        row["household_id"]: row
        for row in Visit.objects.filter(campaign=campaign, household_id__in=ids)
        .values("household_id")
        .annotate(n=Count("id"), last=Max("visited_at"))
        .order_by()
    }
    cadres = dict(
        Pairing.objects.filter(
            campaign=campaign,
            kind=PairingKind.CADRE_HOUSEHOLD,
            household_id__in=ids,
            end__isnull=True,
        ).values_list("household_id", "cadre_id")
    )
    if not stats and not cadres:
        return {}
    promised = {}
    firsts: dict[tuple[str, datetime.date], int] = defaultdict(int)
    for household_id, text, round_, region, visited_at in (
        Visit.objects.filter(campaign=campaign, household_id__in=list(stats))
        .order_by("household_id", "visited_at", "id")
        .values_list("household_id", "promised", "round", "region_id", "visited_at")
    ):
        promised[household_id] = bool(text)
        if round_ == 1:
            firsts[(region, timezone.localdate(visited_at))] += 1
    for e in new:
        row = stats.get(e.household_id)
        e.visits = row["n"] if row else 0
        e.last_visit_at = row["last"] if row else None
        e.promise_open = promised.get(e.household_id, False)
        e.cadre_id = cadres.get(e.household_id)
        e.next_due = _due(e, campaign)
    Enrolment.objects.bulk_update(
        new, ["visits", "last_visit_at", "promise_open", "cadre", "next_due"]
    )
    if firsts:
        statements.together(
            [
                _bump(
                    DayTally,
                    [
                        {
                            "campaign_id": campaign.pk,
                            "region_id": region,
                            "day": day,
                            "visits": 0,
                            "first_visits": n,
                        }
                        for (region, day), n in sorted(firsts.items())
                    ],
                    add=["visits", "first_visits"],
                )
            ]
        )
    return {e.household_id: e.region_id for e in new if e.household_id in stats}


def _move_visits(campaign: Campaign, regions: dict[int, str]) -> dict[str, int]:
    """Households moved to another village ({household id: its village now}) take their visits
    in the campaign with them, with the visits' needs and flags and their day tallies, as their
    enrolments take their counts: every figure of a region and the rows its link lists are
    then read from the same place, and the new village's and township's people see the
    household's visits (the old ones no longer do). Reads only the moved households' visits
    (visit_household_idx). {village: visits it gained (or lost, < 0)}, for the caller's
    tallies."""
    if not regions:
        return {}
    moving = [
        (pk, old, regions[household_id], timezone.localdate(visited_at), round_ == 1)
        for pk, household_id, old, visited_at, round_ in Visit.objects.filter(
            campaign=campaign, household_id__in=list(regions)
        ).values_list("pk", "household_id", "region_id", "visited_at", "round")
        if old != regions[household_id]
    ]
    if not moving:
        return {}
    to: dict[str, list[int]] = defaultdict(list)
    days: dict[tuple[str, datetime.date], list[int]] = defaultdict(lambda: [0, 0])
    villages: dict[str, int] = defaultdict(int)
    left = set()  # (village, day) a visit left: its day tally exists
    for pk, old, new, day, first in moving:
        to[new].append(pk)
        left.add((old, day))
        villages[old] -= 1
        villages[new] += 1
        for region, sign in ((old, -1), (new, 1)):
            days[(region, day)][0] += sign
            days[(region, day)][1] += sign * first
    for region, pks in sorted(to.items()):
        Visit.objects.filter(pk__in=pks).update(region_id=region)
        Need.objects.filter(visit_id__in=pks).update(region_id=region)
        Flag.objects.filter(visit_id__in=pks).update(region_id=region)
    for (region, day), (n, first) in sorted(days.items()):
        if (region, day) in left:
            DayTally.objects.filter(campaign=campaign, region_id=region, day=day).update(
                visits=F("visits") + n, first_visits=F("first_visits") + first
            )
    # As rebuild_activity makes them: no row for a village's day without visits.
    DayTally.objects.filter(
        campaign=campaign,
        region_id__in={region for region, _d in left},
        day__in={day for _r, day in left},
        visits=0,
    ).delete()
    came = [
        {
            "campaign_id": campaign.pk,
            "region_id": region,
            "day": day,
            "visits": n,
            "first_visits": f,
        }
        for (region, day), (n, f) in sorted(days.items())
        if (region, day) not in left
    ]
    if came:
        statements.together([_bump(DayTally, came, add=["visits", "first_visits"])])
    return dict(villages)


def _rebuild_tallies(campaign: Campaign, visits: dict[str, int] | None = None) -> None:
    """The village tallies from the enrolments, with ``visits`` ({village: the campaign's
    visits made there}) as round 0's visits figure, or, when not given, those counted from the
    visits (a scan of the campaign's: bulk loads and ``campaign_recount``). The visits of
    households no longer enrolled (closed, moved out of the campaign's regions) were made: they
    stay in the figure of the village they were made in, as in the visit list it links to."""
    if visits is None:
        visits = dict(
            Visit.objects.filter(campaign=campaign)
            .values_list("region_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for region, done, n in (
        Enrolment.objects.filter(campaign=campaign)
        .values_list("region_id", "visits")
        .annotate(n=Count("id"))
        .order_by()
    ):
        for k in range(0, min(done, campaign.rounds) + 1):
            counts[(region, k)] += n
    villages = {region for region, _k in counts} | {v for v, n in visits.items() if n}
    Tally.objects.filter(campaign=campaign).delete()
    Tally.objects.bulk_create(
        [
            Tally(
                campaign=campaign,
                region_id=v,
                round=k,
                households=counts.get((v, k), 0),
                visits=max(visits.get(v, 0), 0) if k == 0 else 0,
            )
            for v in sorted(villages)
            for k in range(0, campaign.rounds + 1)
        ],
        batch_size=2000,
    )


def campaign_recount(*, campaign: Campaign) -> None:
    """Rebuild every counter of a campaign from its visits: for data loaded in bulk (the
    demo, the benchmark, a migration of old ledgers) or a repair. Scans the visits once."""
    stats = {
        row["household_id"]: row
        for row in Visit.objects.filter(campaign=campaign)
        .values("household_id")
        .annotate(n=Count("id"), last=Max("visited_at"))
        .order_by()
    }
    latest_promise = {}
    for household_id, promised in (
        Visit.objects.filter(campaign=campaign)
        .order_by("household_id", "visited_at", "id")
        .values_list("household_id", "promised")
    ):
        latest_promise[household_id] = bool(promised)
    enrolments = list(Enrolment.objects.filter(campaign=campaign))
    for e in enrolments:
        row = stats.get(e.household_id)
        e.visits = row["n"] if row else 0
        e.last_visit_at = row["last"] if row else None
        e.promise_open = latest_promise.get(e.household_id, False)
        e.next_due = _due(e, campaign)
    Enrolment.objects.bulk_update(
        enrolments, ["visits", "last_visit_at", "promise_open", "next_due"], batch_size=1000
    )
    _rebuild_tallies(campaign)
    rebuild_activity(campaign)


def rebuild_activity(campaign: Campaign) -> None:
    """DayTally and CadreTally from the visits. A day's first visits are those of the households
    enrolled today (``_leave``): the chart's running share of households visited is over them."""
    day = TruncDate("visited_at", tzinfo=timezone.get_current_timezone())
    enrolled = Enrolment.objects.filter(campaign=campaign).values("household_id")
    DayTally.objects.filter(campaign=campaign).delete()
    DayTally.objects.bulk_create(
        [
            DayTally(
                campaign=campaign,
                region_id=row["region_id"],
                day=row["d"],
                visits=row["n"],
                first_visits=row["first"],
            )
            for row in Visit.objects.filter(campaign=campaign)
            .annotate(d=day)
            .values("region_id", "d")
            .annotate(
                n=Count("id"), first=Count("id", filter=Q(round=1, household_id__in=enrolled))
            )
            .order_by()
        ],
        batch_size=2000,
    )
    CadreTally.objects.filter(campaign=campaign).delete()
    CadreTally.objects.bulk_create(
        [
            CadreTally(
                campaign=campaign,
                cadre_id=row["author_id"],
                visits=row["n"],
                last_visit_at=row["last"],
            )
            for row in Visit.objects.filter(campaign=campaign)
            .values("author_id")
            .annotate(n=Count("id"), last=Max("visited_at"))
            .order_by()
        ],
        batch_size=2000,
    )


# ---------------------------------------------------------------------------------------------
# Pairing (包联)


def _neighbour_key(household: Household):
    """Village, then the address in natural order (东街2号 before 东街10号): neighbours sort
    next to each other."""
    parts = re.split(r"(\d+)", household.address)
    return (
        household.region_id,
        [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts],
        household.pk,
    )


def spread(households: Sequence[Household], cadres: Sequence[User]) -> list[tuple[User, list]]:
    """Split households over cadres in contiguous runs of neighbours, as even as possible."""
    ordered = sorted(households, key=_neighbour_key)
    size, extra = divmod(len(ordered), len(cadres))
    result, start = [], 0
    for i, cadre in enumerate(cadres):
        take = size + (1 if i < extra else 0)
        result.append((cadre, ordered[start : start + take]))
        start += take
    return result


def check_cadre(actor, cadre: User, campaign: Campaign) -> None:
    """Refused unless ``cadre`` may be paired by ``actor``: an active account that writes,
    within the actor's reach."""
    if not cadre.is_active or not cadre.can(Cap.WRITE):
        raise ValidationError(
            {"cadre": _("%(name)s 不能包联：账户已停用或只能查看") % {"name": cadre.display_name}}
        )
    if actor is not None and not (
        cadre.reach.startswith(actor.reach) or actor.reaches(cadre.reach)
    ):
        raise ValidationError(
            {"cadre": _("%(name)s 不在您的管辖范围内") % {"name": cadre.display_name}}
        )


def _pair_households(actor, campaign, households, cadre, start) -> list[Pairing]:
    """Open cadre→household pairings; every household must be unpaired in the campaign."""
    check_cadre(actor, cadre, campaign)
    ids = [h.pk for h in households]
    paired = Pairing.objects.filter(
        campaign=campaign, household_id__in=ids, kind=PairingKind.CADRE_HOUSEHOLD, end__isnull=True
    ).count()
    if paired:
        raise ValidationError(
            _("所选户中有 %(n)d 户已有包联干部，请先办理移交或终止包联") % {"n": paired}
        )
    for household in households:
        require_write(actor, household.region_id)
        if not campaign.covers(household.region_id):
            raise ValidationError(
                _("%(name)s户不在活动“%(campaign)s”的范围内")
                % {"name": household.head_name or household.pk, "campaign": campaign.name}
            )
        # Out of the cadre's reach the household would be on their phone page, but its visit
        # form and every write for it refused.
        if not cadre.reaches(household.region_id):
            raise ValidationError(
                _("%(name)s户不在%(cadre)s的管辖范围内，包联后无法走访")
                % {"name": household.head_name or household.pk, "cadre": cadre.display_name}
            )
    pairings = Pairing.objects.bulk_create(
        [
            Pairing(
                campaign=campaign,
                kind=PairingKind.CADRE_HOUSEHOLD,
                region_id=h.region_id,
                household=h,
                cadre=cadre,
                start=start,
                created_by=_user(actor),
            )
            for h in households
        ],
        batch_size=2000,
    )
    Enrolment.objects.filter(campaign=campaign, household_id__in=ids).update(cadre=cadre)
    return pairings


def _check_start(campaign: Campaign, start: datetime.date) -> None:
    if not campaign.start <= start <= campaign.end:
        raise ValidationError({"start": _("起始日期应在活动期间内")})


@transaction.atomic
def pairings_assign(
    *, actor, campaign: Campaign, households: Sequence[Household], cadre: User, start
) -> list[Pairing]:
    """干部包户: these households to one cadre (the assign page, the Excel import)."""
    if not households:
        raise ValidationError(_("请选择要包联的户"))
    _check_start(campaign, start)
    pairings = _pair_households(actor, campaign, households, cadre, start)
    _audit(
        actor,
        "pair",
        "pairing",
        campaign.pk,
        households[0].region_id,
        {"cadre": [None, cadre.display_name], "households": [None, len(households)]},
    )
    return pairings


@transaction.atomic
def pairings_spread(
    *, actor, campaign: Campaign, households: Sequence[Household], cadres: Sequence[User], start
) -> dict[int, int]:
    """Spread households over cadres, neighbours together; {cadre id: households}."""
    if not households:
        raise ValidationError(_("请选择要包联的户"))
    if not cadres:
        raise ValidationError({"cadres": _("请选择包联干部")})
    _check_start(campaign, start)
    shares = {}
    for cadre, share in spread(households, cadres):
        if share:
            _pair_households(actor, campaign, share, cadre, start)
        shares[cadre.pk] = len(share)
    _audit(
        actor,
        "pair",
        "pairing",
        campaign.pk,
        households[0].region_id,
        {"cadres": [None, len(cadres)], "households": [None, len(households)]},
    )
    return shares


@transaction.atomic
def pairing_create(
    *,
    actor,
    campaign: Campaign,
    kind: str,
    region: Region,
    start,
    cadre: User | None = None,
    unit: OrgUnit | None = None,
    compound: str = "",
    end=None,
) -> Pairing:
    """领导挂点 (leader → township), 部门包村 (department → village), 干部分包小区 (cadre →
    a residential compound of a community). Households go through pairings_assign."""
    require_write(actor, region.code)
    _check_start(campaign, start)
    if not campaign.covers(region.code) and not any(
        p.startswith(region.prefix) for p in campaign.regions
    ):
        raise ValidationError({"region": _("该区划不在活动范围内")})
    wanted_level = Level.TOWNSHIP if kind == PairingKind.LEADER_TOWNSHIP else Level.VILLAGE
    if region.level != wanted_level:
        raise ValidationError(
            {
                "region": _("领导挂点应选乡镇（街道）")
                if wanted_level == Level.TOWNSHIP
                else _("应选村（社区）")
            }
        )
    if kind == PairingKind.DEPARTMENT_VILLAGE:
        if unit is None:
            raise ValidationError({"unit": _("请选择包村部门")})
        cadre = None
    elif kind in (PairingKind.LEADER_TOWNSHIP, PairingKind.CADRE_COMPOUND):
        if cadre is None:
            raise ValidationError({"cadre": _("请选择干部")})
        if kind == PairingKind.CADRE_COMPOUND and not compound.strip():
            raise ValidationError({"compound": _("请填写小区名称")})
        if kind == PairingKind.CADRE_COMPOUND:
            check_cadre(actor, cadre, campaign)
        unit = None
    else:
        raise ValidationError({"kind": _("干部包户请在“分配包联户”中办理")})
    if end is not None and end < start:
        raise ValidationError({"end": _("终止日期不能早于起始日期")})
    pairing = Pairing.objects.create(
        campaign=campaign,
        kind=kind,
        region=region,
        cadre=cadre,
        unit=unit,
        compound=compound.strip(),
        start=start,
        end=end,
        created_by=_user(actor),
    )
    _audit(
        actor,
        "pair",
        "pairing",
        pairing.pk,
        region.code,
        {"kind": [None, kind], "who": [None, str(cadre or unit)]},
    )
    return pairing


@transaction.atomic
def pairing_end(*, actor, pairing: Pairing, on: datetime.date, reason: str) -> Pairing:
    require_write(actor, pairing.region_id)
    if pairing.end is not None:
        raise ValidationError(_("该包联已终止"))
    if on < pairing.start:
        raise ValidationError({"end": _("终止日期不能早于起始日期")})
    Pairing.objects.filter(pk=pairing.pk).update(end=on, end_reason=reason.strip())
    pairing.end, pairing.end_reason = on, reason.strip()
    if pairing.household_id:
        Enrolment.objects.filter(
            campaign=pairing.campaign_id, household=pairing.household_id
        ).update(cadre=None)
    _audit(actor, "end", "pairing", pairing.pk, pairing.region_id, {"end": [None, str(on)]})
    return pairing


@transaction.atomic
def pairing_handover(
    *,
    actor,
    campaign: Campaign,
    cadre: User,
    successors: Sequence[User],
    on: datetime.date,
    reason: str,
) -> dict[int, int]:
    """A cadre leaves: every open pairing of theirs in the campaign ends on ``on`` and their
    households are spread over the successors (neighbours together), so that none is left
    unpaired; the ended pairings stay as history. {successor id: households}."""
    if not successors:
        raise ValidationError({"successors": _("请选择接替的干部")})
    if any(s.pk == cadre.pk for s in successors):
        raise ValidationError({"successors": _("接替干部不能是离任干部本人")})
    if not reason.strip():
        raise ValidationError({"reason": _("请填写移交原因")})
    _check_start(campaign, on)
    open_pairings = list(
        Pairing.objects.select_for_update(of=("self",))
        .filter(campaign=campaign, cadre=cadre, end__isnull=True)
        .select_related("household")
    )
    if not open_pairings:
        raise ValidationError(_("%(name)s 在本活动中没有包联") % {"name": cadre.display_name})
    for pairing in open_pairings:
        require_write(actor, pairing.region_id)
    Pairing.objects.filter(pk__in=[p.pk for p in open_pairings]).update(
        end=on, end_reason=reason.strip()
    )
    households = [p.household for p in open_pairings if p.kind == PairingKind.CADRE_HOUSEHOLD]
    Enrolment.objects.filter(campaign=campaign, household__in=households).update(cadre=None)
    shares = {}
    for successor, share in spread(households, successors):
        if share:
            _pair_households(actor, campaign, share, successor, on)
        shares[successor.pk] = len(share)
    for pairing in open_pairings:  # compounds and the like go to the first successor
        if pairing.kind == PairingKind.CADRE_HOUSEHOLD:
            continue
        Pairing.objects.create(
            campaign=campaign,
            kind=pairing.kind,
            region_id=pairing.region_id,
            compound=pairing.compound,
            cadre=successors[0],
            start=on,
            end=None,
            created_by=_user(actor),
        )
    _audit(
        actor,
        "handover",
        "pairing",
        campaign.pk,
        open_pairings[0].region_id,
        {
            "cadre": [cadre.display_name, "、".join(s.display_name for s in successors)],
            "households": [None, len(households)],
            "reason": [None, reason.strip()],
        },
    )
    return shares


# ---------------------------------------------------------------------------------------------
# The visit log (民情日志)


@dataclass
class VisitInput:
    visited_at: datetime.datetime
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    aspects: list[str] = field(default_factory=list)
    family: str = ""
    thinking: str = ""
    difficulty: str = ""
    help_needed: str = ""
    found: str = ""
    promised: str = ""
    needs: list[str] = field(default_factory=list)
    companions: list[User] = field(default_factory=list)
    photos: list = field(default_factory=list)  # UploadedFile or (name, bytes)
    client_id: str = ""


def _photo(item) -> tuple[str, bytes]:
    if isinstance(item, tuple):
        return item
    return item.name, item.read()


def _check_visit(campaign: Campaign, household: Household, data: VisitInput) -> list:
    errors = {}
    now = timezone.now()
    if timezone.is_naive(data.visited_at):
        errors["visited_at"] = _("走访时间缺少时区")
    elif data.visited_at > now + CLOCK_SKEW:
        errors["visited_at"] = _("走访时间不能晚于现在")
    elif not campaign.running_on(timezone.localdate(data.visited_at)):
        errors["visited_at"] = _("走访时间不在活动“%(name)s”期间（%(start)s 至 %(end)s）") % {
            "name": campaign.name,
            "start": campaign.start,
            "end": campaign.end,
        }
    if not campaign.covers(household.region_id):
        errors["household"] = _("该户不在活动“%(name)s”的范围内") % {"name": campaign.name}
    unknown = [a for a in data.aspects if a not in campaign.aspects]
    if unknown:
        errors["aspects"] = _("走访内容“%(a)s”不是本活动的四访内容") % {"a": "、".join(unknown)}
    for name, value in (("latitude", data.latitude), ("longitude", data.longitude)):
        limit = 90 if name == "latitude" else 180
        if value is not None and not -limit <= float(value) <= limit:
            errors[name] = _("定位坐标超出范围")
    if (data.latitude is None) != (data.longitude is None):
        errors["latitude"] = _("纬度和经度应同时填写")
    photos = [_photo(p) for p in data.photos]
    limit = settings.OUTREACH_PHOTO_MAX_BYTES
    for name, content in photos:
        if len(content) > limit:
            errors["photos"] = _("照片“%(name)s”超过 %(mb).0f MB") % {
                "name": name,
                "mb": limit / 1024 / 1024,
            }
        elif not content.startswith((b"\xff\xd8\xff", b"\x89PNG", b"RIFF")):
            errors["photos"] = _("“%(name)s”不是 JPEG、PNG 或 WebP 照片") % {"name": name}
    if any(len(n.strip()) > 500 for n in data.needs):
        errors["needs"] = _("每条诉求不超过 500 字")
    if errors:
        raise ValidationError(errors)
    return photos


@functools.cache
def _read_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    visit = Visit._meta
    lock = connection.features.has_select_for_update_of  # SQLite: writes are serial anyway
    return (
        f"SELECT {statements.columns(Campaign, 'c')}, {statements.columns(Household, 'h')},"
        f" {statements.columns(Enrolment, 'e')}, v.{quote(visit.pk.column)}, v.client_id,"
        f" v.author_id FROM {quote(Campaign._meta.db_table)} c"
        f" JOIN {quote(Household._meta.db_table)} h ON h.id = %s"
        f" JOIN {quote(Enrolment._meta.db_table)} e ON e.campaign_id = c.id AND e.household_id = h.id"
        f" LEFT JOIN {quote(visit.db_table)} v ON v.client_id = %s OR (v.author_id = %s"
        " AND v.visited_at > %s AND v.visited_at < %s AND v.region_id <> h.region_id)"
        " WHERE c.id = %s" + (" " + connection.ops.for_update_sql(of=("e",)) if lock else "")
    )


def _read(actor, campaign_pk: int, household_pk: int, data: VisitInput) -> tuple | None:
    """For every visit posted, in one statement: the campaign, the household, its enrolment,
    locked (a concurrent post of the same entry waits here for the first), and the visit this
    ``client_id`` already made (if any) and the author's visits in another village within
    IMPOSSIBLE_WINDOW of this one. (campaign, household, enrolment, [(id, client_id, author
    id)]), or None when the enrolment (or the campaign or the household) is missing. Only ids
    of visits are read: both answers are rare, and their rows are fetched when they occur.

    The visits are read as they were when the statement began, before a post of the same
    ``client_id`` that held the lock committed: ``_once`` catches that one's duplicate key.
    """
    connection = statements.db()
    adapt = connection.ops.adapt_datetimefield_value
    aware = timezone.is_aware(data.visited_at)  # naive: refused by _check_visit
    with statements.cursor() as cursor:
        cursor.execute(
            _read_sql(connection.vendor),
            [
                household_pk,
                data.client_id or None,
                actor.pk if aware else None,
                adapt(data.visited_at - IMPOSSIBLE_WINDOW),
                adapt(data.visited_at + IMPOSSIBLE_WINDOW),
                campaign_pk,
            ],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    found = statements.from_joined_row(rows[0], (Campaign, "c"), (Household, "h"), (Enrolment, "e"))
    return (*found, [row[-3:] for row in rows if row[-3] is not None])


def _existing_and_near(data: VisitInput, actor, rows: list) -> tuple[Visit | None, list]:
    """From ``_read``'s visits: the visit this ``client_id`` already made
    (refused if another author's), and the ids of the others."""
    same = [(pk, author) for pk, client_id, author in rows if client_id == data.client_id]
    if same and same[0][1] != actor.pk:
        raise ValidationError(
            {"client_id": _("客户端编号 %(id)s 已被他人使用") % {"id": data.client_id}}
        )
    existing = Visit.objects.select_related("author").get(pk=same[0][0]) if same else None
    return existing, [pk for pk, client_id, _a in rows if not same or client_id != data.client_id]


@functools.cache
def _bump_sql(
    model,
    names: tuple[str, ...],
    add: tuple[str, ...],
    latest: tuple[str, ...],
    rows: int,
    vendor: str,
) -> str:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column = {n: quote(model._meta.get_field(n).column) for n in names}
    key = [column[n] for n in names if n not in add and n not in latest]
    updates = [f"{column[n]} = {table}.{column[n]} + excluded.{column[n]}" for n in add]
    updates += [
        f"{c} = CASE WHEN {table}.{c} IS NULL OR {table}.{c} < excluded.{c} "
        f"THEN excluded.{c} ELSE {table}.{c} END"
        for c in (column[n] for n in latest)
    ]
    one = "(" + ", ".join(["%s"] * len(names)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(column.values())}) "
        f"VALUES {', '.join([one] * rows)} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(updates)}"
    )


def _bump(
    model, rows: list[dict], *, add: Sequence[str], latest: Sequence[str] = ()
) -> tuple[str, list]:
    """The statement that adds each row's ``add`` fields to the counter row with the same key
    (its other fields), creating it the first time; ``latest`` fields keep the later of the
    two values.

    One ``INSERT ... ON CONFLICT DO UPDATE`` (PostgreSQL, SQLite >= 3.24) written out by hand:
    the ORM has no increment on conflict, and this runs three times for every visit posted,
    where a compiled ``update()`` (and a savepoint, insert and retry for a day's first visit)
    cost more than the rest of the request. The key must be the model's unique constraint.
    """
    connection = statements.db()
    names = tuple(rows[0])
    sql = _bump_sql(model, names, tuple(add), tuple(latest), len(rows), connection.vendor)
    fields = [(n, model._meta.get_field(n)) for n in names]
    return sql, [f.get_db_prep_save(row[n], connection) for row in rows for n, f in fields]


def _flag_impossible(visit: Visit, near_ids: list[int]) -> bool:
    """The same cadre in another village within IMPOSSIBLE_WINDOW (``near_ids``, read before
    the visit was saved): flag the visits. Whether it did."""
    if not near_ids:
        return False
    near = list(Visit.objects.filter(pk__in=near_ids).select_related("region"))
    places = {v.region.short_name for v in near} | {
        Region.objects.get(pk=visit.region_id).short_name
    }
    names = "、".join(sorted(places))
    reason = _("同一干部 %(minutes)d 分钟内在不同村（社区）登记走访：%(places)s") % {
        "minutes": IMPOSSIBLE_WINDOW.seconds // 60,
        "places": names,
    }
    already = set(
        Flag.objects.filter(
            visit__in=near, kind=FlagKind.AUTO, cleared_at__isnull=True
        ).values_list("visit_id", flat=True)
    )
    Flag.objects.bulk_create(
        [Flag(visit=visit, kind=FlagKind.AUTO, reason=reason, region_id=visit.region_id)]
        + [
            Flag(visit=v, kind=FlagKind.AUTO, reason=reason, region_id=v.region_id)
            for v in near
            if v.pk not in already
        ]
    )
    return True


def visit_log(
    *, actor, campaign: Campaign, household: Household, data: VisitInput
) -> tuple[Visit, bool]:
    """Log a visit and count it; (visit, created). Posting the same ``client_id`` again
    returns the visit it made the first time, unchanged."""
    return _once(actor, data, lambda: _log(actor, campaign, household, data))


def _log(actor, campaign: Campaign, household: Household, data: VisitInput) -> tuple:
    if household.closed_on:
        raise ValidationError(
            {
                "household": _("该户已于 %(date)s 销户，不再走访")
                % {"date": household.closed_on.isoformat()}
            }
        )
    read = _read(actor, campaign.pk, household.pk, data)
    if read is None and campaign.covers(household.region_id):
        campaign_enrol(campaign=campaign)  # a household registered after the campaign began
        read = _read(actor, campaign.pk, household.pk, data)
    return _write(actor, campaign, household, data, *(read[2:] if read else (None, [])))


def visit_post(*, actor, campaign_id: int, household_id: int, data: VisitInput) -> tuple:
    """``visit_log`` given the ids (the API's post), with the campaign and the household read
    in the statement that locks the enrolment; 404 if either is missing or out of reach."""

    def post():
        read = _read(actor, campaign_id, household_id, data)
        if read is None:  # no enrolment: visit_log's way, which enrols the household
            campaign, household, _w = selectors.get_campaign_and_household_for_user(
                actor, campaign_id, household_id
            )
            return _log(actor, campaign, household, data)
        campaign, household, enrolment, matches = read
        selectors.require_reach(actor, campaign, household)
        return _write(actor, campaign, household, data, enrolment, matches)

    return _once(actor, data, post)


def _once(actor, data: VisitInput, log) -> tuple[Visit, bool]:
    """``log()`` in a transaction of its own (a savepoint inside one). Two posts of one client
    id at once: the second waited for the first's lock on the enrolment, read the visits
    before the first committed, and found the id taken when it wrote. Its transaction is
    undone, and it answers as a repeated post does."""
    try:
        with transaction.atomic():
            return log()
    except IntegrityError:
        if not data.client_id:
            raise
        rows = Visit.objects.filter(client_id=data.client_id).values_list(
            "id", "client_id", "author_id"
        )
        existing, _near = _existing_and_near(data, actor, list(rows))
        if existing is None:
            raise
        return existing, False


def _write(actor, campaign, household, data: VisitInput, enrolment, matches) -> tuple:
    """The visit, its counts and its audit row, from what ``_read`` found."""
    require_write(actor, household.region_id)
    existing, near = _existing_and_near(data, actor, matches)
    if existing is not None:
        return existing, False
    photos = _check_visit(campaign, household, data)
    enrolment.visits += 1
    if enrolment.last_visit_at is None or data.visited_at >= enrolment.last_visit_at:
        enrolment.last_visit_at = data.visited_at
        enrolment.promise_open = bool(data.promised.strip())
    enrolment.next_due = _due(enrolment, campaign)
    visit = statements.insert(
        Visit(
            campaign=campaign,
            household=household,
            region_id=household.region_id,
            author=actor,
            visited_at=data.visited_at,
            address=(data.address or household.address).strip()[:200],
            latitude=None if data.latitude is None else round(float(data.latitude), 6),
            longitude=None if data.longitude is None else round(float(data.longitude), 6),
            round=enrolment.visits,
            aspects=list(data.aspects),
            family=data.family.strip(),
            thinking=data.thinking.strip(),
            difficulty=data.difficulty.strip(),
            help_needed=data.help_needed.strip(),
            found=data.found.strip(),
            promised=data.promised.strip(),
            client_id=data.client_id or None,
        )
    )
    needs = [n.strip() for n in data.needs if n.strip()]
    # The village's visits (round 0) and, up to the campaign's rounds, the households that
    # reached this round; the visits of the day; the cadre's visits. Then the audit row: all
    # in one round trip (statements.together).
    village = {"campaign_id": campaign.pk, "region_id": household.region_id}
    reached = enrolment.visits if enrolment.visits <= campaign.rounds else 0
    bookkeeping = [
        statements.update_statement(
            enrolment, ("visits", "last_visit_at", "promise_open", "next_due")
        ),
        _bump(
            Tally,
            [{**village, "round": 0, "households": 0, "visits": 1}]
            + ([{**village, "round": reached, "households": 1, "visits": 0}] if reached else []),
            add=["households", "visits"],
        ),
        _bump(
            DayTally,
            [
                {
                    **village,
                    "day": timezone.localdate(data.visited_at),
                    "visits": 1,
                    "first_visits": 1 if enrolment.visits == 1 else 0,
                }
            ],
            add=["visits", "first_visits"],
        ),
        _bump(
            CadreTally,
            [
                {
                    "campaign_id": campaign.pk,
                    "cadre_id": actor.pk,
                    "visits": 1,
                    "last_visit_at": data.visited_at,
                }
            ],
            add=["visits"],
            latest=["last_visit_at"],
        ),
        statements.insert_statement(
            audit_row(
                actor=actor,
                action="create",
                entity="outreach.visit",
                entity_id=visit.pk,
                region_code=household.region_id,
                changes={
                    "household": [None, household.pk],
                    "campaign": [None, campaign.pk],
                    "round": [None, visit.round],
                    "needs": [None, len(needs)],
                },
            )
        ),
    ]
    statements.together(bookkeeping)
    # The needs raised, kept on the visit for the caller to show without reading them back.
    visit.raised = []
    if needs:
        visit.raised = Need.objects.bulk_create(
            [
                Need(visit=visit, household=household, region_id=household.region_id, text=n)
                for n in needs
            ]
        )
    if data.companions:
        visit.companions.set([c for c in data.companions if c.pk != actor.pk])
    for name, content in photos:
        photo = VisitPhoto(visit=visit, name=name[:200], size=len(content))
        photo.file.save(
            f"{visit.pk}-{secrets.token_hex(4)}{_suffix(name)}", ContentFile(content), save=True
        )
    # Kept on the visit, as the needs are, for the caller's answer.
    visit.flagged = _flag_impossible(visit, near)
    return visit, True


def _suffix(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else "jpg"
    return "." + (suffix if suffix in ("jpg", "jpeg", "png", "webp") else "jpg")


def can_edit(user, visit: Visit, now=None) -> bool:
    return visit.author_id == user.pk and (now or timezone.now()) - visit.created_at < EDIT_WINDOW


@transaction.atomic
def visit_update(*, actor, visit: Visit, **changes) -> Visit:
    """The author's own changes within 24 hours of logging it; later, only amendments."""
    require_write(actor, visit.region_id)
    if visit.author_id != actor.pk:
        raise PermissionDenied(_("只有走访干部本人可以修改走访记录"))
    if not can_edit(actor, visit):
        raise ValidationError(_("走访记录登记已超过 24 小时，只能补正，不能修改"))
    unknown = [a for a in changes.get("aspects", []) if a not in visit.campaign.aspects]
    if unknown:
        raise ValidationError(
            {"aspects": _("走访内容“%(a)s”不是本活动的四访内容") % {"a": "、".join(unknown)}}
        )
    before = snapshot(visit, VISIT_EDIT_FIELDS)
    for name in VISIT_EDIT_FIELDS:
        if name in changes:
            value = changes[name]
            setattr(visit, name, value.strip() if isinstance(value, str) else list(value))
    after = snapshot(visit, VISIT_EDIT_FIELDS)
    if before != after:
        visit.save(update_fields=[*VISIT_EDIT_FIELDS, "updated_at"])
        if before["promised"] != after["promised"]:
            _promise_follows(visit)
        _audit(actor, "update", "visit", visit.pk, visit.region_id, diff(before, after))
    return visit


def _promise_follows(visit: Visit) -> None:
    """The household's open promise is its latest visit's (as ``_write`` and
    ``campaign_recount`` set it): an edit of that visit's promise moves it."""
    latest = (
        Visit.objects.filter(campaign_id=visit.campaign_id, household_id=visit.household_id)
        .order_by("-visited_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    if latest == visit.pk:
        Enrolment.objects.filter(
            campaign_id=visit.campaign_id, household_id=visit.household_id
        ).update(promise_open=bool(visit.promised))


@transaction.atomic
def visit_amend(*, actor, visit: Visit, text: str) -> Amendment:
    require_write(actor, visit.region_id)
    if not text.strip():
        raise ValidationError({"text": _("请填写补正内容")})
    amendment = Amendment.objects.create(visit=visit, author=actor, text=text.strip())
    _audit(actor, "amend", "visit", visit.pk, visit.region_id, {"amendment": [None, text.strip()]})
    return amendment


def _code_hash(visit: Visit, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{visit.pk}:{code}".encode(), hashlib.sha256
    ).hexdigest()


@transaction.atomic
def visit_code_send(*, actor, visit: Visit) -> str:
    """Send the household head a 6-digit code; the resident reads it out to the cadre, who
    enters it (visit_confirm). Returns the masked phone it went to."""
    require_write(actor, visit.region_id)
    if visit.confirmed_at:
        raise ValidationError(_("该走访已由群众确认"))
    if hooks.sms_sender is None:  # the code would reach no one
        raise ValidationError(_("未接入短信网关，无法发送验证码，请改用当面签名确认"))
    head = visit.household.head
    phone = head.phone if head else ""
    if not phone:
        raise ValidationError(_("户主没有登记手机号，请改用当面签名确认"))
    sent = Visit.objects.select_for_update().values_list("confirm_codes_sent", flat=True)
    if sent.get(pk=visit.pk) >= CODES_PER_VISIT:
        raise ValidationError(
            _("该走访已发送 %(n)d 次验证码，不能再发送，请改用当面签名确认")
            % {"n": CODES_PER_VISIT}
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    visit.confirm_code_hash = _code_hash(visit, code)
    visit.confirm_code_expires = timezone.now() + CODE_LIFETIME
    visit.confirm_tries = 0
    Visit.objects.filter(pk=visit.pk).update(
        confirm_code_hash=visit.confirm_code_hash,
        confirm_code_expires=visit.confirm_code_expires,
        confirm_tries=0,
        confirm_codes_sent=F("confirm_codes_sent") + 1,
    )
    text = _("【民情台账】%(name)s于%(at)s入户走访，如属实请将验证码 %(code)s 告知走访干部。") % {
        "name": visit.author.display_name,
        "at": timezone.localtime(visit.visited_at).strftime("%m-%d %H:%M"),
        "code": code,
    }
    transaction.on_commit(lambda: _send_sms(phone, text))
    _audit(
        actor, "send_code", "visit", visit.pk, visit.region_id, {"phone": [None, mask_phone(phone)]}
    )
    return mask_phone(phone)


def _send_sms(phone: str, text: str) -> None:
    if hooks.sms_sender is not None:
        hooks.sms_sender(phone, text)
    else:
        log.info("no SMS gateway configured; confirmation code for %s not sent", mask_phone(phone))


def visit_confirm(*, actor, visit: Visit, code: str) -> Visit:
    """The code the resident read out. A wrong one is counted even though it is refused (its
    own transaction commits before the refusal), and CODE_TRIES of them void the code."""
    require_write(actor, visit.region_id)
    with transaction.atomic():
        current = Visit.objects.select_for_update().get(pk=visit.pk)
        refusal = _code_refusal(current, code.strip())
        if refusal is None:
            visit.confirm_code_hash = ""
            return _confirmed(actor, visit, "code", "confirm_code_hash")
        if refusal == WRONG_CODE:
            tries = current.confirm_tries + 1
            Visit.objects.filter(pk=visit.pk).update(
                confirm_tries=tries, **({"confirm_code_hash": ""} if tries >= CODE_TRIES else {})
            )
            _audit(
                actor, "wrong_code", "visit", visit.pk, visit.region_id, {"tries": [None, tries]}
            )
            refusal = (
                _("验证码已输错 %(n)d 次，已作废，请重新发送或改用当面签名确认") % {"n": CODE_TRIES}
                if tries >= CODE_TRIES
                else _("验证码不正确，还可输入 %(n)d 次") % {"n": CODE_TRIES - tries}
            )
    raise ValidationError({"code": refusal})


WRONG_CODE = "wrong"


def _code_refusal(visit: Visit, code: str) -> str | None:
    if visit.confirmed_at:
        return _("该走访已由群众确认")
    if not visit.confirm_code_hash or not visit.confirm_code_expires:
        return _("请先发送验证码")
    if visit.confirm_code_expires < timezone.now():
        return _("验证码已过期，请重新发送")
    if not hmac.compare_digest(visit.confirm_code_hash, _code_hash(visit, code)):
        return WRONG_CODE
    return None


@transaction.atomic
def visit_sign(*, actor, visit: Visit, png: bytes) -> Visit:
    """The resident signs on the cadre's tablet: the signature is kept as a PNG."""
    require_write(actor, visit.region_id)
    if visit.confirmed_at:
        raise ValidationError(_("该走访已由群众确认"))
    if not png.startswith(b"\x89PNG") or len(png) > SIGNATURE_MAX_BYTES:
        raise ValidationError({"signature": _("签名图片无效或过大")})
    visit.signature.save(f"{visit.pk}-{secrets.token_hex(4)}.png", ContentFile(png), save=False)
    return _confirmed(actor, visit, "signature", "signature")


def _confirmed(actor, visit: Visit, method: str, *fields: str) -> Visit:
    """The household confirmed the visit (by ``method``); ``fields`` changed with it."""
    visit.confirmed_at, visit.confirm_method = timezone.now(), method
    visit.save(update_fields=["confirmed_at", "confirm_method", *fields])
    _audit(actor, "confirm", "visit", visit.pk, visit.region_id, {"confirm_method": [None, method]})
    return visit


# ---------------------------------------------------------------------------------------------
# Supervision


def _require_supervise(actor, region_code: str) -> None:
    if not actor.can(Cap.SUPERVISE) or not actor.reaches(region_code):
        raise PermissionDenied(_("只有督查人员可以标记或解除存疑走访"))


@transaction.atomic
def visit_flag(*, actor, visit: Visit, reason: str) -> Flag:
    _require_supervise(actor, visit.region_id)
    if not reason.strip():
        raise ValidationError({"reason": _("请填写存疑原因")})
    flag = Flag.objects.create(
        visit=visit,
        kind=FlagKind.MANUAL,
        reason=reason.strip()[:300],
        region_id=visit.region_id,
        flagged_by=actor,
    )
    _audit(actor, "flag", "visit", visit.pk, visit.region_id, {"reason": [None, flag.reason]})
    return flag


@transaction.atomic
def flag_clear(*, actor, flag: Flag, note: str) -> Flag:
    _require_supervise(actor, flag.region_id)
    if flag.cleared_at:
        raise ValidationError(_("该标记已解除"))
    if not note.strip():
        raise ValidationError({"note": _("请填写核实情况")})
    flag.cleared_at, flag.cleared_by, flag.cleared_note = timezone.now(), actor, note.strip()[:300]
    flag.save(update_fields=["cleared_at", "cleared_by", "cleared_note"])
    _audit(
        actor, "clear", "visit", flag.visit_id, flag.region_id, {"note": [None, flag.cleared_note]}
    )
    return flag


# ---------------------------------------------------------------------------------------------
# Needs → cases


@transaction.atomic
def need_link_case(*, actor, need_id: int, case_number: str) -> Need:
    """The case ledger registered a case for this need: keep its number. Called inside the
    ledger's registering transaction, so a refusal here registers nothing; the compare-and-set
    gives a need one case even when two cadres press at once."""
    need = Need.objects.filter(pk=need_id).first()
    if need is None:
        raise ValidationError(_("走访诉求不存在"))
    require_write(actor, need.region_id)
    now = timezone.now()
    taken = Need.objects.filter(pk=need.pk, case_number="").update(
        case_number=case_number, raised_at=now, raised_by=actor
    )
    if not taken:
        need.refresh_from_db(fields=["case_number"])
        raise ValidationError(_("该诉求已立案：%(n)s") % {"n": need.case_number})
    need.case_number, need.raised_at, need.raised_by = case_number, now, actor
    _audit(
        actor, "raise_case", "need", need.pk, need.region_id, {"case_number": [None, case_number]}
    )
    return need


def visits_batch(*, actor, items: Iterable[tuple[Campaign, Household, VisitInput]]) -> list:
    """An offline phone's queue: each entry on its own (one bad entry does not lose the
    rest), idempotent by client id. [(visit or None, created, error message)]."""
    items = list(items)
    results: list = [None] * len(items)
    # One transaction (one commit) for the batch, a savepoint per entry; households locked in
    # one order, so that two batches over the same households cannot deadlock.
    order = sorted(range(len(items)), key=lambda i: (items[i][1].pk, i))
    with transaction.atomic():
        for i in order:
            campaign, household, data = items[i]
            try:
                visit, created = visit_log(
                    actor=actor, campaign=campaign, household=household, data=data
                )
                results[i] = (visit, created, "")
            except (ValidationError, PermissionDenied) as error:
                message = (
                    "；".join(error.messages) if isinstance(error, ValidationError) else str(error)
                )
                results[i] = (None, False, message)
    return results
