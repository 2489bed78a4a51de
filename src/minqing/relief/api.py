"""Relief and reconstruction over the API, through the same selectors (scope: out of reach is
404) and services (rules, paid once, audit) as the pages. No answer carries an ID number or
a phone of a household; a second payment answers 409 with who paid and when."""

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from minqing.households.selectors import get_household_for_user, households_in_reach
from minqing.lib.paging import keyset_page
from minqing.regions.codes import pad
from minqing.regions.models import Level, Region
from minqing.relief import export, services
from minqing.relief.card import card_pdf
from minqing.relief.models import Material, Objection
from minqing.relief.rules import describe
from minqing.relief.selectors import (
    completion_rates,
    depots_in_reach,
    entitlements_in_reach,
    get_batch_for_user,
    get_entitlement_for_user,
    get_hazard_site_for_user,
    get_list_for_user,
    get_programme_for_user,
    get_project_for_user,
    hazard_sites_in_reach,
    household_received,
    households_by_ids,
    line_counts,
    programmes_in_reach,
    project_received,
    projects_in_reach,
    regions_by_codes,
    rule_preview,
    stock_balances,
)

router = Router(tags=["救助与重建"])
PAGE_SIZE = 200


def _require_write(can_write: bool) -> None:
    if not can_write:
        raise PermissionDenied(_("您的角色只能查看，不能修改台账"))


# Answers and requests


class LineIn(Schema):
    code: str
    label: str
    kind: str  # cash / material / waiver
    condition: dict = {}
    amount_fen: int = 0
    material: str = ""  # the material's name (钢筋)
    quantity: Decimal = Decimal(0)
    waiver: str = ""
    waiver_months: int = 0


class LineOut(Schema):
    position: int
    code: str
    label: str
    condition: dict
    description: str
    kind: str
    amount_fen: int
    material: str
    unit: str
    quantity: Decimal
    waiver: str
    waiver_months: int


class RulesIn(Schema):
    match: str = "all"  # first / all
    lines: list[LineIn]
    note: str = ""


class PreviewIn(RulesIn):
    on: datetime.date | None = None


class PreviewOut(Schema):
    code: str
    label: str
    description: str
    households: int


class CycleOut(Schema):
    id: int
    label: str
    on: datetime.date


class ProgrammeIn(Schema):
    name: str
    kind: str
    starts_on: datetime.date
    ends_on: datetime.date | None = None
    budget_fen: int = 0
    regions: list[str] = []  # region code prefixes; empty: the user's reach
    exclusive_group: str = ""
    document: str = ""


class ProgrammeOut(Schema):
    id: int
    name: str
    kind: str
    region: str
    regions: list[str]
    starts_on: datetime.date
    ends_on: datetime.date | None
    budget_fen: int
    exclusive_group: str
    document: str
    version: int | None
    match: str | None
    lines: list[LineOut]
    cycles: list[CycleOut]


class CycleIn(Schema):
    label: str = ""
    on: datetime.date


class ListIn(Schema):
    cycle_id: int
    corrects_id: int | None = None
    note: str = ""


class LineCountOut(Schema):
    code: str
    label: str
    households: int
    paid: int
    amount_fen: int
    quantity: Decimal


class ListOut(Schema):
    id: int
    programme_id: int
    cycle: str
    version: int
    status: str
    corrects_id: int | None
    notice_from: datetime.date | None
    notice_days: int
    lines: list[LineCountOut]
    summary: dict


class TransitionIn(Schema):
    to: str
    notice_days: int = 0
    note: str = ""


class EntitlementOut(Schema):
    id: int
    household_id: int
    head_name: str
    region: str
    line: str
    excluded: bool


class EntitlementPage(Schema):
    items: list[EntitlementOut]
    next: str | None


class ObjectionIn(Schema):
    raised_by: str
    text: str
    household_id: int | None = None


class DecisionIn(Schema):
    decision: str  # upheld / rejected
    answer: str


class ObjectionOut(Schema):
    id: int
    household_id: int | None
    raised_by: str
    text: str
    decision: str


