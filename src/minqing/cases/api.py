"""The case ledger's API: cases, their moves, return contacts, disputes, figures and the holiday
arrangement, through the same selectors (scope: out of reach is 404), forms and services
(rules, audit) as the pages. Petition content is hidden from readers without the
personal-data permission, as on the pages."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Router, Schema, Status, UploadedFile
from pydantic import BaseModel, ConfigDict

from minqing.accounts.roles import Cap
from minqing.cases import services
from minqing.cases.figures import FIGURES, by_region, by_unit, figures_by_group, total
from minqing.cases.filters import case_filter_from_params
from minqing.cases.forms import DISPUTE_FORMS, MOVE_FORMS
from minqing.cases.models import Case, CaseCategory, HolidayYear, Kind
from minqing.cases.notices import notices_for, notices_mark_read
from minqing.cases.selectors import (
    case_records,
    case_timeline,
    get_case_by_number,
    get_case_for_user,
    ledger_page,
)
from minqing.cases.views import attachment_response
from minqing.cases.workflow import available_moves
from minqing.households.selectors import get_household_for_user
from minqing.regions.selectors import get_region_for_user

router = Router(tags=["案件台账"])
PAGE_SIZE = 50
NOTICE_FIELDS = ("id", "case_id", "at", "text", "read_at")


class CaseRow(Schema):
    id: int
    number: str
    title: str
    kind: str
    category: str
    category_name: str
    level: str
    status: str
    status_label: str
    region: str
    region_name: str
    due_at: datetime.datetime | None
    overdue: bool
    supervised: bool
    unit: str
    leader: str
    registered_at: datetime.datetime


class CasePage(Schema):
    items: list[CaseRow]
    next: str | None


class EventOut(Schema):
    at: datetime.datetime
    case: str
    actor: str
    action: str
    from_status: str
    to_status: str
    note: str


class ContactOut(Schema):
    at: datetime.datetime
    by: str
    rating: str
    method: str
    note: str
    exception_reason: str


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    uploaded_at: datetime.datetime


class CaseOut(CaseRow):
    text: str
    source: str
    source_ref: str
    household_id: int | None
    handler: str
    outcome: str
    answer: str
    public: bool
    escalated_count: int
    sent_back_count: int
    extension_count: int
    reopened_count: int
    merged_into: str | None
    version: int
    moves: list[str]  # what the reader may do now
    timeline: list[EventOut]
    contacts: list[ContactOut]
    attachments: list[AttachmentOut]  # none for a petition whose content is hidden


class CaseIn(Schema):
    source: str
    text: str
    category: str  # a subcategory code from GET /api/cases/categories
    region: str | None = None  # the 12-digit code; or take the household's
    household_id: int | None = None
    title: str = ""
    kind: str = ""
    level: str = ""
    public: bool = False
    source_ref: str = ""


class FieldsIn(BaseModel):
    """A move's fields, as the page's form names them (e.g. ``{"reason": "..."}``)."""

    model_config = ConfigDict(extra="allow")


class CategoryOut(Schema):
    code: str
    name: str
    parent: str | None
    kind: str


class CellOut(Schema):
    value: int
    total: int | None
    rate: float | None  # a percentage


class FigureRow(Schema):
    group: str
    figures: dict[str, CellOut]


class FiguresOut(Schema):
    labels: dict[str, str]
    rows: list[FigureRow]
    total: dict[str, CellOut]


class HolidayIn(Schema):
    document: str
    days: str  # one a line: "2027-01-01~2027-01-03 休 元旦", "2027-02-14 班 春节"


class HolidayOut(Schema):
    year: int
    document: str
    days: list[dict]


def _row(case: Case) -> dict:
    return {
        "id": case.pk,
        "number": case.number,
        "title": case.shown_title,
        "kind": case.kind,
        "category": case.category.code if hasattr(case.category, "code") else "",
        "category_name": str(case.category),
        "level": case.level,
        "status": case.status,
        "status_label": str(case.get_status_display()),
        "region": case.region_id,
        "region_name": case.region.short_name,
        "due_at": case.due_at,
        "overdue": case.overdue,
        "supervised": case.supervised,
        "unit": case.unit.name if case.unit_id else "",
        "leader": case.leader.display_name if case.leader_id else "",
        "registered_at": case.registered_at,
    }


def _case_out(user, case: Case) -> CaseOut:
    services.petition_viewed(actor=user, case=case)
    records = case_records(case)
    return CaseOut(
        **_row(case),
        text=case.shown_text,
        source=case.source,
        source_ref=case.source_ref,
        household_id=case.household_id,
        handler=case.handler.display_name if case.handler_id else "",
        outcome=case.outcome,
        answer=case.shown_answer,
        public=case.public,
        escalated_count=case.escalated_count,
        sent_back_count=case.sent_back_count,
        extension_count=case.extension_count,
        reopened_count=case.reopened_count,
        merged_into=case.merged_into.number if case.merged_into_id else None,
        version=case.version,
        moves=available_moves(user, case),
        timeline=[
            EventOut(
                at=e.at,
                case=e.case.number,
                actor=e.actor_name,
                action=e.action,
                from_status=e.from_status,
                to_status=e.to_status,
                note=e.note,
            )
            for e in case_timeline(case)
        ],
        contacts=[_contact_out(c) for c in records.contacts],
        attachments=[
            {f: getattr(a, f) for f in AttachmentOut.model_fields} for a in records.attachments
        ],
    )


def _contact_out(c) -> ContactOut:
    return ContactOut(
        at=c.at,
        by=c.by.display_name,
        rating=c.rating,
        method=c.method,
        note=c.note,
        exception_reason=c.exception_reason,
    )


def _run_form(form_class, user, case, payload: FieldsIn, files=None):
    """A move through the page's form (same validation, same service)."""
    data = {
        k: ("1" if v is True else "0" if v is False else v) for k, v in payload.model_dump().items()
    }
    form = form_class(data, files, user=user, case=case)
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.run()


