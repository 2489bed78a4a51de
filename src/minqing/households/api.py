"""The registry's API: households, people, categories and dwellings, through the same
selectors (scope: out of reach is 404) and services (rules, audit) as the pages.

身份证号 and phone are always masked in answers; ``POST /api/people/{id}/reveal`` gives the
full values to a user with the personal-data permission, and writes an audit row."""

import datetime
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from minqing.accounts.roles import Cap
from minqing.households import services
from minqing.households.filters import household_filter_from_params
from minqing.households.models import (
    Assessment,
    CategoryGrant,
    DamageCause,
    Household,
    Person,
    PersonStatus,
    Relation,
)
from minqing.households.people import PersonInput
from minqing.households.selectors import (
    LIST_ORDER,
    annotate_for_list,
    decorate_household_rows,
    get_grant_for_user,
    get_household_for_user,
    get_person_for_user,
    household_assessments,
    household_grants,
    household_list,
    household_members,
    visible_categories,
)
from minqing.lib.masking import mask_id_number, mask_phone
from minqing.lib.paging import keyset_page, page_size
from minqing.regions.models import Region
from minqing.regions.selectors import region_path

households = Router(tags=["户籍台账"])
people = Router(tags=["户籍台账"])
categories = Router(tags=["户籍台账"])
grants = Router(tags=["户籍台账"])


def _require_write(can_write: bool) -> None:
    if not can_write:
        raise PermissionDenied(_("您的角色只能查看，不能修改台账"))


# Answers


class PersonOut(Schema):
    id: int
    household_id: int | None
    name: str
    relation: str
    relation_label: str
    sex: str
    birth_date: datetime.date | None
    status: str
    status_label: str
    id_number: str  # always masked: 110105********002X
    phone: str  # always masked: 138****5678
    region: str


class GrantOut(Schema):
    id: int
    category: str
    category_name: str
    scope: str
    household_id: int | None
    person_id: int | None
    person_name: str
    grade: str
    start: datetime.date
    end: datetime.date | None
    document: str
    end_reason: str
    current: bool


class AssessmentOut(Schema):
    grade: str
    grade_label: str
    assessed_on: datetime.date
    appraiser: str
    cause: str
    ground_floor_flooded: bool
    recorded_by: str
    recorded_at: datetime.datetime


class DwellingOut(Schema):
    grade: str
    grade_label: str
    assessed_on: datetime.date | None
    appraiser: str
    cause: str
    ground_floor_flooded: bool
    assessments: list[AssessmentOut]


class HouseholdRow(Schema):
    id: int
    region: str
    region_name: str
    address: str
    head_id: int | None
    head_name: str
    member_count: int
    grade: str
    categories: list[str]
    closed_on: datetime.date | None  # 销户日期; null while the household is current


class HouseholdPage(Schema):
    items: list[HouseholdRow]
    next: str | None  # pass as ?after= for the next page; null on the last


class HouseholdOut(Schema):
    id: int
    region: str
    region_path: list[str]
    address: str
    head_id: int | None
    head_name: str
    member_count: int
    members: list[PersonOut]
    categories: list[GrantOut]
    dwelling: DwellingOut | None
    closed_on: datetime.date | None  # 销户日期; null while the household is current
    closed_reason: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class CategoryOut(Schema):
    code: str
    name: str
    scope: str
    has_grade: bool
    must_visit: bool
    sensitive: bool


class RevealOut(Schema):
    id_number: str
    phone: str


def _person_out(person: Person) -> PersonOut:
    return PersonOut(
        id=person.pk,
        household_id=person.household_id,
        name=person.name,
        relation=person.relation,
        relation_label=str(person.get_relation_display()) if person.relation else "",
        sex=person.sex,
        birth_date=person.birth_date,
        status=person.status,
        status_label=str(person.get_status_display()),
        id_number=mask_id_number(person.id_number),
        phone=mask_phone(person.phone),
        region=person.region_id,
    )