class HandoverIn(Schema):
    receiver: str
    proof: str  # signature / thumbprint
    depot_id: int | None = None


class PaymentOut(Schema):
    id: int
    programme: str
    cycle: str
    line: str
    version: int
    method: str
    status: str
    receiver: str
    paid_by: str
    paid_at: datetime.datetime


class AlreadyPaidOut(Schema):
    detail: str
    paid_by: str
    paid_at: datetime.datetime
    programme: str


class BalanceOut(Schema):
    depot_id: int
    depot: str
    material: str
    unit: str
    quantity: Decimal


class StockIn(Schema):
    depot_id: int
    material: str
    quantity: Decimal
    note: str = ""  # the source of a receipt, the reason of a count difference


class RateOut(Schema):
    code: str
    name: str
    projects: int
    done: int
    rate: float
    finished: bool
    veto: bool


class ProjectIn(Schema):
    household_id: int
    kind: str


class ProjectOut(Schema):
    id: int
    household_id: int
    head_name: str
    region: str
    kind: str
    grade: str
    stage: str
    stage_on: datetime.date | None
    cash_fen: int | None = None
    materials: list[dict] | None = None


class MilestoneIn(Schema):
    stage: str
    on: datetime.date
    note: str = ""


class HazardIn(Schema):
    code: str
    name: str
    region: str  # the village's 12-digit code
    kind: str
    location: str
    longitude: Decimal | None = None
    latitude: Decimal | None = None
    scale: str
    volume_m3: int = 0
    trigger: str
    danger_zone: str
    monitor_name: str
    monitor_phone: str
    warning_signal: str
    warning_by: str
    warning_phone: str
    evacuation_route: str
    shelter: str
    decision: str
    progress: int = 0
    progress_note: str = ""
    household_ids: list[int] = []


class HazardOut(HazardIn):
    """A site as stored: the same fields as ``HazardIn``, with its id."""

    id: int


# Conversions


def _line_out(line) -> LineOut:
    return LineOut(
        position=line.position,
        code=line.code,
        label=line.label,
        condition=line.condition,
        description=describe(line.condition),
        kind=line.kind,
        amount_fen=line.amount_fen,
        material=line.material.name if line.material else "",
        unit=line.material.unit if line.material else "",
        quantity=line.quantity,
        waiver=line.waiver,
        waiver_months=line.waiver_months,
    )


def _programme_out(programme) -> ProgrammeOut:
    ruleset = programme.rulesets.order_by("-version").first()
    return ProgrammeOut(
        id=programme.pk,
        name=programme.name,
        kind=programme.kind,
        region=programme.region_id,
        regions=[r.code for r in programme.regions.all()],
        starts_on=programme.starts_on,
        ends_on=programme.ends_on,
        budget_fen=programme.budget_fen,
        exclusive_group=programme.exclusive_group,
        document=programme.document,
        version=ruleset.version if ruleset else None,
        match=ruleset.match if ruleset else None,
        lines=[_line_out(line) for line in ruleset.lines.select_related("material")]
        if ruleset
        else [],
        cycles=[CycleOut(id=c.pk, label=c.label, on=c.on) for c in programme.cycles.all()],
    )


def _lines_in(lines: list[LineIn]) -> list[services.LineInput]:
    materials = {m.name: m for m in Material.objects.all()}
    result = []
    for i, line in enumerate(lines, 1):
        if line.material and line.material not in materials:
            raise ValidationError(
                _("第 %(n)d 条规则：物资“%(m)s”不存在") % {"n": i, "m": line.material}
            )
        result.append(
            services.LineInput(
                code=line.code,
                label=line.label,
                kind=line.kind,
                condition=dict(line.condition),
                amount_fen=line.amount_fen,
                material=materials.get(line.material),
                quantity=line.quantity,
                waiver=line.waiver,
                waiver_months=line.waiver_months,
            )
        )
    return result


