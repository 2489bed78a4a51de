"""The outreach API: campaigns, pairings, visits and coverage, through the same selectors
(scope: out of reach is 404) and services (rules, counters, audit) as the pages.

A phone that was offline posts its queue to ``POST /api/outreach/visits/batch``: each entry
carries the phone's ``client_id``, and posting the same entry again returns the visit it made
the first time (``"status": "duplicate"``) instead of a second visit."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from minqing.accounts.models import User
from minqing.accounts.roles import Cap
from minqing.accounts.selectors import users_in_reach
from minqing.households.selectors import households_in_reach
from minqing.lib.paging import PAGE_SIZE, keyset_page, page_size
from minqing.outreach import selectors, services
from minqing.outreach.models import Campaign, Pairing, Visit
from minqing.regions.codes import pad
from minqing.regions.models import Region, prefix_q

router = Router(tags=["走访"])

BATCH_MAX = 200


def _require_write(can_write: bool) -> None:
    if not can_write:
        raise PermissionDenied(_("您的角色只能查看，不能修改台账"))


# Campaigns


class MustVisitRule(Schema):
    category: str
    every_days: int


class CampaignIn(Schema):
    name: str
    kind: str = "other"
    start: datetime.date
    end: datetime.date
    regions: list[str]
    rounds: int = 1
    must_visit: list[MustVisitRule] = []
    aspects: list[str] = []
    report_day: int = 20


class CampaignOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    start: datetime.date
    end: datetime.date
    regions: list[str]
    rounds: int
    must_visit: list[MustVisitRule]
    aspects: list[str]
    report_day: int


def _campaign_out(c: Campaign) -> CampaignOut:
    return CampaignOut(
        id=c.pk,
        name=c.name,
        kind=c.kind,
        kind_label=str(c.get_kind_display()),
        start=c.start,
        end=c.end,
        regions=c.regions,
        rounds=c.rounds,
        must_visit=c.must_visit,
        aspects=c.aspects,
        report_day=c.report_day,
    )


@router.get("/campaigns", response=list[CampaignOut], summary="走访活动列表")
def campaign_index(request):
    return [_campaign_out(c) for c in selectors.campaigns_for(request.user)]


@router.post("/campaigns", response={201: CampaignOut}, summary="新建走访活动（并登记范围内各户）")
def campaign_new(request, data: CampaignIn):
    _require_write(request.user.can(Cap.WRITE))
    payload = data.dict()
    campaign = services.campaign_create(actor=request.user, **payload)
    return Status(201, _campaign_out(campaign))


@router.get("/campaigns/{int:campaign_id}", response=CampaignOut, summary="走访活动详情")
def campaign_detail(request, campaign_id: int):
    campaign, _w = selectors.get_campaign_for_user(request.user, campaign_id)
    return _campaign_out(campaign)


# Coverage


class FiguresOut(Schema):
    region: str
    name: str
    households: int
    rounds: list[int]
    must_visit: int
    must_overdue: int
    unpaired: int
    visits: int


class CadreOut(Schema):
    cadre_id: int
    name: str
    households: int  # paired with the cadre in the region
    visited: int  # of those, visited at least once
    visits: int  # the cadre's visits in the campaign
    last_visit_at: datetime.datetime | None
    idle: bool  # no visit in the last ``idle_days`` days


class CoverageOut(Schema):
    campaign_id: int
    on: datetime.date
    total: FiguresOut
    below: list[FiguresOut]  # the townships of a county, the villages of a township
    idle_days: int
    idle_cadres: int  # the page's "N 名干部超过 idle_days 天未走访"
    cadres: list[CadreOut]  # the page's cadre table


class RegionQuery(Schema):
    region: str = ""


class CoverageQuery(RegionQuery):
    idle: int = Field(selectors.IDLE_DAYS, ge=1, le=365, description="几天未走访算作未走访")


def _figures_out(prefix, name, f) -> FiguresOut:
    return FiguresOut(
        region=prefix,
        name=name,
        households=f.households,
        rounds=f.rounds,
        must_visit=f.must_visit,
        must_overdue=f.overdue,
        unpaired=f.unpaired,
        visits=f.visits,
    )


@router.get(
    "/campaigns/{int:campaign_id}/coverage",
    response=CoverageOut,
    summary="走访覆盖情况（本级及下一级）",
)
def campaign_coverage(request, campaign_id: int, query: Query[CoverageQuery]):
    user = request.user
    campaign, _w = selectors.get_campaign_for_user(user, campaign_id)
    prefix = selectors.scope_prefix(user, query.region)
    region = Region.objects.filter(code=pad(prefix)).first()
    total, table = selectors.coverage_with_table(campaign, prefix)
    # The page's own selector, so that the API and the page count the same cadres.
    cadres = selectors.cadre_table(campaign, prefix, idle_days=query.idle)
    return CoverageOut(
        campaign_id=campaign.pk,
        on=timezone.localdate(),
        total=_figures_out(prefix, region.short_name if region else prefix, total),
        below=[_figures_out(row["prefix"], row["name"], row["figures"]) for row in table],
        idle_days=query.idle,
        idle_cadres=sum(1 for row in cadres if row["idle"]),
        cadres=[
            CadreOut(
                cadre_id=row["cadre"].pk,
                name=row["cadre"].display_name,
                households=row["households"],
                visited=row["visited"],
                visits=row["visits"],
                last_visit_at=row["last_visit_at"],
                idle=row["idle"],
            )
            for row in cadres
        ],
    )


class GapOut(Schema):
    household_id: int
    head_name: str
    region: str
    region_name: str
    address: str
    next_due: datetime.date | None
    last_visit_at: datetime.datetime | None
    cadre_id: int | None
    cadre_name: str


class GapPage(Schema):
    items: list[GapOut]
    next: str | None  # pass as ?after= for the next page; null on the last


class GapQuery(RegionQuery):
    after: str | None = None
    limit: str | None = None  # 1 to 200, 50 by default (lib.paging.page_size)


@router.get(
    "/campaigns/{int:campaign_id}/gaps",
    response=GapPage,
    summary="逾期未访的必访户（含包联干部；按游标翻页，最早应访的在前）",
)
def campaign_gaps(request, campaign_id: int, query: Query[GapQuery]):
    """How many there are in all is the coverage answer's ``must_overdue``."""
    user = request.user
    campaign, _w = selectors.get_campaign_for_user(user, campaign_id)
    prefix = selectors.scope_prefix(user, query.region)
    errors: dict[str, str] = {}
    size = page_size(query.limit, errors)
    if errors:
        raise ValidationError(errors)
    page = keyset_page(
        selectors.gap_list(campaign, prefix),
        request.GET,
        order=("next_due", "id"),
        size=size,
        descending=False,
    )
    items = [
        GapOut(
            household_id=e.household_id,
            head_name=e.household.head_name,
            region=e.region_id,
            region_name=e.region.short_name,
            address=e.household.address,
            next_due=e.next_due,
            last_visit_at=e.last_visit_at,
            cadre_id=e.cadre_id,
            cadre_name=e.cadre.display_name if e.cadre else "",
        )
        for e in page.rows
    ]
    return GapPage(items=items, next=page.next_cursor)