def _grant_out(grant: CategoryGrant, today: datetime.date) -> GrantOut:
    return GrantOut(
        id=grant.pk,
        category=grant.category.code,
        category_name=grant.category.name,
        scope=grant.category.scope,
        household_id=grant.household_id,
        person_id=grant.person_id,
        person_name=grant.person.name if grant.person_id else "",
        grade=grant.grade,
        start=grant.start,
        end=grant.end,
        document=grant.document,
        end_reason=grant.end_reason,
        current=grant.active_on(today),
    )


def _assessment_out(a: Assessment) -> AssessmentOut:
    return AssessmentOut(
        grade=a.grade,
        grade_label=str(a.get_grade_display()),
        assessed_on=a.assessed_on,
        appraiser=a.appraiser,
        cause=a.cause,
        ground_floor_flooded=a.ground_floor_flooded,
        recorded_by=a.recorded_by.display_name if a.recorded_by else "",
        recorded_at=a.recorded_at,
    )


def _dwelling_out(household: Household) -> DwellingOut | None:
    try:
        dwelling = household.dwelling
    except Household.dwelling.RelatedObjectDoesNotExist:
        return None
    return DwellingOut(
        grade=dwelling.grade,
        grade_label=str(dwelling.get_grade_display()) if dwelling.grade else "",
        assessed_on=dwelling.assessed_on,
        appraiser=dwelling.appraiser,
        cause=dwelling.cause,
        ground_floor_flooded=dwelling.ground_floor_flooded,
        assessments=[_assessment_out(a) for a in household_assessments(household)],
    )


def _household_out(user, household: Household) -> HouseholdOut:
    today = timezone.localdate()
    return HouseholdOut(
        id=household.pk,
        region=household.region_id,
        region_path=[r.short_name for r in region_path(household.region) if r.level >= 3],
        address=household.address,
        head_id=household.head_id,
        head_name=household.head_name,
        member_count=household.member_count,
        members=[_person_out(p) for p in household_members(household)],
        categories=[_grant_out(g, today) for g in household_grants(user, household)],
        dwelling=_dwelling_out(household),
        closed_on=household.closed_on,
        closed_reason=household.closed_reason,
        created_at=household.created_at,
        updated_at=household.updated_at,
    )


def _reload(user, household: Household) -> Household:
    return get_household_for_user(user, household.pk)[0]


@contextmanager
def _fields_as(**names):
    """A service's refusal keyed by the pages' field names (``person``), re-keyed by this
    API's (``person_id``), so that a client can put each message next to its input."""
    try:
        yield
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        raise ValidationError(
            {names.get(key, key): value for key, value in error.error_dict.items()}
        ) from None


# Requests


class HouseholdQuery(Schema):
    """The list's filters, read by the same parser as the page (Chinese messages)."""

    q: str | None = None
    region: str | None = None
    category: str | None = None
    on: str | None = None
    grade: str | None = None
    members_min: str | None = None
    members_max: str | None = None
    state: str | None = None  # "" current households (default), "closed" 已销户, "all"
    after: str | None = None
    limit: str | None = None


class PersonIn(Schema):
    name: str
    id_number: str
    relation: str = Relation.OTHER
    phone: str = ""
    sex: str = ""
    birth_date: datetime.date | None = None
    status: str = PersonStatus.RESIDENT

    def to_input(self) -> PersonInput:
        return PersonInput(**self.dict())


class HeadIn(Schema):
    name: str
    id_number: str
    phone: str = ""
    sex: str = ""
    birth_date: datetime.date | None = None
    status: str = PersonStatus.RESIDENT

    def to_input(self) -> PersonInput:
        return PersonInput(relation=Relation.HEAD, **self.dict())


class HouseholdIn(Schema):
    region: str  # the 12-digit code of a village (社区) within reach
    address: str = ""
    head: HeadIn
    members: list[PersonIn] = []