def _list_out(user, entitlement_list) -> ListOut:
    return ListOut(
        id=entitlement_list.pk,
        programme_id=entitlement_list.programme_id,
        cycle=entitlement_list.cycle.label,
        version=entitlement_list.ruleset.version,
        status=entitlement_list.status,
        corrects_id=entitlement_list.corrects_id,
        notice_from=entitlement_list.notice_from,
        notice_days=entitlement_list.notice_days,
        lines=[
            LineCountOut(
                code=row["line"].code,
                label=row["line"].label,
                households=row["households"],
                paid=row["paid"],
                amount_fen=row["amount_fen"],
                quantity=row["quantity"],
            )
            for row in line_counts(user, entitlement_list)
        ],
        summary=entitlement_list.summary,
    )


def _payment_out(payment) -> PaymentOut:
    return PaymentOut(
        id=payment.pk,
        programme=payment.programme.name,
        cycle=payment.cycle.label,
        line=payment.entitlement.line.label,
        version=payment.entitlement.line.ruleset.version,
        method=payment.method,
        status=payment.status,
        receiver=payment.receiver,
        paid_by=payment.paid_by.display_name if payment.paid_by else "",
        paid_at=payment.paid_at,
    )


def _project_out(project, *, received=False) -> ProjectOut:
    out = ProjectOut(
        id=project.pk,
        household_id=project.household_id,
        head_name=project.household.head_name,
        region=project.region_id,
        kind=project.kind,
        grade=project.grade,
        stage=project.stage,
        stage_on=project.stage_on,
    )
    if received:
        got = project_received(project)
        out.cash_fen = got["cash_fen"]
        out.materials = [m | {"quantity": str(m["quantity"])} for m in got["materials"]]
    return out


def _hazard_out(site) -> HazardOut:
    values = {f: getattr(site, f) for f in services.HAZARD_FIELDS}
    return HazardOut(
        id=site.pk,
        region=site.region_id,
        household_ids=sorted(site.households.values_list("pk", flat=True)),
        **values,
    )


# Programmes and rules


@router.get("/programmes", response=list[ProgrammeOut], summary="救助项目列表")
def programme_list(request):
    return [
        _programme_out(p) for p in programmes_in_reach(request.user).order_by("-starts_on", "-id")
    ]


@router.post("/programmes", response={201: ProgrammeOut}, summary="新建救助项目")
def programme_create(request, body: ProgrammeIn):
    user = request.user
    regions = regions_by_codes(body.regions or [user.reach])
    programme = services.programme_create(
        actor=user,
        name=body.name,
        kind=body.kind,
        region=Region.objects.get(code=pad(user.reach)),
        regions=regions,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        budget_fen=body.budget_fen,
        exclusive_group=body.exclusive_group,
        document=body.document,
    )
    return Status(201, _programme_out(programme))


@router.get("/programmes/{pk}", response=ProgrammeOut, summary="救助项目（含现行规则）")
def programme_detail(request, pk: int):
    return _programme_out(get_programme_for_user(request.user, pk)[0])


@router.post("/programmes/{pk}/rules", response={201: ProgrammeOut}, summary="保存规则（新版本）")
def rules_create(request, pk: int, body: RulesIn):
    programme, can_write = get_programme_for_user(request.user, pk)
    _require_write(can_write)
    services.ruleset_create(
        actor=request.user,
        programme=programme,
        match=body.match,
        lines=_lines_in(body.lines),
        note=body.note,
    )
    return Status(201, _programme_out(programme))


@router.post(
    "/programmes/{pk}/preview", response=list[PreviewOut], summary="规则预览：每条规则惠及户数"
)
def rules_preview(request, pk: int, body: PreviewIn):
    programme, _can_write = get_programme_for_user(request.user, pk)
    lines = services.clean_lines(_lines_in(body.lines))
    on = body.on or timezone.localdate()
    return [
        PreviewOut(
            code=r["line"].code,
            label=r["line"].label,
            description=describe(r["line"].condition),
            households=r["households"],
        )
        for r in rule_preview(programme, lines, body.match, on)
    ]


