"""The ledger's pages: the ledger, my cases, the case page with its timeline and moves, the
supervision board, the figures, the holiday arrangement, and the Excel export. Every write
goes through a service via the forms in forms.py."""

import datetime
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts.models import OrgUnit
from minqing.accounts.roles import Cap
from minqing.accounts.selectors import units_in_reach, users_in_reach
from minqing.audit.views import ACTION_LABELS
from minqing.cases import services
from minqing.cases.export import export_ledger
from minqing.cases.figures import FIGURES, by_region, by_unit, figures_by_group, total
from minqing.cases.filters import case_filter_from_params
from minqing.cases.forms import (
    DISPUTE_FORMS,
    FORM_OF_MOVE,
    MOVE_FORMS,
    STATUS_CHOICES,
    CaseForm,
    HolidayForm,
)
from minqing.cases.models import (
    Case,
    CaseCategory,
    CaseLevel,
    ExtensionStatus,
    HolidayYear,
    Kind,
    Status,
)
from minqing.cases.selectors import (
    case_records,
    case_timeline,
    cases_in_reach,
    decorate_rows,
    for_rows,
    get_attachment_for_user,
    get_case_by_number,
    get_case_for_user,
    ledger_page,
    my_cases,
    similar_open_cases,
    supervision_board,
)
from minqing.cases.sources import source_page
from minqing.cases.workflow import MOVES, available_moves
from minqing.households.selectors import get_household_for_user
from minqing.lib.htmx import render_page
from minqing.regions.forms import deepest_choice
from minqing.regions.models import Region
from minqing.regions.selectors import region_path

PAGE_SIZE = 50


def _first_error(error: ValidationError) -> str:
    return "；".join(error.messages)


@login_required
@require_GET
def ledger(request):
    user = request.user
    filters, errors = case_filter_from_params(user, request.GET)
    page = ledger_page(user, filters, request.GET, size=PAGE_SIZE)
    context = {"page": page, "errors": errors, "filters": filters, "query": request.GET.urlencode()}
    if not request.htmx:
        context |= {
            "params": {k: request.GET.get(k, "") for k in request.GET},
            "levels": CaseLevel.choices,
            "kinds": Kind.choices,
            "statuses": STATUS_CHOICES,
            "categories": CaseCategory.objects.filter(parent__isnull=True),
            "regions": _regions_below(user),
            "units": units_in_reach(user).order_by("kind", "name"),
            "leaders": users_in_reach(user).filter(
                Exists(Case.objects.filter(leader=OuterRef("pk")))
            ),
            "figure": FIGURES.get(filters.figure),
            "can_write": user.can(Cap.WRITE),
        }
    partial = "rows" if request.GET.get("after") else "results"
    return render_page(request, "cases/ledger.html", partial, context)


def _regions_below(user) -> list[tuple[str, str]]:
    """(prefix, name) of the regions one level below the user's reach, for the filter."""
    digits = {6: 9, 9: 12}.get(len(user.reach))
    if digits is None:
        return []
    level = 4 if digits == 9 else 5
    rows = Region.objects.filter(
        code__startswith=user.reach, level=level, retired_in__isnull=True
    ).order_by("code")
    return [(r.code[:digits], r.short_name) for r in rows]


@login_required
@require_GET
def mine(request):
    return render(request, "cases/mine.html", {"mine": my_cases(request.user)})


@login_required
@require_POST
def notices_read(request):
    """Mark one reminder (``id``) or all of the user's unread reminders read."""
    from minqing.cases.notices import notices_mark_read

    raw = request.POST.get("id", "")
    if raw and not raw.isdigit():
        raise Http404
    notices_mark_read(actor=request.user, ids=[int(raw)] if raw else None)
    return redirect(reverse("cases:mine") + "#notifications")


@login_required
@require_GET
def board(request):
    return render(request, "cases/board.html", {"cases": supervision_board(request.user)})


def _move_forms(user, case, names) -> list[dict]:
    forms = []
    seen = set()
    for name in names:
        key = FORM_OF_MOVE.get(name)
        if key is None or key in seen:
            continue
        if (
            key == "extend_decide"
            and not case.extensions.filter(status=ExtensionStatus.PENDING).exists()
        ):
            continue
        seen.add(key)
        form = MOVE_FORMS[key](user=user, case=case, prefix=key)
        forms.append({"name": key, "label": MOVES[key].label, "form": form})
    return forms


@login_required
@require_GET
def by_number(request, number: str):
    return redirect("cases:detail", pk=get_case_by_number(request.user, number).pk)