class HouseholdPatch(Schema):
    address: str | None = None


class PersonPatch(Schema):
    """Only what is given changes; ``phone: ""`` removes the phone."""

    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    relation: str | None = None
    status: str | None = None


class MemberRelationIn(Schema):
    person_id: int  # a member of the household (已故, 已迁出 too), not the old or the new head
    relation: str  # their relation to the new head


class MoveIn(Schema):
    household_id: int
    relation: str
    on: datetime.date | None = None
    reason: str = ""
    # Moving a head out of a household whose members stay: the member who heads it from now
    # on (户主变更 in the same step); without one it has no head until a 户主变更.
    successor_id: int | None = None
    # With a successor: the other members' relations to them, as in POST .../head.
    relations: list[MemberRelationIn] = []


class HeadChangeIn(Schema):
    person_id: int  # a member living in the household
    old_head_relation: str = ""  # the old head's relation to the new; needed while they stay
    # The other members' relations to the new head; a member not listed gets the one that
    # follows from their relation to the old head (其他 where it does not follow).
    relations: list[MemberRelationIn] = []
    on: datetime.date | None = None


class CloseIn(Schema):
    reason: str  # 销户原因, e.g. 全户迁出
    on: datetime.date | None = None  # 销户日期, default today


class ReopenIn(Schema):
    reason: str


class GrantIn(Schema):
    category: str  # a code from GET /api/categories
    person_id: int | None = None  # a member, for a person category; none for the household
    start: datetime.date
    end: datetime.date | None = None
    document: str = ""
    grade: str = ""


class GrantEndIn(Schema):
    end: datetime.date
    reason: str = ""


class AssessmentIn(Schema):
    grade: str  # A, B, C or D (JGJ 125)
    assessed_on: datetime.date
    appraiser: str = ""
    cause: str = DamageCause.NONE
    ground_floor_flooded: bool = False


def _relations(given: list[MemberRelationIn]) -> tuple[dict[int, str], dict[str, str]]:
    """``relations`` read: {person id: relation}, and the service's field for each member
    (RELATION_FIELD) by this API's name for it (``relations.0``)."""
    relations, items = {}, {}
    for index, item in enumerate(given):
        if item.person_id in relations:
            raise ValidationError({f"relations.{index}.person_id": _("该人员已在前面列出")})
        relations[item.person_id] = item.relation
        items[services.RELATION_FIELD % item.person_id] = f"relations.{index}"
    return relations, items


# Households


@households.get("", response=HouseholdPage, summary="户列表（筛选、按游标翻页）")
def household_index(request, filters: Query[HouseholdQuery]):
    user = request.user
    parsed, errors = household_filter_from_params(user, request.GET)
    size = page_size(filters.limit, errors)
    if errors:
        raise ValidationError(errors)
    qs = annotate_for_list(household_list(user, parsed))
    page = keyset_page(qs, request.GET, order=LIST_ORDER, size=size, descending=False)
    decorate_household_rows(user, page.rows, day=parsed.on)
    return HouseholdPage(
        items=[
            HouseholdRow(
                id=h.pk,
                region=h.region_id,
                region_name=h.region_name,
                address=h.address,
                head_id=h.head_id,
                head_name=h.head_name,
                member_count=h.member_count,
                grade=h.dwelling_grade or "",
                categories=h.category_names,
                closed_on=h.closed_on,
            )
            for h in page.rows
        ],
        next=page.next_cursor,
    )


@households.post("", response={201: HouseholdOut}, summary="新建户（连同户主和成员）")
def household_new(request, payload: HouseholdIn):
    user = request.user
    # Out of reach is 404, as everywhere, whether or not the code exists; then the role.
    if not user.reaches(payload.region.strip()):
        raise Http404
    _require_write(user.can(Cap.WRITE))
    region = Region.objects.filter(code=payload.region.strip()).first()
    if region is None:
        raise ValidationError({"region": _("区划代码“%(code)s”不存在") % {"code": payload.region}})
    household = services.household_create(
        actor=user,
        region=region,
        address=payload.address,
        head=payload.head.to_input(),
        members=[m.to_input() for m in payload.members],
    )
    return Status(201, _household_out(user, _reload(user, household)))


