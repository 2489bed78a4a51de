"""The registry's pages: the household list, the household page and the forms that change a
household through the services. Personal data is always masked here; a user with the
personal-data permission may reveal one person's at a time, and each reveal is audited."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from minqing.accounts.roles import Cap
from minqing.audit.views import ACTION_LABELS, ENTITY_LABELS
from minqing.households import services
from minqing.households.filters import PARAMS, STATES, household_filter_from_params
from minqing.households.forms import (
    AssessmentForm,
    CloseForm,
    GrantEndForm,
    GrantForm,
    HeadChangeForm,
    HouseholdEditForm,
    HouseholdForm,
    MoveForm,
    PersonEditForm,
    PersonForm,
    ReopenForm,
)
from minqing.households.models import (
    Category,
    DamageCause,
    Dwelling,
    PersonStatus,
    Relation,
    SafetyGrade,
)
from minqing.households.sections import sections_for
from minqing.households.selectors import (
    LIST_ORDER,
    HouseholdFilter,
    annotate_for_list,
    decorate_household_rows,
    get_grant_for_user,
    get_household_for_user,
    get_person_for_user,
    household_assessments,
    household_audit,
    household_grants,
    household_list,
    household_members,
    household_memberships,
    visible_categories,
)
from minqing.lib.forms import call_service
from minqing.lib.htmx import render_page
from minqing.lib.masking import mask_id_number, mask_phone
from minqing.lib.paging import keyset_page
from minqing.regions.codes import DIGITS_LEVEL, LEVEL_DIGITS
from minqing.regions.models import Region, prefix_q
from minqing.regions.selectors import region_path

PAGE_SIZE = 50
MOVE_CANDIDATES = 20

# The audit trail's field names, as the household page shows them.
CHANGE_LABELS = {
    "address": _("家庭住址"),
    "region": _("所属村（社区）"),
    "head_name": _("户主姓名"),
    "members": _("成员"),
    "name": _("姓名"),
    "id_number": _("身份证号"),
    "phone": _("联系电话"),
    "relation": _("与户主关系"),
    "status": _("人员状态"),
    "household": _("所在户"),
    "old_head_relation": _("原户主改为"),
    "relations": _("成员与户主关系"),
    "on": _("日期"),
    "reason": _("原因"),
    "category": _("类别"),
    "start": _("起始日期"),
    "end": _("终止日期"),
    "end_reason": _("终止原因"),
    "document": _("认定文件"),
    "person": _("人员"),
    "grade": _("危房等级"),
    "assessed_on": _("鉴定日期"),
    "appraiser": _("鉴定人（机构）"),
    "cause": _("受损原因"),
    "ground_floor_flooded": _("首层进水"),
    "closed_on": _("销户日期"),
    "closed_reason": _("销户原因"),
}
# Actions whose name already says what they did to the household: “销户 #12”, not “销户户”.
NAMED_ACTIONS = {"head_change", "close_household", "reopen_household"}


def _require_write(can_write: bool) -> None:
    if not can_write:
        raise PermissionDenied(gettext("您的角色只能查看，不能修改台账"))


def _region_options(user) -> list[dict]:
    """The two levels below the user's reach (a county's townships and villages), for the
    list's region filter: one query, grouped under the upper level."""
    level = DIGITS_LEVEL.get(len(user.reach), 5)
    levels = [lv for lv in (level + 1, level + 2) if lv <= 5]
    if not levels:
        return []
    rows = Region.objects.filter(
        prefix_q("code", user.reach), level__in=levels, retired_in__isnull=True
    ).order_by("code")
    groups: list[dict] = []
    for region in rows:
        if region.level == levels[0]:
            groups.append({"region": region, "children": []})
        elif groups and region.code.startswith(
            groups[-1]["region"].code[: LEVEL_DIGITS[levels[0]]]
        ):
            groups[-1]["children"].append(region)
    return groups