@login_required
@require_GET
def detail(request, pk: int):
    user = request.user
    case, _can = get_case_for_user(user, pk)
    names = available_moves(user, case)
    dispute = getattr(case, "dispute", None) if case.kind == Kind.DISPUTE else None
    timeline = case_timeline(case)
    statuses = dict(Status.choices)
    for event in timeline:
        event.action_label = ACTION_LABELS.get(event.action, event.action)
        event.to_label = statuses.get(event.to_status, "")
    services.petition_viewed(actor=user, case=case)
    context = {
        "case": case,
        "source_url": source_page(case.source_ref),
        "path": [r for r in region_path(case.region) if r.level >= 3],
        "timeline": timeline,
        **vars(case_records(case)),
        "team": case.team.all(),
        "merged": case.merged_cases.only("id", "number"),
        "moves": _move_forms(user, case, names),
        "dispute": dispute,
        "dispute_forms": (
            [
                {"name": k, "form": f(user=user, case=case, prefix=k)}
                for k, f in DISPUTE_FORMS.items()
            ]
            if dispute is not None and "mediate" in names
            else []
        ),
    }
    return render(request, "cases/detail.html", context)


@login_required
@require_POST
def move(request, pk: int, name: str):
    user = request.user
    case, _can = get_case_for_user(user, pk)
    form_class = MOVE_FORMS.get(name) or DISPUTE_FORMS.get(name)
    if form_class is None:
        raise Http404
    form = form_class(request.POST, request.FILES, user=user, case=case, prefix=name)
    if not form.is_valid():
        errors = [
            f"{form.fields[f].label if f in form.fields else ''}：{'；'.join(e)}"
            for f, e in form.errors.items()
        ]
        messages.error(request, "；".join(errors))
    else:
        try:
            form.run()
            label = MOVES[name].label if name in MOVES else gettext("调解记录")
            messages.success(request, gettext("已完成：%(move)s") % {"move": label})
        except ValidationError as error:
            messages.error(request, _first_error(error))
        except PermissionDenied as error:
            messages.error(request, str(error))
    return redirect("cases:detail", pk=case.pk)


@login_required
@require_GET
def attachment(request, pk: int, attachment_id: int):
    return attachment_response(request.user, pk, attachment_id)


def attachment_response(user, case_id: int, attachment_id: int) -> FileResponse:
    """A case's file as a download, for the page and the API (a petition's: audited)."""
    case, item = get_attachment_for_user(user, case_id, attachment_id)
    services.petition_viewed(actor=user, case=case, attachment=item)
    return FileResponse(
        io.BytesIO(bytes(item.data)),
        as_attachment=True,
        filename=item.name,
        content_type=item.content_type or "application/octet-stream",
    )