@households.get("/{household_id}", response=HouseholdOut, summary="户详情（成员、类别、住房）")
def household_detail(request, household_id: int):
    household, _can_write = get_household_for_user(request.user, household_id)
    return _household_out(request.user, household)


@households.patch("/{household_id}", response=HouseholdOut, summary="修改户（家庭住址）")
def household_edit(request, household_id: int, payload: HouseholdPatch):
    user = request.user
    household, can_write = get_household_for_user(user, household_id)
    _require_write(can_write)
    if payload.address is not None:
        services.household_update(actor=user, household=household, address=payload.address)
    return _household_out(user, _reload(user, household))


@households.post("/{household_id}/head", response=HouseholdOut, summary="户主变更")
def head_change(request, household_id: int, payload: HeadChangeIn):
    user = request.user
    household, can_write = get_household_for_user(user, household_id)
    _require_write(can_write)
    person = household.members.filter(pk=payload.person_id).first()
    if person is None:
        raise ValidationError({"person_id": _("该人员不是本户成员")})
    relations, items = _relations(payload.relations)
    with _fields_as(person="person_id", **items):
        services.household_head_change(
            actor=user,
            household=household,
            person=person,
            old_head_relation=payload.old_head_relation,
            relations=relations,
            on=payload.on,
        )
    return _household_out(user, _reload(user, household))


@households.post("/{household_id}/close", response=HouseholdOut, summary="销户")
def household_close(request, household_id: int, payload: CloseIn):
    user = request.user
    household, can_write = get_household_for_user(user, household_id)
    _require_write(can_write)
    services.household_close(actor=user, household=household, reason=payload.reason, on=payload.on)
    return _household_out(user, _reload(user, household))


@households.post("/{household_id}/reopen", response=HouseholdOut, summary="撤销销户")
def household_reopen(request, household_id: int, payload: ReopenIn):
    user = request.user
    household, can_write = get_household_for_user(user, household_id)
    _require_write(can_write)
    services.household_reopen(actor=user, household=household, reason=payload.reason)
    return _household_out(user, _reload(user, household))


@households.post("/{household_id}/people", response={201: PersonOut}, summary="在户中添加成员")
def person_new(request, household_id: int, payload: PersonIn):
    user = request.user
    household, can_write = get_household_for_user(user, household_id)
    _require_write(can_write)
    person = services.person_add(actor=user, household=household, data=payload.to_input())
    return Status(201, _person_out(person))


@households.get(
    "/{household_id}/categories", response=list[GrantOut], summary="户及其成员的类别认定"
)
def household_categories(request, household_id: int):
    household, _can_write = get_household_for_user(request.user, household_id)
    today = timezone.localdate()
    return [_grant_out(g, today) for g in household_grants(request.user, household)]


@households.post(
    "/{household_id}/categories", response={201: GrantOut}, summary="认定类别（给户或其成员）"
)
def grant_new(request, household_id: int, payload: GrantIn):
    user = request.user
    household, can_write = get_household_for_user(user, household_id)
    _require_write(can_write)
    category = visible_categories(user).filter(code=payload.category).first()
    if category is None:
        raise ValidationError(
            {"category": _("人员类别“%(code)s”不存在") % {"code": payload.category}}
        )
    person = None
    if payload.person_id is not None:
        person = household.members.filter(pk=payload.person_id).first()
        if person is None:
            raise ValidationError({"person_id": _("该人员不是本户成员")})
    grant = services.category_grant(
        actor=user,
        category=category,
        household=None if person else household,
        person=person,
        start=payload.start,
        end=payload.end,
        document=payload.document,
        grade=payload.grade,
    )
    grant.category, grant.person = category, person
    return Status(201, _grant_out(grant, timezone.localdate()))