@router.get("", response=CasePage, summary="案件列表（筛选、按游标翻页）")
def case_index(request, after: str | None = None):
    user = request.user
    filters, errors = case_filter_from_params(user, request.GET)
    if errors:
        raise ValidationError(errors)
    page = ledger_page(user, filters, request.GET, size=PAGE_SIZE)
    return CasePage(items=[CaseRow(**_row(c)) for c in page.rows], next=page.next_cursor)


@router.post("", response={201: CaseOut}, summary="登记案件")
def case_new(request, payload: CaseIn):
    user = request.user
    household = region = None
    if payload.household_id:
        household, _w = get_household_for_user(user, payload.household_id)
    if payload.region:
        region, _w = get_region_for_user(user, payload.region.strip())
    case = services.case_register(
        user,
        source=payload.source,
        text=payload.text,
        category_code=payload.category,
        region=region,
        household=household,
        title=payload.title,
        kind=payload.kind,
        level=payload.level,
        public=payload.public,
        source_ref=payload.source_ref,
    )
    return Status(201, _case_out(user, get_case_for_user(user, case.pk)[0]))


@router.get("/categories", response=list[CategoryOut], summary="案件类别（两级）")
def categories(request):
    return [
        CategoryOut(
            code=c.code, name=c.name, parent=c.parent.code if c.parent_id else None, kind=c.kind
        )
        for c in CaseCategory.objects.filter(active=True).select_related("parent")
    ]


@router.get("/figures", response=FiguresOut, summary="案件统计（按区划或承办单位、按登记期间）")
def figures(
    request,
    by: str = "region",
    start: datetime.date | None = None,
    end: datetime.date | None = None,
):
    user = request.user
    tz = timezone.get_current_timezone()
    begin = datetime.datetime.combine(start, datetime.time(), tzinfo=tz) if start else None
    stop = (
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), tzinfo=tz)
        if end
        else None
    )
    if by not in ("region", "unit"):
        raise ValidationError({"by": _("分组方式应为 region 或 unit")})
    group = by_unit() if by == "unit" else by_region({6: 9, 9: 12, 12: 12}.get(len(user.reach), 6))
    groups = figures_by_group(user, group=group, start=begin, end=stop)

    def cells(cs):
        return {k: CellOut(value=c.value, total=c.total, rate=c.rate) for k, c in cs.items()}

    return FiguresOut(
        labels={k: str(f.label) for k, f in FIGURES.items()},
        rows=[
            FigureRow(group=str(g or ""), figures=cells(cs))
            for g, cs in sorted(groups.items(), key=lambda kv: str(kv[0] or ""))
        ],
        total=cells(total(groups)),
    )


@router.get("/holidays/{year}", response=HolidayOut, summary="某年的节假日安排（录入的）")
def holiday_get(request, year: int):
    entry = HolidayYear.objects.filter(year=year).first()
    if entry is None:
        raise Http404
    return HolidayOut(
        year=year,
        document=entry.document,
        days=[
            {"day": d.day.isoformat(), "workday": d.workday, "name": d.name}
            for d in entry.days.all()
        ],
    )


@router.put("/holidays/{year}", response=HolidayOut, summary="录入某年的节假日安排（县级管理员）")
def holiday_put(request, year: int, payload: HolidayIn):
    services.holiday_year_save(
        actor=request.user, year=year, document=payload.document, days_text=payload.days
    )
    return holiday_get(request, year)


