"""Reads of the case ledger, always starting from the reader's reach (out of reach is 404)."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz, utils

from minqing.accounts.roles import Cap
from minqing.cases.figures import FIGURES
from minqing.cases.models import (
    FINISHED,
    LEVEL_REACH,
    Case,
    CaseCategory,
    CaseLevel,
    Kind,
    ReturnContact,
    Status,
)
from minqing.cases.workflow import MANAGER_ROLES
from minqing.lib.paging import Page, keyset_page
from minqing.regions.models import prefix_q

LIST_ORDER = ("id",)
SIMILAR_DAYS = 90
SIMILAR_SCORE = 60


def cases_in_reach(user) -> QuerySet[Case]:
    return Case.objects.filter(prefix_q("region_id", user.reach))


def get_case_for_user(user, pk) -> tuple[Case, bool]:
    case = (
        cases_in_reach(user)
        .select_related("category__parent", "region", "household", "unit", "leader", "handler")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise Http404
    mask_case(user, case)
    return case, user.can(Cap.WRITE) or user.can(Cap.SUPERVISE)


def get_case_by_number(user, number: str) -> Case:
    """The case with this number (130681-2026-00042), if within the user's reach."""
    pk = cases_in_reach(user).filter(number=number.strip()).values_list("pk", flat=True).first()
    if pk is None:
        raise Http404
    return get_case_for_user(user, pk)[0]


ATTACHMENT_FIELDS = ("id", "name", "size", "content_type", "uploaded_at")


def may_read_text(user, case: Case) -> bool:
    """信访 are personal data: their text only for readers with the personal-data permission."""
    return case.kind != Kind.PETITION or user.can_view_personal


def mask_case(user, case: Case, *, text: bool = True) -> Case:
    """Set ``shown_title`` (and ``shown_text``, ``shown_answer``): the petition's content, its
    answer and the notes of its timeline hidden from a reader who may not see personal data
    (``content_hidden``). A list row has no text loaded: ``text=False``."""
    case.content_hidden = not may_read_text(user, case)
    if not case.content_hidden:
        case.shown_title = case.title
        if text:
            case.shown_text, case.shown_answer = case.text, case.answer
    else:
        case.shown_title = _("信访事项（内容已隐藏）")
        case.shown_text = _("信访内容属于个人信息，仅有个人信息查看权限的人员可见")
        case.shown_answer = _("（内容已隐藏）")
    return case


def user_level(user) -> str:
    """The level of cases a user runs: a village cadre village cases, and so on up."""
    digits = len(user.reach)
    if digits >= LEVEL_REACH[CaseLevel.VILLAGE]:
        return CaseLevel.VILLAGE
    if digits >= LEVEL_REACH[CaseLevel.TOWNSHIP]:
        return CaseLevel.TOWNSHIP
    return CaseLevel.COUNTY


@dataclass(frozen=True)
class CaseFilter:
    region: str = ""
    level: str = ""
    kind: str = ""
    category: str = ""  # a top or a subcategory code
    status: str = ""  # a status, or "open"
    due_before: datetime.date | None = None
    overdue: bool = False
    supervised: bool = False
    unit: int | None = None
    leader: int | None = None
    registered_from: datetime.date | None = None
    registered_to: datetime.date | None = None
    q: str = ""
    figure: str = ""  # the rows behind a figure (figures.FIGURES)
    part: str = "num"  # its numerator, or the denominator of a rate


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=timezone.get_current_timezone())


def case_list(user, f: CaseFilter) -> QuerySet[Case]:
    qs = cases_in_reach(user)
    if f.region and f.region.startswith(user.reach[: len(f.region)]):
        qs = qs.filter(prefix_q("region_id", f.region))
    if f.level:
        qs = qs.filter(level=f.level)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.category:
        ids = list(
            CaseCategory.objects.filter(
                Q(code=f.category) | Q(parent__code=f.category)
            ).values_list("pk", flat=True)
        )
        qs = qs.filter(category_id__in=ids)
    if f.status == "open":
        qs = qs.exclude(status__in=FINISHED)
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.overdue:
        qs = qs.filter(overdue=True).exclude(status__in=FINISHED)
    if f.supervised:
        qs = qs.filter(supervised=True).exclude(status__in=FINISHED)
    if f.due_before:
        qs = qs.filter(due_at__lt=_day_start(f.due_before + datetime.timedelta(days=1))).exclude(
            status__in=FINISHED
        )
    if f.unit:
        qs = qs.filter(unit_id=f.unit)
    if f.leader:
        qs = qs.filter(leader_id=f.leader)
    if f.registered_from:
        qs = qs.filter(registered_at__gte=_day_start(f.registered_from))
    if f.registered_to:
        qs = qs.filter(registered_at__lt=_day_start(f.registered_to + datetime.timedelta(days=1)))
    if f.figure:
        figure = FIGURES[f.figure]
        qs = qs.filter(figure.rows(f.part))
    if f.q:
        text = f.q.strip()
        match = Q(number__contains=text) | Q(household__head_name__startswith=text)
        if user.can_view_personal:
            match |= Q(title__contains=text)
        else:
            match |= Q(title__contains=text) & ~Q(kind=Kind.PETITION)
        qs = qs.filter(match)
    return qs