@router.post("/programmes/{pk}/cycles", response={201: CycleOut}, summary="新增发放批次")
def cycle_create(request, pk: int, body: CycleIn):
    programme, can_write = get_programme_for_user(request.user, pk)
    _require_write(can_write)
    cycle = services.cycle_create(
        actor=request.user, programme=programme, label=body.label, on=body.on
    )
    return Status(201, CycleOut(id=cycle.pk, label=cycle.label, on=cycle.on))


@router.post(
    "/programmes/{pk}/lists", response={201: ListOut}, summary="生成救助名单（或更正名单）"
)
def list_create(request, pk: int, body: ListIn):
    programme, can_write = get_programme_for_user(request.user, pk)
    _require_write(can_write)
    cycle = programme.cycles.filter(pk=body.cycle_id).first()
    corrects = programme.lists.filter(pk=body.corrects_id).first() if body.corrects_id else None
    if cycle is None or (body.corrects_id and corrects is None):
        raise Http404
    entitlement_list = services.list_compute(
        actor=request.user, programme=programme, cycle=cycle, corrects=corrects, note=body.note
    )
    return Status(201, _list_out(request.user, entitlement_list))


# Lists


@router.get("/lists/{pk}", response=ListOut, summary="救助名单及各规则户数")
def list_detail(request, pk: int):
    return _list_out(request.user, get_list_for_user(request.user, pk)[0])


@router.get("/lists/{pk}/entitlements", response=EntitlementPage, summary="名单明细（分页）")
def list_entitlements(request, pk: int, after: str = ""):
    entitlement_list, _can_write = get_list_for_user(request.user, pk)
    rows = entitlements_in_reach(request.user, entitlement_list).select_related("household", "line")
    page = keyset_page(rows, request.GET, order=("id",), size=PAGE_SIZE, descending=False)
    return EntitlementPage(
        items=[
            EntitlementOut(
                id=e.pk,
                household_id=e.household_id,
                head_name=e.household.head_name,
                region=e.region_id,
                line=e.line.code,
                excluded=e.excluded,
            )
            for e in page.rows
        ],
        next=page.next_cursor,
    )


@router.post("/lists/{pk}/transition", response=ListOut, summary="名单流转：审核、公示、批准、对账")
def list_transition(request, pk: int, body: TransitionIn):
    entitlement_list, can_write = get_list_for_user(request.user, pk)
    _require_write(can_write)
    if body.to == "reconciled":
        services.list_reconcile(actor=request.user, entitlement_list=entitlement_list)
    else:
        services.list_transition(
            actor=request.user,
            entitlement_list=entitlement_list,
            to=body.to,
            notice_days=body.notice_days,
            note=body.note,
        )
    return _list_out(request.user, get_list_for_user(request.user, pk)[0])


@router.post("/lists/{pk}/objections", response={201: ObjectionOut}, summary="登记公示异议")
def objection_create(request, pk: int, body: ObjectionIn):
    entitlement_list, _can_write = get_list_for_user(request.user, pk)
    household = (
        get_household_for_user(request.user, body.household_id)[0] if body.household_id else None
    )
    objection = services.objection_record(
        actor=request.user,
        entitlement_list=entitlement_list,
        household=household,
        raised_by=body.raised_by,
        text=body.text,
    )
    return Status(201, _objection_out(objection))


def _objection_out(o: Objection) -> ObjectionOut:
    return ObjectionOut(
        id=o.pk,
        household_id=o.household_id,
        raised_by=o.raised_by,
        text=o.text,
        decision=o.decision,
    )


@router.post(
    "/lists/{pk}/objections/{objection_id}/decide", response=ObjectionOut, summary="处理异议"
)
def objection_decide(request, pk: int, objection_id: int, body: DecisionIn):
    entitlement_list, can_write = get_list_for_user(request.user, pk)
    _require_write(can_write)
    objection = entitlement_list.objections.filter(pk=objection_id).first()
    if objection is None:
        raise Http404
    return _objection_out(
        services.objection_decide(
            actor=request.user, objection=objection, decision=body.decision, answer=body.answer
        )
    )