def _list_query(params, errors: dict) -> str:
    """The list's filters as its address and its export links carry them: those given and
    valid (a wrong one is left out of the list, so of the export too), ``on`` only when it
    is not today, the day the form starts at."""
    query = QueryDict(mutable=True)
    today = timezone.localdate().isoformat()
    for name in PARAMS:
        values = [v.strip() for v in params.getlist(name) if v.strip()]
        if values and name not in errors and not (name == "on" and values == [today]):
            query.setlist(name, values)
    return query.urlencode()


def _with_query(url: str, query: str, *extra: str) -> str:
    query = "&".join(part for part in (query, *extra) if part)
    return f"{url}?{query}" if query else url


@login_required
@require_GET
def household_list_view(request):
    user = request.user
    filters, errors = household_filter_from_params(user, request.GET)
    qs = annotate_for_list(household_list(user, filters))
    page = keyset_page(qs, request.GET, order=LIST_ORDER, size=PAGE_SIZE, descending=False)
    decorate_household_rows(user, page.rows, day=filters.on)
    # A filter (htmx) answers with the results and the export links for them (out of band),
    # and puts its query in the address bar, so that a reload, a bookmark and 导出Excel give
    # what is on screen. Going back to such an address asks for the whole page again.
    whole = not request.htmx or request.htmx.history_restore_request
    query = _list_query(request.GET, errors)
    context = {
        "page": page,
        "errors": errors,
        "filters": filters,
        "export_url": _with_query(reverse("roll:export"), query),
        "export_full_url": _with_query(reverse("roll:export"), query, "full=1"),
        "exports_oob": not whole,
        "params": {
            k: request.GET.get(k, "") for k in ("q", "grade", "members_min", "members_max", "state")
        },
        "filtered": any(
            request.GET.get(k)
            for k in ("q", "region", "category", "grade", "members_min", "members_max", "state")
        ),
        "can_write": user.can(Cap.WRITE),
    }
    if whole:
        context |= {
            "region_options": _region_options(user),
            "region_value": request.GET.get("region", ""),
            "categories": visible_categories(user),
            "category_value": request.GET.get("category", ""),
            "on_value": request.GET.get("on") or timezone.localdate().isoformat(),
            "grades": SafetyGrade.choices,
            "states": STATES.items(),
        }
        response = render(request, "households/list.html", context)
        patch_vary_headers(response, ["HX-Request", "HX-History-Restore-Request"])
        return response
    # "更多" asks for the next rows only; the filters ask for the whole result block.
    if request.GET.get("after"):
        return render_page(request, "households/list.html", "rows", context)
    response = render_page(request, "households/list.html", "results", context)
    response["HX-Push-Url"] = _with_query(reverse("households:list"), query)
    return response