@households.get("/{household_id}/dwelling", response=DwellingOut, summary="住房及鉴定记录")
def dwelling_detail(request, household_id: int):
    household, _can_write = get_household_for_user(request.user, household_id)
    dwelling = _dwelling_out(household)
    if dwelling is None:
        raise Http404
    return dwelling


@households.post(
    "/{household_id}/dwelling/assessments",
    response={201: DwellingOut},
    summary="记录房屋安全鉴定（JGJ 125：A、B、C、D）",
)
def dwelling_assess(request, household_id: int, payload: AssessmentIn):
    user = request.user
    household, can_write = get_household_for_user(user, household_id)
    _require_write(can_write)
    services.dwelling_assess(actor=user, household=household, **payload.dict())
    return Status(201, _dwelling_out(_reload(user, household)))


# People


@people.get("/{person_id}", response=PersonOut, summary="人员详情（身份证号、电话已隐去中间位）")
def person_detail(request, person_id: int):
    person, _can_write = get_person_for_user(request.user, person_id)
    return _person_out(person)


@people.patch("/{person_id}", response=PersonOut, summary="修改人员信息（只改所给字段）")
def person_edit(request, person_id: int, payload: PersonPatch):
    user = request.user
    person, can_write = get_person_for_user(user, person_id)
    _require_write(can_write)
    given = payload.dict(exclude_none=True)
    data = PersonInput(
        name=given.get("name", person.name),
        id_number=given.get("id_number", person.id_number),
        relation=given.get("relation", person.relation),
        phone=given.get("phone", person.phone),
        status=given.get("status", person.status),
    )
    services.person_update(actor=user, person=person, data=data)
    return _person_out(get_person_for_user(user, person_id)[0])


@people.post("/{person_id}/move", response=PersonOut, summary="迁移到另一户")
def person_move(request, person_id: int, payload: MoveIn):
    user = request.user
    person, can_write = get_person_for_user(user, person_id)
    _require_write(can_write)
    target, _can_write = get_household_for_user(user, payload.household_id)
    successor = None
    if payload.successor_id is not None:
        successor = Person.objects.filter(
            pk=payload.successor_id, household_id=person.household_id
        ).first()
        if successor is None or person.household_id is None:
            raise ValidationError({"successor_id": _("该人员不是原户成员")})
    relations, items = _relations(payload.relations)
    with _fields_as(household="household_id", successor="successor_id", **items):
        services.person_move(
            actor=user,
            person=person,
            household=target,
            relation=payload.relation,
            on=payload.on,
            reason=payload.reason,
            successor=successor,
            relations=relations,
        )
    return _person_out(get_person_for_user(user, person_id)[0])


@people.post(
    "/{person_id}/reveal",
    response=RevealOut,
    summary="完整身份证号和电话（需个人信息权限；每次记入审计日志）",
)
def person_reveal(request, response: HttpResponse, person_id: int):
    person, _can_write = get_person_for_user(request.user, person_id)
    values = services.personal_reveal(actor=request.user, person=person)
    add_never_cache_headers(response)
    return RevealOut(**values)


# Categories and grants


@categories.get("", response=list[CategoryOut], summary="人员类别（不含无权查看的敏感类别）")
def category_index(request):
    return list(visible_categories(request.user))


@grants.post("/{grant_id}/end", response=GrantOut, summary="终止类别认定")
def grant_end(request, grant_id: int, payload: GrantEndIn):
    user = request.user
    grant, can_write = get_grant_for_user(user, grant_id)
    _require_write(can_write)
    services.category_end(actor=user, grant=grant, end=payload.end, reason=payload.reason)
    return _grant_out(grant, timezone.localdate())