# Pairings


class PairingOut(Schema):
    id: int
    campaign_id: int
    kind: str
    region: str
    household_id: int | None
    compound: str
    cadre_id: int | None
    cadre_name: str
    unit_id: int | None
    start: datetime.date
    end: datetime.date | None
    end_reason: str


class PairingPage(Schema):
    items: list[PairingOut]
    next: str | None


class PairingQuery(Schema):
    region: str = ""
    cadre: int | None = None
    current: bool = False


class AssignIn(Schema):
    household_ids: list[int]
    cadre_ids: list[int] = Field(
        ..., description="一位：全部交给他；多位：相邻住户分给同一人，平均分配"
    )
    start: datetime.date


class HandoverIn(Schema):
    cadre_id: int
    successor_ids: list[int]
    on: datetime.date
    reason: str


def _pairing_out(p: Pairing) -> PairingOut:
    return PairingOut(
        id=p.pk,
        campaign_id=p.campaign_id,
        kind=p.kind,
        region=p.region_id,
        household_id=p.household_id,
        compound=p.compound,
        cadre_id=p.cadre_id,
        cadre_name=p.cadre.display_name if p.cadre else "",
        unit_id=p.unit_id,
        start=p.start,
        end=p.end,
        end_reason=p.end_reason,
    )