def for_rows(qs: QuerySet[Case]) -> QuerySet[Case]:
    """The columns a list row shows. Names come by small prefetch queries instead of joins:
    a six-table join costs PostgreSQL more to plan than to run (bench/cases.py)."""
    from minqing.accounts.models import OrgUnit, User
    from minqing.households.models import Household
    from minqing.regions.models import Region

    return qs.only(
        "id",
        "number",
        "title",
        "kind",
        "level",
        "status",
        "due_at",
        "overdue",
        "supervised",
        "registered_at",
        "region",
        "category",
        "unit",
        "leader",
        "household",
        "escalated_count",
        "extension_count",
    ).prefetch_related(
        Prefetch("region", Region.objects.only("code", "short_name", "level")),
        Prefetch("category", CaseCategory.objects.select_related("parent")),
        Prefetch("unit", OrgUnit.objects.only("id", "name")),
        Prefetch("leader", User.objects.only("id", "full_name", "username")),
        Prefetch("household", Household.objects.only("id", "head_name")),
    )


def decorate_rows(user, rows) -> list[Case]:
    for case in rows:
        mask_case(user, case, text=False)
    return rows


def ledger_order(f: CaseFilter) -> tuple[tuple[str, ...], bool]:
    """(order, descending) of the ledger: newest first; under a deadline filter the most
    urgent first, which is also what its index (case_open_due_idx) gives without a walk of
    every open case."""
    return (("due_at", "id"), False) if f.due_before else (LIST_ORDER, True)


def ledger_page(user, f: CaseFilter, params, *, size: int) -> Page:
    """One page of the ledger as the page, the API and the benchmark show it."""
    order, descending = ledger_order(f)
    page = keyset_page(
        for_rows(case_list(user, f)), params, order=order, size=size, descending=descending
    )
    decorate_rows(user, page.rows)
    return page


# My cases

MY_LISTS = ("assign", "accept", "act", "verify", "call_back", "close")


@dataclass
class MyCases:
    assign: list
    accept: list
    act: list
    verify: list
    call_back: list
    close: list
    notifications: list
    unread: int


def _my_conditions(user) -> dict[str, Q]:
    """What the user must do, as one condition per list (on the user's scoped cases)."""
    level = user_level(user)
    at_level = Q(level=level) if level != CaseLevel.COUNTY else Q()
    mine = Q(handler=user) | (Q(unit_id=user.unit_id) if user.unit_id else Q(pk__in=[]))
    manager = user.role in MANAGER_ROLES and user.can(Cap.WRITE)
    checker = manager or user.can(Cap.SUPERVISE)
    nothing = Q(pk__in=[])
    contacted = ReturnContact.objects.filter(case=OuterRef("pk"), at__gte=OuterRef("answered_at"))
    return {
        "assign": at_level & Q(status__in=[Status.REGISTERED, Status.SENT_BACK, Status.ESCALATED])
        if manager
        else nothing,
        "accept": mine & Q(status=Status.ASSIGNED),
        "act": mine & Q(status__in=[Status.ACCEPTED, Status.IN_PROGRESS, Status.REOPENED]),
        "verify": at_level & Q(status=Status.ANSWERED) & ~Q(handler=user) & ~Q(answered_by=user)
        if checker
        else nothing,
        "call_back": at_level
        & Q(status__in=[Status.ANSWERED, Status.VERIFIED])
        & ~Q(Exists(contacted))
        if checker
        else nothing,
        "close": at_level & Q(status=Status.VERIFIED) if manager else nothing,
    }


ORDERS = {
    "verify": ("answered_at", "id"),
    "call_back": ("answered_at", "id"),
    "close": ("verified_at", "id"),
}


