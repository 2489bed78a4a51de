"""Outreach pages: campaigns and their coverage (every figure links to its rows), pairing,
the cadre's phone page and visit form, the visit page (edits, amendments, confirmation,
flags, needs → cases) and the monthly roll-up."""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts.roles import Cap
from minqing.households.models import CategoryGrant, Household
from minqing.households.selectors import households_in_reach
from minqing.lib.forms import call_service
from minqing.lib.htmx import render_page
from minqing.lib.masking import mask_phone
from minqing.lib.paging import keyset_page
from minqing.outreach import hooks, selectors, services
from minqing.outreach.forms import (
    CampaignForm,
    CodeForm,
    HandoverForm,
    ImportForm,
    PairingForm,
    PickFilterForm,
    PickForm,
    TextForm,
    VisitEditForm,
    VisitForm,
    default_start,
    must_visit_initial,
)
from minqing.outreach.importer import pairings_import
from minqing.outreach.models import Pairing, PairingKind, VisitPhoto
from minqing.outreach.rollup import rollup_xlsx
from minqing.regions.codes import DIGITS_LEVEL, pad
from minqing.regions.models import Region, prefix_q
from minqing.regions.selectors import region_path

PAGE_SIZE = 50
PICK_LIMIT = 500


def _require(ok: bool) -> None:
    if not ok:
        raise PermissionDenied(gettext("您的角色只能查看，不能修改台账"))


def _region_context(user, campaign, prefix: str) -> dict:
    region = Region.objects.filter(code=pad(prefix)).first()
    path = [r for r in region_path(region) if len(r.prefix) >= len(user.reach)] if region else []
    return {"campaign": campaign, "prefix": prefix, "region": region, "path": path}