def _age(birth: datetime.date | None, today: datetime.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _masked(person) -> None:
    person.id_masked = mask_id_number(person.id_number)
    person.phone_masked = mask_phone(person.phone)


# Audit rows store codes (``away``, ``flood``, ``dibao``); the page shows their names.
CHOICE_LABELS = {
    "relation": dict(Relation.choices),
    "old_head_relation": dict(Relation.choices),
    "status": dict(PersonStatus.choices),
    "cause": dict(DamageCause.choices),
}


def _item(key: str, item) -> str:
    if not isinstance(item, dict):
        return str(item)
    if key == "relations":  # a member and their relation to the head: 李四（父母）
        relation = item.get("relation", "")
        return f"{item.get('name', '')}（{CHOICE_LABELS['relation'].get(relation, relation)}）"
    return item.get("name", "")


def _value(key: str, value, categories: dict):
    if isinstance(value, list):
        return "、".join(n for n in (_item(key, v) for v in value) if n)
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if value in (None, ""):
        return "—"
    if key == "category":
        return categories.get(value, value)
    return CHOICE_LABELS.get(key, {}).get(value, value)


def _audit_rows(rows) -> list:
    categories = dict(Category.objects.values_list("code", "name")) if rows else {}
    for row in rows:
        row.entity_label = ENTITY_LABELS.get(row.entity, row.entity)
        row.action_label = ACTION_LABELS.get(row.action, row.action)
        row.heading = (
            row.action_label
            if row.action in NAMED_ACTIONS
            else f"{row.action_label}{row.entity_label}"
        )
        row.lines = [
            (
                CHANGE_LABELS.get(key, key),
                _value(key, pair[0], categories),
                _value(key, pair[1], categories),
            )
            for key, pair in row.changes.items()
            if isinstance(pair, list) and len(pair) == 2 and any(v not in (None, "") for v in pair)
        ]
    return rows


def _dwelling(household):
    try:
        return household.dwelling
    except Dwelling.DoesNotExist:
        return None


@login_required
@require_GET
def household_detail(request, pk: int):
    user = request.user
    household, can_write = get_household_for_user(user, pk)
    today = timezone.localdate()
    members = household_members(household)
    for person in members:
        _masked(person)
        person.age = _age(person.birth_date, today)
    grants = household_grants(user, household)
    for grant in grants:
        grant.current = grant.end is None or grant.end >= today
    memberships = household_memberships(household)
    dwelling = _dwelling(household)
    audit = None
    if user.can(Cap.READ_AUDIT):
        audit = _audit_rows(
            household_audit(
                user,
                household,
                people={p.pk for p in members} | {m.person_id for m in memberships},
                grants=[g.pk for g in grants],
                dwelling=dwelling,
            )
        )
    context = {
        "household": household,
        "path": [r for r in region_path(household.region) if r.level >= 3],
        "members": members,
        "current_grants": [g for g in grants if g.current],
        "ended_grants": [g for g in grants if not g.current],
        "dwelling": dwelling,
        "assessments": household_assessments(household),
        "memberships": memberships,
        "audit": audit,
        "can_write": can_write,
        "can_reveal": user.can_view_personal,
        "sections": sections_for(user, household, can_write=can_write),
    }
    return render(request, "households/detail.html", context)


@login_required
@require_POST
def person_reveal(request, pk: int):
    """The full ID number and phone of one person (an audit row each time): an htmx fragment
    in place of the masked values, or a small page without JavaScript."""
    person, _can_write = get_person_for_user(request.user, pk)
    values = services.personal_reveal(actor=request.user, person=person)
    response = render_page(
        request, "households/reveal.html", "values", {"person": person, "values": values}
    )
    add_never_cache_headers(response)
    return response


def _form_page(request, context: dict):
    return render(request, "households/form.html", context)


def _closed(request, household):
    """A closed household's forms (销户) are not shown, their answer known in advance: back
    to its page, which says so and offers 撤销销户. None for a current household."""
    refusal = services.closed_refusal(household)
    if not refusal:
        return None
    messages.error(request, refusal)
    url = reverse("households:detail", args=[household.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_http_methods(["GET", "POST"])
def household_new(request):
    _require_write(request.user.can(Cap.WRITE))
    form = HouseholdForm(request.POST or None, user=request.user)
    if form.is_valid():
        household = call_service(
            form,
            services.household_create,
            actor=request.user,
            region=form.cleaned_data["region"],
            address=form.cleaned_data["address"],
            head=form.person_input(),
        )
        if household:
            messages.success(request, gettext("已新建%(name)s户") % {"name": household.head_name})
            return redirect("households:detail", household.pk)
    return _form_page(request, {"form": form, "title": gettext("新建户"), "back": None})


@login_required
@require_http_methods(["GET", "POST"])
def household_edit(request, pk: int):
    household, can_write = get_household_for_user(request.user, pk)
    _require_write(can_write)
    if closed := _closed(request, household):
        return closed
    form = HouseholdEditForm(
        request.POST or None,
        user=request.user,
        initial={"address": household.address, "region": household.region_id},
    )
    if form.is_valid() and call_service(
        form,
        services.household_update,
        actor=request.user,
        household=household,
        address=form.cleaned_data["address"],
        region=form.cleaned_data["region"],
    ):
        messages.success(request, gettext("已保存"))
        return redirect("households:detail", household.pk)
    return _form_page(
        request,
        {"form": form, "title": gettext("修改住址或所属村"), "household": household},
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_new(request, pk: int):
    household, can_write = get_household_for_user(request.user, pk)
    _require_write(can_write)
    if closed := _closed(request, household):
        return closed
    relations = [r for r in Relation.values if r != Relation.HEAD or not household.head_id]
    form = PersonForm(
        request.POST or None,
        relations=relations,
        initial={"relation": Relation.CHILD if household.head_id else Relation.HEAD},
    )
    if form.is_valid():
        person = call_service(
            form,
            services.person_add,
            actor=request.user,
            household=household,
            data=form.person_input(),
        )
        if person:
            messages.success(request, gettext("已添加成员 %(name)s") % {"name": person.name})
            return redirect("households:detail", household.pk)
    return _form_page(request, {"form": form, "title": gettext("添加成员"), "household": household})


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request, pk: int):
    person, can_write = get_person_for_user(request.user, pk)
    _require_write(can_write)
    _masked(person)
    form = PersonEditForm(
        request.POST or None,
        person=person,
        id_masked=person.id_masked,
        phone_masked=person.phone_masked,
        initial={"name": person.name, "relation": person.relation, "status": person.status},
    )
    if form.is_valid() and call_service(
        form, services.person_update, actor=request.user, person=person, data=form.person_input()
    ):
        messages.success(request, gettext("已保存 %(name)s 的信息") % {"name": person.name})
        return _back_to(person)
    return _form_page(
        request,
        {
            "form": form,
            "title": gettext("修改人员信息：%(name)s") % {"name": person.name},
            "household": person.household,
        },
    )


def _back_to(person):
    if person.household_id:
        return redirect("households:detail", person.household_id)
    return redirect("households:list")


@login_required
@require_http_methods(["GET", "POST"])
def person_move(request, pk: int):
    """Move a member to another household, found by its head's name or an ID number."""
    user = request.user
    person, can_write = get_person_for_user(user, pk)
    _require_write(can_write)
    old = person.household
    form = MoveForm(
        request.POST or None,
        user=user,
        person=person,
        members=household_members(old) if old is not None and old.head_id == person.pk else (),
        initial={"successor": request.GET.get("successor", "")},
    )
    if "successor" in form.fields:
        # Choosing the successor asks for the members' relations to them, filled in.
        form.fields["successor"].widget.attrs |= {
            "hx-get": request.path,
            "hx-target": "#successor-relations",
        }
    if form.is_valid():
        successor = form.cleaned_data.get("successor")
        moved = call_service(
            form,
            services.person_move,
            actor=user,
            person=person,
            household=form.cleaned_data["household"],
            relation=form.cleaned_data["relation"],
            on=form.cleaned_data["on"],
            reason=form.cleaned_data["reason"],
            successor=successor,
            relations=form.relations() if successor else None,
        )
        if moved:
            messages.success(
                request,
                gettext("%(name)s 已迁入%(household)s")
                % {"name": person.name, "household": moved.household.title},
            )
            if form.successors and successor is None:
                # The head left, the family stays: their page asks for the 户主变更.
                return redirect("households:detail", old.pk)
            return redirect("households:detail", moved.household.pk)
    query = (request.GET.get("q") or request.POST.get("q") or "").strip()
    candidates = []
    if query:
        qs = household_list(user, HouseholdFilter(q=query[:50])).exclude(pk=person.household_id)
        candidates = decorate_household_rows(user, list(qs.order_by("-id")[:MOVE_CANDIDATES]))
    chosen = str(form["household"].value() or "")
    context = {
        "form": form,
        "person": person,
        "household": person.household,
        "query": query,
        "candidates": candidates,
        "chosen": chosen,
        "limit": MOVE_CANDIDATES,
    }
    # The search asks for the candidates, the successor's select for the relations.
    partial = "relations" if "successor" in request.GET else "candidates"
    return render_page(request, "households/move.html", partial, context)


@login_required
@require_http_methods(["GET", "POST"])
def head_change(request, pk: int):
    """户主变更: a member of the household becomes its head, and the members who stay get
    their relations to them. Choosing the new head (``?person=``, htmx on the select) fills
    in the suggested relations."""
    household, can_write = get_household_for_user(request.user, pk)
    _require_write(can_write)
    if closed := _closed(request, household):
        return closed
    form = HeadChangeForm(
        request.POST or None,
        household=household,
        members=household_members(household),
        initial={"person": request.GET.get("person", "")},
    )
    # Choosing the new head asks for the relations part again, filled in for them.
    form.fields["person"].widget.attrs |= {"hx-get": request.path, "hx-target": "#head-relations"}
    if form.is_valid():
        data = form.cleaned_data
        if call_service(
            form,
            services.household_head_change,
            actor=request.user,
            household=household,
            person=data["person"],
            old_head_relation=data.get("old_head_relation", ""),
            relations=form.relations(),
            on=data["on"],
        ):
            messages.success(
                request, gettext("已办理户主变更：户主为 %(name)s") % {"name": data["person"].name}
            )
            return redirect("households:detail", household.pk)
    context = {"form": form, "household": household}
    return render_page(request, "households/head_change.html", "relations", context)


@login_required
@require_http_methods(["GET", "POST"])
def household_close(request, pk: int):
    """销户, and its undoing (撤销销户) on the same page when the household is closed."""
    household, can_write = get_household_for_user(request.user, pk)
    _require_write(can_write)
    closed = household.closed_on is not None
    form = (ReopenForm if closed else CloseForm)(request.POST or None)
    if form.is_valid():
        data = form.cleaned_data
        done = (
            call_service(
                form,
                services.household_reopen,
                actor=request.user,
                household=household,
                reason=data["reason"],
            )
            if closed
            else call_service(
                form,
                services.household_close,
                actor=request.user,
                household=household,
                reason=data["reason"],
                on=data["on"],
            )
        )
        if done:
            messages.success(request, gettext("已撤销销户") if closed else gettext("已销户"))
            return redirect("households:detail", household.pk)
    title = gettext("撤销销户") if closed else gettext("销户")
    return _form_page(request, {"form": form, "title": title, "household": household})


@login_required
@require_http_methods(["GET", "POST"])
def grant_new(request, pk: int):
    user = request.user
    household, can_write = get_household_for_user(user, pk)
    _require_write(can_write)
    if closed := _closed(request, household):
        return closed
    form = GrantForm(request.POST or None, user=user, members=household_members(household))
    if form.is_valid():
        data = form.cleaned_data
        target = data["target"]
        grant = call_service(
            form,
            services.category_grant,
            actor=user,
            category=data["category"],
            household=None if target else household,
            person=target,
            start=data["start"],
            end=data["end"],
            document=data["document"],
            grade=data["grade"],
        )
        if grant:
            messages.success(request, gettext("已认定“%(name)s”") % {"name": data["category"].name})
            return redirect("households:detail", household.pk)
    return _form_page(request, {"form": form, "title": gettext("认定类别"), "household": household})


@login_required
@require_http_methods(["GET", "POST"])
def grant_end(request, pk: int):
    grant, can_write = get_grant_for_user(request.user, pk)
    _require_write(can_write)
    household = grant.household or (grant.person.household if grant.person else None)
    form = GrantEndForm(request.POST or None)
    if form.is_valid() and call_service(
        form,
        services.category_end,
        actor=request.user,
        grant=grant,
        end=form.cleaned_data["end"],
        reason=form.cleaned_data["reason"],
    ):
        messages.success(request, gettext("已终止“%(name)s”") % {"name": grant.category.name})
        if household is not None:
            return redirect("households:detail", household.pk)
        return redirect("households:list")
    who = grant.person.name if grant.person else (household.head_name if household else "")
    return _form_page(
        request,
        {
            "form": form,
            "title": gettext("终止“%(name)s”：%(who)s") % {"name": grant.category.name, "who": who},
            "household": household,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def dwelling_assess(request, pk: int):
    household, can_write = get_household_for_user(request.user, pk)
    _require_write(can_write)
    if closed := _closed(request, household):
        return closed
    form = AssessmentForm(request.POST or None)
    if form.is_valid() and call_service(
        form,
        services.dwelling_assess,
        actor=request.user,
        household=household,
        **form.cleaned_data,
    ):
        messages.success(request, gettext("已记录房屋鉴定"))
        return redirect("households:detail", household.pk)
    return _form_page(
        request, {"form": form, "title": gettext("记录房屋鉴定"), "household": household}
    )