def _users(actor, ids: list[int]) -> list[User]:
    found = {u.pk: u for u in users_in_reach(actor).filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError(
            {
                "cadre_ids": _("没有这些干部，或不在您的管辖范围内：%(ids)s")
                % {"ids": "、".join(map(str, missing))}
            }
        )
    return [found[i] for i in ids]


@router.get(
    "/campaigns/{int:campaign_id}/pairings", response=PairingPage, summary="包联（按游标翻页）"
)
def pairing_index(request, campaign_id: int, query: Query[PairingQuery]):
    user = request.user
    campaign, _w = selectors.get_campaign_for_user(user, campaign_id)
    prefix = selectors.scope_prefix(user, query.region)
    qs = Pairing.objects.filter(campaign=campaign).filter(prefix_q("region_id", prefix))
    if query.cadre is not None:
        qs = qs.filter(cadre_id=query.cadre)
    if query.current:
        qs = qs.filter(end__isnull=True)
    page = keyset_page(
        qs.select_related("cadre"), request.GET, order=("id",), size=PAGE_SIZE, descending=False
    )
    return PairingPage(items=[_pairing_out(p) for p in page.rows], next=page.next_cursor)


@router.post(
    "/campaigns/{int:campaign_id}/pairings",
    response={201: dict},
    summary="分配包联户（一人或多人平均）",
)
def pairing_assign(request, campaign_id: int, data: AssignIn):
    user = request.user
    campaign, can_write = selectors.get_campaign_for_user(user, campaign_id)
    _require_write(can_write)
    households = list(households_in_reach(user).filter(pk__in=data.household_ids))
    if len(households) != len(set(data.household_ids)):
        raise ValidationError({"household_ids": _("有的户不存在，或不在您的管辖范围内")})
    cadres = _users(user, data.cadre_ids)
    if len(cadres) == 1:
        services.pairings_assign(
            actor=user, campaign=campaign, households=households, cadre=cadres[0], start=data.start
        )
        shares = {cadres[0].pk: len(households)}
    else:
        shares = services.pairings_spread(
            actor=user, campaign=campaign, households=households, cadres=cadres, start=data.start
        )
    return Status(201, {"shares": {str(k): v for k, v in shares.items()}})


@router.post(
    "/campaigns/{int:campaign_id}/handover", response=dict, summary="干部离任：移交其包联户"
)
def pairing_handover(request, campaign_id: int, data: HandoverIn):
    user = request.user
    campaign, can_write = selectors.get_campaign_for_user(user, campaign_id)
    _require_write(can_write)
    (cadre,) = _users(user, [data.cadre_id])
    shares = services.pairing_handover(
        actor=user,
        campaign=campaign,
        cadre=cadre,
        successors=_users(user, data.successor_ids),
        on=data.on,
        reason=data.reason,
    )
    return {"shares": {str(k): v for k, v in shares.items()}}


# Visits


class VisitIn(BaseModel):
    # pydantic's own model, not ninja's Schema: a Schema reads every field of the input
    # through a getter made for Django objects, 3% of the instructions of a visit posted
    # (python -m bench._instructions); a request body is a dict, which pydantic reads itself.
    client_id: str = Field("", max_length=64, description="手机端生成的唯一编号：重复提交只记一次")
    campaign_id: int
    household_id: int
    visited_at: datetime.datetime
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    aspects: list[str] = []
    family: str = ""
    thinking: str = ""
    difficulty: str = ""
    help_needed: str = ""
    found: str = ""
    promised: str = ""
    needs: list[str] = []


class NeedOut(Schema):
    id: int
    text: str
    case_number: str


class VisitOut(Schema):
    id: int
    client_id: str
    campaign_id: int
    household_id: int
    region: str
    author_id: int
    author_name: str
    visited_at: datetime.datetime
    round: int
    address: str
    latitude: float | None
    longitude: float | None
    aspects: list[str]
    family: str
    thinking: str
    difficulty: str
    help_needed: str
    found: str
    promised: str
    needs: list[NeedOut]
    confirmed_at: datetime.datetime | None
    flagged: bool


class VisitPage(Schema):
    items: list[VisitOut]
    next: str | None


class VisitQuery(Schema):
    campaign: int | None = None
    household: int | None = None
    region: str = ""


class BatchIn(Schema):
    visits: list[VisitIn]


class BatchItem(Schema):
    client_id: str
    status: str  # created | duplicate | refused
    id: int | None
    error: str


class BatchOut(Schema):
    created: int
    duplicates: int
    refused: int
    items: list[BatchItem]


def _visit_out(v: Visit, needs=None, flagged=False) -> VisitOut:
    # Built without validation (pydantic's model_construct): the values are the model's own,
    # already of the declared types, and django-ninja's validation of a Schema (a getter for
    # each field) was 5% of the instructions of a visit posted (python -m bench._instructions).
    return VisitOut.model_construct(
        id=v.pk,
        client_id=v.client_id or "",
        campaign_id=v.campaign_id,
        household_id=v.household_id,
        region=v.region_id,
        author_id=v.author_id,
        author_name=v.author.display_name,
        visited_at=v.visited_at,
        round=v.round,
        address=v.address,
        latitude=None if v.latitude is None else float(v.latitude),
        longitude=None if v.longitude is None else float(v.longitude),
        aspects=v.aspects,
        family=v.family,
        thinking=v.thinking,
        difficulty=v.difficulty,
        help_needed=v.help_needed,
        found=v.found,
        promised=v.promised,
        needs=[
            NeedOut.model_construct(id=n.pk, text=n.text, case_number=n.case_number)
            for n in (needs or [])
        ],
        confirmed_at=v.confirmed_at,
        flagged=flagged,
    )


def _input(data: VisitIn) -> services.VisitInput:
    return services.VisitInput(
        visited_at=data.visited_at,
        address=data.address,
        latitude=data.latitude,
        longitude=data.longitude,
        aspects=data.aspects,
        family=data.family,
        thinking=data.thinking,
        difficulty=data.difficulty,
        help_needed=data.help_needed,
        found=data.found,
        promised=data.promised,
        needs=data.needs,
        client_id=data.client_id.strip(),
    )


@router.get("/visits", response=VisitPage, summary="走访记录（按游标翻页，新的在前）")
def visit_index(request, query: Query[VisitQuery]):
    user = request.user
    qs = selectors.visits_in_reach(user).select_related("author")
    if query.campaign is not None:
        qs = qs.filter(campaign_id=query.campaign)
    if query.household is not None:
        qs = qs.filter(household_id=query.household)
    if query.region:
        qs = qs.filter(prefix_q("region_id", selectors.scope_prefix(user, query.region)))
    page = keyset_page(qs, request.GET, order=("visited_at", "id"), size=PAGE_SIZE)
    return VisitPage(items=[_visit_out(v) for v in page.rows], next=page.next_cursor)


@router.get("/visits/{int:visit_id}", response=VisitOut, summary="走访记录详情")
def visit_detail(request, visit_id: int):
    visit, _w = selectors.get_visit_for_user(request.user, visit_id)
    return _visit_out(visit, list(visit.needs.all()), _flagged(visit))


def _flagged(visit: Visit) -> bool:
    return visit.flags.filter(cleared_at__isnull=True).exists()


@router.post("/visits", response={201: VisitOut, 200: VisitOut}, summary="记录一次走访")
def visit_new(request, data: VisitIn):
    # The service refuses a viewer (403) once the campaign and the household are found within
    # reach (else 404), as for every write.
    user = request.user
    visit, created = services.visit_post(
        actor=user,
        campaign_id=data.campaign_id,
        household_id=data.household_id,
        data=_input(data),
    )
    if created:
        return Status(201, _visit_out(visit, visit.raised, visit.flagged))
    return Status(200, _visit_out(visit, list(visit.needs.all()), _flagged(visit)))


@router.post("/visits/batch", response=BatchOut, summary="批量上传离线走访（按 client_id 去重）")
def visit_batch(request, data: BatchIn):
    """Each entry is saved or refused on its own; an entry already saved (same client_id)
    comes back as ``duplicate`` with its id."""
    user = request.user
    _require_write(user.can(Cap.WRITE))
    if len(data.visits) > BATCH_MAX:
        raise ValidationError(_("每批最多 %(n)d 条走访") % {"n": BATCH_MAX})
    if any(not v.client_id.strip() for v in data.visits):
        raise ValidationError({"client_id": _("批量上传的每条走访都要有 client_id")})
    households = {
        h.pk: h
        for h in households_in_reach(user).filter(pk__in={v.household_id for v in data.visits})
    }
    campaigns: dict[int, Campaign | None] = {}
    items, entries = [], []
    for v in data.visits:
        if v.campaign_id not in campaigns:
            try:
                campaigns[v.campaign_id] = selectors.get_campaign_for_user(user, v.campaign_id)[0]
            except Http404:
                campaigns[v.campaign_id] = None
        campaign, household = campaigns[v.campaign_id], households.get(v.household_id)
        entries.append((v, campaign, household))
    ready = [(c, h, _input(v)) for v, c, h in entries if c is not None and h is not None]
    saved = iter(services.visits_batch(actor=user, items=ready))
    for v, campaign, household in entries:
        if campaign is None or household is None:
            what = _("活动") if campaign is None else _("户")
            items.append(
                BatchItem(
                    client_id=v.client_id,
                    status="refused",
                    id=None,
                    error=_("未找到该%(what)s，或不在您的管辖范围内") % {"what": what},
                )
            )
            continue
        visit, created, error = next(saved)
        status = "refused" if visit is None else "created" if created else "duplicate"
        items.append(
            BatchItem(
                client_id=v.client_id, status=status, id=visit.pk if visit else None, error=error
            )
        )
    return BatchOut(
        created=sum(i.status == "created" for i in items),
        duplicates=sum(i.status == "duplicate" for i in items),
        refused=sum(i.status == "refused" for i in items),
        items=items,
    )