@login_required
@require_GET
def campaign_list(request):
    user = request.user
    campaigns = selectors.campaigns_for(user)
    today = timezone.localdate()
    for c in campaigns:
        c.running = c.running_on(today)
    return render(
        request,
        "outreach/campaigns.html",
        {
            "campaigns": campaigns,
            "can_create": user.can(Cap.MANAGE_USERS)
            or (len(user.reach) <= 6 and user.can(Cap.WRITE)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    _require(request.user.can(Cap.WRITE))
    form = CampaignForm(request.POST or None, user=request.user)
    if form.is_valid():
        campaign = call_service(
            form, services.campaign_create, actor=request.user, **form.service_kwargs()
        )
        if campaign:
            messages.success(request, gettext("已创建活动“%(name)s”") % {"name": campaign.name})
            return redirect("outreach:coverage", campaign.pk)
    return render(request, "outreach/form.html", {"form": form, "title": gettext("新建走访活动")})


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk: int):
    campaign, can_write = selectors.get_campaign_for_user(request.user, pk)
    _require(can_write and campaign.within(request.user.reach))
    initial = {
        "name": campaign.name,
        "kind": campaign.kind,
        "start": campaign.start,
        "end": campaign.end,
        "regions": ",".join(campaign.regions),
        "rounds": campaign.rounds,
        "must_visit": must_visit_initial(campaign),
        "aspects": "、".join(campaign.aspects),
        "report_day": campaign.report_day,
    }
    form = CampaignForm(request.POST or None, user=request.user, initial=initial)
    if form.is_valid() and call_service(
        form,
        services.campaign_update,
        actor=request.user,
        campaign=campaign,
        **form.service_kwargs(),
    ):
        messages.success(request, gettext("已保存"))
        return redirect("outreach:coverage", campaign.pk)
    return render(request, "outreach/form.html", {"form": form, "title": gettext("修改走访活动")})


@login_required
@require_GET
def coverage_view(request, pk: int):
    user = request.user
    campaign, can_write = selectors.get_campaign_for_user(user, pk)
    prefix = selectors.scope_prefix(user, request.GET.get("region", ""))
    try:
        idle_days = max(1, min(int(request.GET.get("idle", selectors.IDLE_DAYS)), 365))
    except ValueError:
        idle_days = selectors.IDLE_DAYS
    total, table = selectors.coverage_with_table(campaign, prefix)
    cadres = selectors.cadre_table(campaign, prefix, idle_days=idle_days)
    context = _region_context(user, campaign, prefix) | {
        "total": total,
        "table": table,
        "child_level": DIGITS_LEVEL.get(len(prefix), 5) + 1,
        "cadres": cadres,
        "idle": [row for row in cadres if row["idle"]],
        "idle_days": idle_days,
        "series": selectors.coverage_series(campaign, prefix, total.households),
        "can_write": can_write,
        "can_edit": can_write and campaign.within(user.reach),
        "today": timezone.localdate(),
        **_rollup_picker(campaign, request.GET.get("month", "")),
    }
    return render(request, "outreach/coverage.html", context)


def _rollup_picker(campaign, raw: str) -> dict:
    """The export's month picker: the month asked for if the roll-up has it, else the month
    whose report is due; between the campaign's first month and the current one."""
    try:
        month = selectors.rollup_month(campaign, raw)
    except ValidationError:
        month = selectors.rollup_due_month(campaign)
    first, last = selectors.rollup_months(campaign)
    return {
        "month": f"{month:%Y-%m}",
        "month_min": f"{first:%Y-%m}",
        "month_max": f"{max(first, last):%Y-%m}",
    }


SHOW_TITLES = {
    "all": _("在册户"),
    "visited": _("已走访的户"),
    "unvisited": _("尚未走访的户"),
    "overdue": _("逾期未访的必访户"),
    "covered": _("按期走访的必访户"),
    "must": _("必访户"),
    "unpaired": _("未包联的户"),
    "promised": _("有承诺待兑现的户"),
}


@login_required
@require_GET
def enrolment_list(request, pk: int):
    """The rows behind a coverage figure: ?show=all|visited|unvisited|overdue|covered|must|
    unpaired|promised, or show=round&k=2 (visited at least twice) / show=missing&k=2; with
    &cadre=, only the households paired with that cadre (the cadre table's figures)."""
    user = request.user
    campaign, _ = selectors.get_campaign_for_user(user, pk)
    prefix = selectors.scope_prefix(user, request.GET.get("region", ""))
    cadre = None
    if request.GET.get("cadre"):
        try:
            cadre = selectors.get_cadre_for_user(user, int(request.GET["cadre"]))
        except ValueError:
            raise Http404 from None
    show = request.GET.get("show", "all")
    try:
        k = max(1, min(int(request.GET.get("k", 1)), campaign.rounds))
    except ValueError:
        k = 1
    if show not in SHOW_TITLES and show not in ("round", "missing"):
        show = "all"
    qs = selectors.enrolment_rows(campaign, prefix, show, k=k, cadre=cadre)
    page = keyset_page(qs, request.GET, order=("id",), size=PAGE_SIZE, descending=False)
    today = timezone.localdate()
    for row in page.rows:
        row.overdue = row.overdue_on(today)
    if show == "round":
        title = gettext("第 %(k)d 轮已走访的户") % {"k": k}
    elif show == "missing":
        title = gettext("第 %(k)d 轮尚未走访的户") % {"k": k}
    else:
        title = str(SHOW_TITLES[show])
    if cadre is not None:
        title = f"{title} · {cadre.display_name}"
    context = _region_context(user, campaign, prefix) | {
        "page": page,
        "title": title,
        "show": show,
    }
    return render_page(request, "outreach/enrolments.html", "rows", context)


@login_required
@require_GET
def visit_list(request):
    user = request.user
    campaign = None
    if request.GET.get("campaign"):
        try:
            campaign, _ = selectors.get_campaign_for_user(user, int(request.GET["campaign"]))
        except ValueError:
            raise Http404 from None
    prefix = selectors.scope_prefix(user, request.GET.get("region", ""))
    cadre = None
    if request.GET.get("cadre"):
        try:
            cadre = selectors.get_cadre_for_user(user, int(request.GET["cadre"]))
        except ValueError:
            raise Http404 from None
    flagged = request.GET.get("flagged") == "1"
    qs = selectors.visit_list(user, campaign=campaign, prefix=prefix, cadre=cadre, flagged=flagged)
    page = keyset_page(qs, request.GET, order=("visited_at", "id"), size=PAGE_SIZE)
    context = {
        "page": page,
        "campaign": campaign,
        "cadre": cadre,
        "flagged": flagged,
        "prefix": prefix,
        "region": Region.objects.filter(code=pad(prefix)).first(),
    }
    return render_page(request, "outreach/visits.html", "rows", context)


@login_required
@require_GET
def cadre_list(request, pk: int):
    user = request.user
    campaign, _ = selectors.get_campaign_for_user(user, pk)
    prefix = selectors.scope_prefix(user, request.GET.get("region", ""))
    try:
        idle_days = max(1, min(int(request.GET.get("idle", selectors.IDLE_DAYS)), 365))
    except ValueError:
        idle_days = selectors.IDLE_DAYS
    rows = selectors.cadre_table(campaign, prefix, idle_days=idle_days)
    if request.GET.get("only") == "idle":
        rows = [r for r in rows if r["idle"]]
    context = _region_context(user, campaign, prefix) | {
        "cadres": rows,
        "idle_days": idle_days,
        "only_idle": request.GET.get("only") == "idle",
    }
    return render(request, "outreach/cadres.html", context)


@login_required
@require_GET
def rollup(request, pk: int):
    """?month=YYYY-MM (by default the month whose report is due) and ?region=. A month or a
    region the campaign has no report for is refused with the reason, as the household
    export refuses its filters: a 400 in plain text."""
    user = request.user
    campaign, _w = selectors.get_campaign_for_user(user, pk)
    prefix = selectors.scope_prefix(user, request.GET.get("region", ""))
    region = Region.objects.filter(code=pad(prefix)).first()
    region_name = region.short_name if region else ""
    try:
        month = selectors.rollup_month(campaign, request.GET.get("month", ""))
        if not campaign.overlaps(prefix):
            raise ValidationError(
                gettext("本活动不覆盖%(region)s，没有它的月报") % {"region": region_name}
            )
    except ValidationError as e:
        return HttpResponseBadRequest(
            "；".join(e.messages), content_type="text/plain; charset=utf-8"
        )
    buffer = io.BytesIO()
    rollup_xlsx(
        buffer,
        campaign=campaign,
        month=month,
        rows=selectors.monthly_rollup(campaign, prefix, month),
        region=region,
        digits=selectors.rollup_digits(prefix),
    )
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    # 走访月报-2026年暖冬行动-刁窝镇-2026年11月.xlsx, written as RFC 6266's filename*=utf-8''
    # by the helper behind FileResponse, as the household roll's export names its file.
    parts = [gettext("走访月报"), campaign.name, region_name, f"{month:%Y年%m月}"]
    response["Content-Disposition"] = content_disposition_header(
        True, "-".join(p for p in parts if p) + ".xlsx"
    )
    return response


# ---------------------------------------------------------------------------------------------
# Pairing


@login_required
@require_http_methods(["GET", "POST"])
def pairing_page(request, pk: int):
    """Pick households of a village (by category, grade, unpaired) and pair them with one
    cadre or spread them over several; the other pairings and the forms beside it."""
    user = request.user
    campaign, can_write = selectors.get_campaign_for_user(user, pk)
    filters = PickFilterForm(request.GET or None, user=user, campaign=campaign)
    rows = []
    if filters.is_valid():
        data = filters.cleaned_data
        qs = households_in_reach(user).filter(region=data["region"])
        if data["category"]:
            today = timezone.localdate()
            active = CategoryGrant.objects.filter(
                category=data["category"], start__lte=today
            ).exclude(end__lt=today)
            qs = qs.filter(
                pk__in=active.filter(household__isnull=False).values("household_id")
            ) | qs.filter(pk__in=active.filter(person__isnull=False).values("person__household_id"))
        if data["grade"]:
            qs = qs.filter(dwelling__grade=data["grade"])
        if data["unpaired"]:  # as coverage counts them
            qs = qs.filter(pk__in=selectors.unpaired_household_ids(campaign))
        rows = list(qs.order_by("address", "id")[:PICK_LIMIT])
        rows.sort(key=services._neighbour_key)
        # Still paired with a switched-off account: unpaired for coverage, but the pairing
        # must be handed over (or ended) first, so these are listed unticked, with why.
        holders = selectors.switched_off_holders(campaign, [h.pk for h in rows])
        for h in rows:
            h.switched_off_cadre = holders.get(h.pk)
    pick = PickForm(
        request.POST or None,
        user=user,
        household_ids=[h.pk for h in rows] if request.method == "GET" else _posted_ids(request),
        initial={"start": default_start(campaign)},
    )
    if request.method == "POST":
        _require(can_write)
        if pick.is_valid():
            chosen = list(households_in_reach(user).filter(pk__in=pick.cleaned_data["households"]))
            if pick.cleaned_data["mode"] == "spread":
                done = call_service(
                    pick,
                    services.pairings_spread,
                    actor=user,
                    campaign=campaign,
                    households=chosen,
                    cadres=list(pick.cleaned_data["cadres"]),
                    start=pick.cleaned_data["start"],
                )
            else:
                done = call_service(
                    pick,
                    services.pairings_assign,
                    actor=user,
                    campaign=campaign,
                    households=chosen,
                    cadre=pick.cleaned_data["cadre"],
                    start=pick.cleaned_data["start"],
                )
            if done:
                messages.success(request, gettext("已为 %(n)d 户分配包联干部") % {"n": len(chosen)})
                return redirect(request.get_full_path())
    others = (
        Pairing.objects.filter(campaign=campaign)
        .exclude(kind=PairingKind.CADRE_HOUSEHOLD)
        .filter(prefix_q("region_id", user.reach))
        .select_related("region", "cadre", "unit")
        .order_by("kind", "region_id", "-start")
    )
    context = {
        "campaign": campaign,
        "filters": filters,
        "rows": rows,
        "limit": PICK_LIMIT,
        "pick": pick,
        "can_write": can_write,
        "others": others,
        "pairing_form": PairingForm(user=user, initial={"start": default_start(campaign)}),
        "handover_form": HandoverForm(user=user, campaign=campaign),
        "import_form": ImportForm(),
    }
    return render(request, "outreach/pairings.html", context)


def _posted_ids(request) -> list[int]:
    return [int(v) for v in request.POST.getlist("households") if v.isdigit()]


@login_required
@require_http_methods(["GET", "POST"])
def pairing_new(request, pk: int):
    user = request.user
    campaign, can_write = selectors.get_campaign_for_user(user, pk)
    _require(can_write)
    form = PairingForm(request.POST or None, user=user)
    if form.is_valid():
        data = form.cleaned_data
        if call_service(
            form,
            services.pairing_create,
            actor=user,
            campaign=campaign,
            kind=data["kind"],
            region=data["region"],
            start=data["start"],
            cadre=data["cadre"],
            unit=data["unit"],
            compound=data["compound"],
        ):
            messages.success(request, gettext("已保存包联"))
            return redirect("outreach:pairings", campaign.pk)
    return render(
        request,
        "outreach/form.html",
        {"form": form, "title": gettext("新增包联"), "campaign": campaign},
    )


@login_required
@require_http_methods(["GET", "POST"])
def handover(request, pk: int):
    user = request.user
    campaign, can_write = selectors.get_campaign_for_user(user, pk)
    _require(can_write)
    form = HandoverForm(request.POST or None, user=user, campaign=campaign)
    if form.is_valid():
        data = form.cleaned_data
        shares = call_service(
            form,
            services.pairing_handover,
            actor=user,
            campaign=campaign,
            cadre=data["cadre"],
            successors=list(data["successors"]),
            on=data["on"],
            reason=data["reason"],
        )
        if shares is not None:
            messages.success(
                request,
                gettext("%(name)s 的 %(n)d 户已移交")
                % {"name": data["cadre"].display_name, "n": sum(shares.values())},
            )
            return redirect("outreach:pairings", campaign.pk)
    return render(
        request,
        "outreach/form.html",
        {"form": form, "title": gettext("干部离任移交"), "campaign": campaign},
    )


@login_required
@require_http_methods(["GET", "POST"])
def pairing_import_view(request, pk: int):
    user = request.user
    campaign, can_write = selectors.get_campaign_for_user(user, pk)
    _require(can_write)
    form = ImportForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        count = call_service(
            form,
            pairings_import,
            actor=user,
            campaign=campaign,
            source=upload,
            filename=upload.name,
        )
        if count is not None:
            messages.success(request, gettext("已导入 %(n)d 户的包联") % {"n": count})
            return redirect("outreach:pairings", campaign.pk)
    return render(
        request,
        "outreach/form.html",
        {"form": form, "title": gettext("导入包联表"), "campaign": campaign, "upload": True},
    )


@login_required
@require_POST
def pairing_end(request, pk: int):
    pairing = selectors.get_pairing_for_user(request.user, pk)
    _require(request.user.can(Cap.WRITE))
    form = TextForm(request.POST)
    if form.is_valid() and call_service(
        form,
        services.pairing_end,
        actor=request.user,
        pairing=pairing,
        on=timezone.localdate(),
        reason=form.cleaned_data["text"],
    ):
        messages.success(request, gettext("已终止包联"))
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("outreach:pairings", pairing.campaign_id)


# ---------------------------------------------------------------------------------------------
# The cadre's phone page and the visit form


@login_required
@require_GET
def mine(request):
    rows = selectors.my_households(request.user)
    return render(request, "outreach/mine.html", {"rows": rows, "today": timezone.localdate()})


@login_required
@require_http_methods(["GET", "POST"])
def visit_new(request, pk: int, household: int):
    user = request.user
    campaign, can_write = selectors.get_campaign_for_user(user, pk)
    _require(can_write)
    household_obj = households_in_reach(user).filter(pk=household).first()
    if household_obj is None:
        raise Http404
    if household_obj.closed_on:  # 销户: not visited any more; its page says so
        messages.error(
            request,
            gettext("该户已于 %(date)s 销户，不再走访")
            % {"date": household_obj.closed_on.isoformat()},
        )
        return redirect("households:detail", household_obj.pk)
    form = VisitForm(
        request.POST or None,
        request.FILES or None,
        campaign=campaign,
        user=user,
        household=household_obj,
    )
    if form.is_valid():
        result = call_service(
            form,
            services.visit_log,
            actor=user,
            campaign=campaign,
            household=household_obj,
            data=form.visit_input(),
        )
        if result:
            visit, created = result
            messages.success(
                request,
                gettext("已记录走访：%(name)s户") % {"name": household_obj.head_name}
                if created
                else gettext("这条走访此前已保存"),
            )
            return redirect("outreach:visit", visit.pk)
    return render(
        request,
        "outreach/visit_form.html",
        {"form": form, "campaign": campaign, "household": household_obj},
    )


def _visit_context(request, visit, can_write) -> dict:
    user = request.user
    head = visit.household.head
    return {
        "visit": visit,
        "can_write": can_write,
        "can_edit": services.can_edit(user, visit),
        "can_supervise": user.can(Cap.SUPERVISE),
        "companions": list(visit.companions.all()),
        "photos": list(visit.photos.all()),
        "needs": list(visit.needs.all()),
        "amendments": list(visit.amendments.select_related("author")),
        "flags": list(visit.flags.select_related("flagged_by", "cleared_by").order_by("id")),
        # Without an SMS gateway a code reaches no one: the signature only.
        "phone_masked": mask_phone(head.phone)
        if head and head.phone and hooks.sms_sender is not None
        else "",
        "code_form": CodeForm(),
        "text_form": TextForm(),
        "draft_key": reverse("outreach:visit_new", args=[visit.campaign_id, visit.household_id]),
    }


@login_required
@require_GET
def visit_detail(request, pk: int):
    visit, can_write = selectors.get_visit_for_user(request.user, pk)
    context = _visit_context(request, visit, can_write)
    for need in context["needs"]:
        need.url = hooks.case_url(need.case_number) if need.case_number and hooks.case_url else ""
        need.form_url = hooks.case_form_url(need) if hooks.case_form_url and can_write else ""
    return render(request, "outreach/visit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def visit_edit(request, pk: int):
    user = request.user
    visit, can_write = selectors.get_visit_for_user(user, pk)
    _require(can_write)
    initial = {f: getattr(visit, f) for f in services.VISIT_EDIT_FIELDS}
    form = VisitEditForm(request.POST or None, campaign=visit.campaign, initial=initial)
    if form.is_valid():
        try:
            services.visit_update(actor=user, visit=visit, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("已保存"))
            return redirect("outreach:visit", visit.pk)
    return render(
        request,
        "outreach/form.html",
        {"form": form, "title": gettext("修改走访记录"), "visit": visit},
    )


def _post_action(request, pk: int, action) -> HttpResponse:
    """Run ``action(visit)`` for a POST from the visit page; refusals become messages."""
    visit, _can_write = selectors.get_visit_for_user(request.user, pk)
    try:
        done = action(visit)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        if done:
            messages.success(request, done)
    return redirect("outreach:visit", visit.pk)


@login_required
@require_POST
def visit_amend(request, pk: int):
    def action(visit):
        form = TextForm(request.POST)
        if not form.is_valid():
            raise ValidationError(gettext("请填写补正内容"))
        services.visit_amend(actor=request.user, visit=visit, text=form.cleaned_data["text"])
        return gettext("已添加补正")

    return _post_action(request, pk, action)


@login_required
@require_POST
def visit_code(request, pk: int):
    def action(visit):
        masked = services.visit_code_send(actor=request.user, visit=visit)
        return gettext("验证码已发送至户主手机 %(phone)s，请群众告知后填入") % {"phone": masked}

    return _post_action(request, pk, action)


@login_required
@require_POST
def visit_confirm(request, pk: int):
    def action(visit):
        services.visit_confirm(actor=request.user, visit=visit, code=request.POST.get("code", ""))
        return gettext("群众已确认本次走访")

    return _post_action(request, pk, action)


@login_required
@require_POST
def visit_sign(request, pk: int):
    def action(visit):
        upload = request.FILES.get("signature")
        if upload is None:
            raise ValidationError(gettext("请先签名"))
        services.visit_sign(actor=request.user, visit=visit, png=upload.read())
        return gettext("群众已签名确认本次走访")

    return _post_action(request, pk, action)


@login_required
@require_POST
def visit_flag(request, pk: int):
    def action(visit):
        services.visit_flag(actor=request.user, visit=visit, reason=request.POST.get("text", ""))
        return gettext("已标记为存疑")

    return _post_action(request, pk, action)


@login_required
@require_POST
def flag_clear(request, pk: int):
    flag = selectors.get_flag_for_user(request.user, pk)

    def action(visit):
        services.flag_clear(actor=request.user, flag=flag, note=request.POST.get("text", ""))
        return gettext("已解除存疑标记")

    return _post_action(request, flag.visit_id, action)


@login_required
@require_GET
def photo(request, pk: int):
    photo = VisitPhoto.objects.filter(
        prefix_q("visit__region_id", request.user.reach), pk=pk
    ).first()
    if photo is None:
        raise Http404
    return FileResponse(photo.file.open("rb"), filename=photo.name)


@login_required
@require_GET
def signature(request, pk: int):
    visit, _ = selectors.get_visit_for_user(request.user, pk)
    if not visit.signature:
        raise Http404
    return FileResponse(visit.signature.open("rb"), content_type="image/png")


def household_section(user, household: Household):
    """The household page's 走访 section: its pairings and recent visits."""
    from minqing.households.sections import Section

    visits = list(selectors.household_visits(user, household)[:10])
    pairings = list(selectors.household_pairings(household)[:10])
    today = timezone.localdate()
    campaigns = [
        c
        for c in selectors.campaigns_for(user)
        if c.running_on(today) and c.covers(household.region_id) and not household.closed_on
    ]
    if not (visits or pairings or campaigns):
        return None
    return Section(
        "outreach/household_section.html",
        {"visits": visits, "pairings": pairings, "campaigns": campaigns},
    )