def my_cases(user, *, limit: int = 50) -> MyCases:
    from minqing.cases.notices import notices_for, unread_count

    scope = cases_in_reach(user)
    lists = {
        key: decorate_rows(
            user,
            list(for_rows(scope.filter(q)).order_by(*ORDERS.get(key, ("due_at", "id")))[:limit]),
        )
        for key, q in _my_conditions(user).items()
    }
    notifications = list(notices_for(user)[:20])
    return MyCases(**lists, notifications=notifications, unread=unread_count(user))


def my_counts(user) -> dict[str, tuple[int, int]]:
    """{list: (cases, of which overdue)} for the home page, in one query."""
    aggregates = {}
    for key, q in _my_conditions(user).items():
        aggregates[f"n_{key}"] = Count("id", filter=q)
        aggregates[f"o_{key}"] = Count("id", filter=q & Q(overdue=True))
    row = cases_in_reach(user).exclude(status__in=FINISHED).aggregate(**aggregates)
    return {key: (row[f"n_{key}"], row[f"o_{key}"]) for key in MY_LISTS}


def supervision_board(user) -> list[Case]:
    qs = (
        for_rows(cases_in_reach(user).filter(supervised=True).exclude(status__in=FINISHED))
        .prefetch_related("supervisions", "team")
        .order_by("due_at", "id")
    )
    return decorate_rows(user, list(qs))


def case_timeline(case: Case) -> list:
    """The case's history with the histories of the cases merged into it, oldest first; the
    notes hidden where ``mask_case`` hid the content."""
    from minqing.cases.models import CaseEvent

    ids = [case.pk, *case.merged_cases.values_list("pk", flat=True)]
    events = list(
        CaseEvent.objects.filter(case_id__in=ids).select_related("case").order_by("at", "id")
    )
    if getattr(case, "content_hidden", True):
        for event in events:
            event.note = _("（内容已隐藏）") if event.note else ""
    return events


@dataclass
class CaseRecords:
    contacts: list
    extensions: list
    supervisions: list
    attachments: list


def case_records(case: Case) -> CaseRecords:
    """What hangs off a case, for its page and its API answer. Where ``mask_case`` hid a
    petition's content, the free-text notes about it are hidden too and its files withheld."""
    hidden = getattr(case, "content_hidden", True)
    records = CaseRecords(
        contacts=list(case.contacts.select_related("by").order_by("at")),
        extensions=list(case.extensions.select_related("requested_by", "decided_by")),
        supervisions=list(case.supervisions.select_related("by")),
        attachments=[] if hidden else list(case.attachments.only(*ATTACHMENT_FIELDS)),
    )
    if hidden:
        notes = [(c, ("note", "exception_reason")) for c in records.contacts]
        notes += [(x, ("reason",)) for x in records.extensions]
        notes += [(s, ("note",)) for s in records.supervisions]
        for row, names in notes:
            for name in names:
                if getattr(row, name):
                    setattr(row, name, _("（内容已隐藏）"))
    return records


def get_attachment_for_user(user, case_id: int, attachment_id: int):
    """A case's file, for a reader who may see the case and its content; 404 otherwise."""
    case, _can = get_case_for_user(user, case_id)
    item = None if case.content_hidden else case.attachments.filter(pk=attachment_id).first()
    if item is None:
        raise Http404
    return case, item


# Duplicates


def similar_open_cases(
    user,
    *,
    text: str,
    region_code: str,
    household_id=None,
    category_id=None,
    exclude=None,
    limit: int = 5,
) -> list[tuple[Case, int]]:
    """Open cases of the same household or village in the last 90 days whose text is like
    ``text`` (rapidfuzz), the same category counting for more. (case, score) best first."""
    since = timezone.now() - datetime.timedelta(days=SIMILAR_DAYS)
    near = Q(region_id=region_code)
    if household_id:
        near |= Q(household_id=household_id)
    qs = (
        cases_in_reach(user)
        .filter(near, registered_at__gte=since)
        .exclude(status__in=FINISHED)
        .select_related("category", "region")
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    scored = []
    for case in qs.order_by("-id")[:500]:
        score = fuzz.WRatio(text, case.text, processor=utils.default_process)
        if category_id and case.category_id == category_id:
            score = min(100, score + 20)
        if household_id and case.household_id == household_id:
            score = min(100, score + 10)
        if score >= SIMILAR_SCORE:
            scored.append((mask_case(user, case), int(score)))
    scored.sort(key=lambda pair: -pair[1])
    return scored[:limit]