@login_required
@require_http_methods(["GET", "POST"])
def new(request):
    user = request.user
    if not user.can(Cap.WRITE):
        raise PermissionDenied(gettext("您的角色只能查看，不能登记案件"))
    initial = {"source": request.GET.get("source", "walk_in")}
    household = None
    if request.GET.get("household"):
        household, _w = get_household_for_user(user, request.GET["household"])
        initial |= {"household": household.pk, "region": household.region_id}
    for key in ("text", "source_ref", "region", "category"):
        if request.GET.get(key):
            initial[key] = request.GET[key][:500]
    form = CaseForm(request.POST or None, initial=initial, user=user)
    similar = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        region = d["region"]
        if d["household"]:
            household, _w = get_household_for_user(user, d["household"])
        try:
            case = services.case_register(
                user,
                source=d["source"],
                region=region,
                household=household,
                text=d["text"],
                title=d["title"],
                category_code=d["category"],
                kind=d["kind"],
                level=d["level"],
                public=d["public"],
                source_ref=d["source_ref"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("已登记案件 %(n)s") % {"n": case.number})
            return redirect("cases:detail", pk=case.pk)
    if form.data.get("text") or initial.get("text"):
        similar = _similar(user, form.data or initial)
    return render(
        request, "cases/new.html", {"form": form, "similar": similar, "household": household}
    )


def _similar(user, data) -> list:
    # The region picker sends one value per level; the deepest chosen is the region.
    region = deepest_choice(data.getlist("region")) if hasattr(data, "getlist") else ""
    region = region or str(data.get("region") or "")
    if not region or not user.reaches(region):
        return []
    category = CaseCategory.objects.filter(code=data.get("category") or "").first()
    household = data.get("household") or None
    return similar_open_cases(
        user,
        text=str(data.get("text") or ""),
        region_code=region,
        household_id=int(household) if str(household or "").isdigit() else None,
        category_id=category.pk if category else None,
    )


@login_required
@require_GET
def similar(request):
    """The similar open cases while the form is being filled (htmx)."""
    return render(
        request, "cases/new.html#similar", {"similar": _similar(request.user, request.GET)}
    )


# Figures


def _parse_day(value: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start(day):
    if day is None:
        return None
    return datetime.datetime.combine(day, datetime.time(), tzinfo=timezone.get_current_timezone())


@login_required
@require_GET
def figures(request):
    user = request.user
    today = timezone.localdate()
    start = _parse_day(request.GET.get("from")) or today.replace(month=1, day=1)
    end = _parse_day(request.GET.get("to")) or today
    by = request.GET.get("by", "region")
    period = {"from": start.isoformat(), "to": end.isoformat()}
    if by == "unit":
        groups = figures_by_group(
            user,
            group=by_unit(),
            start=_start(start),
            end=_start(end + datetime.timedelta(days=1)),
        )
        names = dict(
            OrgUnit.objects.filter(pk__in=[g for g in groups if g]).values_list("pk", "name")
        )
        rows = [
            (names.get(g, gettext("未派单")), {"unit": g} if g else {"status": "registered"}, cells)
            for g, cells in sorted(groups.items(), key=lambda kv: names.get(kv[0], ""))
        ]
    else:
        # One level below the reader's: a county by township, a township by village.
        digits = {6: 9, 9: 12, 12: 12}.get(len(user.reach), 6)
        groups = figures_by_group(
            user,
            group=by_region(digits),
            start=_start(start),
            end=_start(end + datetime.timedelta(days=1)),
        )
        names = dict(
            Region.objects.filter(code__in=[g.ljust(12, "0") for g in groups]).values_list(
                "code", "short_name"
            )
        )
        rows = [
            (names.get(g.ljust(12, "0"), g), {"region": g}, cells)
            for g, cells in sorted(groups.items())
        ]
    base = reverse("cases:ledger")

    def link(filters, key, part="num"):
        figure = FIGURES[key]
        query = dict(filters) | {"figure": key}
        if figure.in_period:
            query |= period
        if part == "den":
            query["part"] = "den"
        return f"{base}?{urlencode(query)}"

    table = [
        {
            "name": name,
            "cells": [
                {
                    "cell": cells[key],
                    "link": link(f, key),
                    "den_link": link(f, key, "den")
                    if FIGURES[key].denominator is not None
                    else None,
                }
                for key in FIGURES
            ],
        }
        for name, f, cells in rows
    ]
    totals = total(groups)
    table.append(
        {
            "name": gettext("合计"),
            "total": True,
            "cells": [
                {
                    "cell": totals[key],
                    "link": link({}, key),
                    "den_link": link({}, key, "den")
                    if FIGURES[key].denominator is not None
                    else None,
                }
                for key in FIGURES
            ],
        }
    )
    return render(
        request,
        "cases/figures.html",
        {
            "table": table,
            "labels": [f.label for f in FIGURES.values()],
            "start": start,
            "end": end,
            "by": by,
        },
    )


@login_required
@require_GET
def export(request):
    user = request.user
    filters, errors = case_filter_from_params(user, request.GET)
    if errors:
        messages.error(request, "；".join(errors.values()))
        return redirect(reverse("cases:ledger") + "?" + request.GET.urlencode())
    return export_ledger(user, filters)


# The holiday arrangement


@login_required
@require_http_methods(["GET", "POST"])
def holidays(request):
    user = request.user
    if not user.can(Cap.MANAGE_USERS):
        raise PermissionDenied(gettext("只有县级管理员可以录入节假日安排"))
    form = HolidayForm(request.POST or None, initial={"year": timezone.localdate().year + 1})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.holiday_year_save(
                actor=user, year=d["year"], document=d["document"], days_text=d["days"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("已保存 %(y)s 年的节假日安排") % {"y": d["year"]})
            return redirect("cases:holidays")
    years = (
        HolidayYear.objects.prefetch_related("days").select_related("entered_by").order_by("-year")
    )
    return render(request, "cases/holidays.html", {"form": form, "years": years})


def household_section(user, household):
    """The household page's 案件 section."""
    from minqing.households.sections import Section

    rows = decorate_rows(
        user, list(for_rows(cases_in_reach(user).filter(household=household)).order_by("-id")[:20])
    )
    return Section(template="cases/household_section.html", context={"cases": rows})