class NoticeOut(Schema):
    id: int
    case_id: int
    case_number: str
    at: datetime.datetime
    text: str
    read_at: datetime.datetime | None


class NoticesIn(Schema):
    ids: list[int] | None = None


@router.get("/notifications", response=list[NoticeOut], summary="我的案件提醒（最近 100 条）")
def notification_list(request, unread: bool = False):
    qs = notices_for(request.user).select_related("case").only("case__number", *NOTICE_FIELDS)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return [
        {"case_number": n.case.number, **{f: getattr(n, f) for f in NOTICE_FIELDS}}
        for n in qs[:100]
    ]


@router.post("/notifications/read", response=dict, summary="标为已读（不给 ids 则全部）")
def notification_read(request, payload: NoticesIn):
    return {"marked": notices_mark_read(actor=request.user, ids=payload.ids)}


@router.get("/by-number/{number}", response=CaseOut, summary="按案件编号查找")
def case_by_number(request, number: str):
    return _case_out(request.user, get_case_by_number(request.user, number))


@router.get("/{case_id}", response=CaseOut, summary="案件详情（含办理过程和回访）")
def case_detail(request, case_id: int):
    case, _can = get_case_for_user(request.user, case_id)
    return _case_out(request.user, case)


@router.post(
    "/{case_id}/moves/{name}",
    response=CaseOut,
    summary="办理：assign、accept、send_back、start、answer、verify、close、escalate、merge、"
    "reopen、contact、extend_request、extend_decide、supervise",
)
def case_move(request, case_id: int, name: str, payload: FieldsIn):
    user = request.user
    case, _can = get_case_for_user(user, case_id)
    if name not in MOVE_FORMS or name == "attach":
        raise Http404
    _run_form(MOVE_FORMS[name], user, case, payload)
    return _case_out(user, get_case_for_user(user, case_id)[0])


@router.post("/{case_id}/contacts", response={201: ContactOut}, summary="记录回访")
def contact_new(request, case_id: int, payload: FieldsIn):
    user = request.user
    case, _can = get_case_for_user(user, case_id)
    return Status(201, _contact_out(_run_form(MOVE_FORMS["contact"], user, case, payload)))


@router.post("/{case_id}/attachments", response={201: AttachmentOut}, summary="上传附件（≤ 10 MB）")
def attachment_new(request, case_id: int, file: File[UploadedFile]):
    user = request.user
    case, _can = get_case_for_user(user, case_id)
    item = _run_form(MOVE_FORMS["attach"], user, case, FieldsIn(), files={"file": file})
    return Status(201, {f: getattr(item, f) for f in AttachmentOut.model_fields})


@router.get("/{case_id}/attachments/{attachment_id}", summary="下载附件")
def attachment_get(request, case_id: int, attachment_id: int):
    return attachment_response(request.user, case_id, attachment_id)


@router.get("/{case_id}/dispute", response=dict, summary="矛盾纠纷的调解记录")
def dispute_detail(request, case_id: int):
    case, _can = get_case_for_user(request.user, case_id)
    if case.kind != Kind.DISPUTE or not hasattr(case, "dispute"):
        raise Http404
    d = case.dispute
    return {
        "parties": [{"name": p.name, "role": p.role} for p in d.parties.all()],
        "mediators": [u.display_name for u in d.mediators.all()],
        "sessions": [
            {"held_on": s.held_on, "place": s.place, "record": s.record}
            for s in d.sessions.order_by("held_on")
        ],
        "result": d.result,
        "result_on": d.result_on,
        "facts": d.facts,
        "terms": d.terms,
        "performance_method": d.performance_method,
        "perform_by": d.perform_by,
        "signed_on": d.signed_on,
        "signatures": d.signatures,
        "judicial_applied_on": d.judicial_applied_on,
        "performance": d.performance,
        "performance_checked_on": d.performance_checked_on,
    }


@router.post(
    "/{case_id}/dispute/{action}",
    response=dict,
    summary="调解：party、session、result、judicial、performance",
)
def dispute_action(request, case_id: int, action: str, payload: FieldsIn):
    user = request.user
    case, _can = get_case_for_user(user, case_id)
    if action not in DISPUTE_FORMS:
        raise Http404
    if not (user.can(Cap.WRITE) or user.can(Cap.SUPERVISE)):
        raise PermissionDenied(_("您的角色只能查看，不能修改台账"))
    _run_form(DISPUTE_FORMS[action], user, case, payload)
    return dispute_detail(request, case_id)