# Paying


@router.post(
    "/entitlements/{pk}/handover",
    response={201: PaymentOut, 409: AlreadyPaidOut},
    summary="现场发放（一户一项只发一次）",
)
def handover(request, pk: int, body: HandoverIn):
    entitlement, can_write = get_entitlement_for_user(request.user, pk)
    _require_write(can_write)
    depot = (
        depots_in_reach(request.user).filter(pk=body.depot_id).first() if body.depot_id else None
    )
    try:
        payment = services.payment_handover(
            actor=request.user,
            entitlement=entitlement,
            receiver=body.receiver,
            proof=body.proof,
            depot=depot,
        )
    except services.AlreadyPaid as refused:
        earlier = refused.payment
        return Status(
            409,
            AlreadyPaidOut(
                detail=refused.messages[0],
                paid_by=earlier.paid_by.display_name if earlier.paid_by else "",
                paid_at=earlier.paid_at,
                programme=earlier.programme.name,
            ),
        )
    return Status(201, _payment_out(payment))


@router.get("/households/{pk}/received", response=list[PaymentOut], summary="某户已领取的救助")
def received(request, pk: int):
    household, _can_write = get_household_for_user(request.user, pk)
    return [_payment_out(p) for p in household_received(request.user, household)]


# Bank payments


class BatchOut(Schema):
    id: int
    list_id: int
    payments: int
    result_imported_at: datetime.datetime | None


class BankResultOut(Schema):
    paid: int
    failed: int
    open: int


def _batch_out(batch) -> BatchOut:
    return BatchOut(
        id=batch.pk,
        list_id=batch.entitlement_list_id,
        payments=batch.payments.count(),
        result_imported_at=batch.result_imported_at,
    )


@router.post("/lists/{pk}/bank-batches", response={201: BatchOut}, summary="生成银行代发批次")
def bank_batch_create(request, pk: int):
    entitlement_list, can_write = get_list_for_user(request.user, pk)
    _require_write(can_write)
    batch = services.bank_batch_create(actor=request.user, entitlement_list=entitlement_list)
    return Status(201, _batch_out(batch))


@router.get("/bank-batches/{pk}/file", summary="下载代发文件（.xlsx，含完整身份证号，记入审计）")
def bank_batch_file(request, pk: int):
    batch = get_batch_for_user(request.user, pk)
    return export.xlsx_response(export.bank_rows(request.user, batch), f"bank-{batch.pk}.xlsx")


@router.post("/bank-batches/{pk}/result", response=BankResultOut, summary="导入银行回盘文件")
def bank_batch_result(request, pk: int, file: UploadedFile = File(...)):  # noqa: B008 - ninja's way
    batch = get_batch_for_user(request.user, pk)
    result = services.bank_result_import(
        actor=request.user, batch=batch, source=file, filename=file.name or "result.xlsx"
    )
    return BankResultOut(**result)


@router.get("/lists/{pk}/objections", response=list[ObjectionOut], summary="公示异议")
def objection_list(request, pk: int):
    entitlement_list, _can_write = get_list_for_user(request.user, pk)
    return [_objection_out(o) for o in entitlement_list.objections.all()]


# Stock


@router.get("/stock", response=list[BalanceOut], summary="各仓库库存")
def stock(request):
    return [
        BalanceOut(
            depot_id=b.depot_id,
            depot=b.depot.name,
            material=b.material.name,
            unit=b.material.unit,
            quantity=b.quantity,
        )
        for b in stock_balances(request.user)
    ]


def _depot_material(user, body: StockIn):
    depot = depots_in_reach(user).filter(pk=body.depot_id).first()
    material = Material.objects.filter(name=body.material).first()
    if depot is None:
        raise Http404
    if material is None:
        raise ValidationError({"material": _("物资“%s”不存在") % body.material})
    return depot, material


@router.post("/stock/receipts", response={201: list[BalanceOut]}, summary="物资入库")
def stock_receive(request, body: StockIn):
    depot, material = _depot_material(request.user, body)
    services.stock_receive(
        actor=request.user, depot=depot, material=material, quantity=body.quantity, source=body.note
    )
    return Status(201, stock(request))


@router.post("/stock/counts", response={201: list[BalanceOut]}, summary="库存盘点")
def stock_count(request, body: StockIn):
    depot, material = _depot_material(request.user, body)
    services.stock_count(
        actor=request.user, depot=depot, material=material, counted=body.quantity, reason=body.note
    )
    return Status(201, stock(request))


# Reconstruction


@router.get("/rebuild/rates", response=list[RateOut], summary="重建完成率（按乡镇或村）")
def rebuild_rates(request, level: str = Query("township", description="township / village")):
    rows = completion_rates(
        request.user, level=Level.VILLAGE if level == "village" else Level.TOWNSHIP
    )
    return [RateOut(**{k: r[k] for k in RateOut.model_fields}) for r in rows]


@router.get("/projects", response=list[ProjectOut], summary="重建项目")
def project_list(request):
    return [
        _project_out(p)
        for p in projects_in_reach(request.user).select_related("household").order_by("id")[:1000]
    ]


@router.post("/projects", response={201: ProjectOut}, summary="新建重建项目")
def project_create(request, body: ProjectIn):
    household = (
        households_in_reach(request.user)
        .select_related("dwelling")
        .filter(pk=body.household_id)
        .first()
    )
    if household is None:
        raise Http404
    project = services.project_create(actor=request.user, household=household, kind=body.kind)
    return Status(201, _project_out(project))


@router.get("/projects/{pk}", response=ProjectOut, summary="重建项目（含已领取物资和资金）")
def project_detail(request, pk: int):
    return _project_out(get_project_for_user(request.user, pk)[0], received=True)


@router.post("/projects/{pk}/milestones", response={201: ProjectOut}, summary="登记重建节点")
def milestone_create(request, pk: int, body: MilestoneIn):
    project, can_write = get_project_for_user(request.user, pk)
    _require_write(can_write)
    services.milestone_record(
        actor=request.user, project=project, stage=body.stage, on=body.on, note=body.note
    )
    project.refresh_from_db()
    return Status(201, _project_out(project))


# Hazard sites


@router.get("/hazard-sites", response=list[HazardOut], summary="地质灾害隐患点")
def hazard_list(request):
    return [_hazard_out(s) for s in hazard_sites_in_reach(request.user)]


def _hazard_save(request, body: HazardIn, site=None):
    [region] = regions_by_codes([body.region])
    values = body.dict(exclude={"region", "household_ids"})
    return services.hazard_site_save(
        actor=request.user,
        region=region,
        values=values,
        households=households_by_ids(request.user, body.household_ids),
        site=site,
    )


@router.post("/hazard-sites", response={201: HazardOut}, summary="新增隐患点")
def hazard_create(request, body: HazardIn):
    return Status(201, _hazard_out(_hazard_save(request, body)))


@router.get("/hazard-sites/{pk}", response=HazardOut, summary="隐患点详情")
def hazard_detail(request, pk: int):
    return _hazard_out(get_hazard_site_for_user(request.user, pk)[0])


@router.put("/hazard-sites/{pk}", response=HazardOut, summary="修改隐患点")
def hazard_update(request, pk: int, body: HazardIn):
    site, can_write = get_hazard_site_for_user(request.user, pk)
    _require_write(can_write)
    return _hazard_out(_hazard_save(request, body, site))


@router.get("/hazard-sites/{pk}/cards/{household_id}", summary="防灾避险明白卡（PDF，一式三联）")
def hazard_card(request, pk: int, household_id: int):
    site, _can_write = get_hazard_site_for_user(request.user, pk)
    household = households_in_reach(request.user).filter(hazard_sites=site, pk=household_id).first()
    if household is None:
        raise Http404
    return HttpResponse(card_pdf(site, household), content_type="application/pdf")
