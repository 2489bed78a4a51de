"""The relief pages: programme set-up with the live rule preview, the lists and their notice
sheet, distribution on a phone, the bank files, stock, the reconstruction board and the
hazard sites. Every page reads through selectors (scope, 404) and writes through services."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts.roles import Cap
from minqing.households.sections import Section
from minqing.households.selectors import households_in_reach
from minqing.lib.htmx import render_page
from minqing.lib.paging import keyset_page
from minqing.regions.codes import pad
from minqing.regions.models import Level, Region, prefix_q
from minqing.relief import export, services
from minqing.relief.card import card_pdf, notice_pdf
from minqing.relief.forms import (
    CycleForm,
    DecideForm,
    HandoverForm,
    HazardSiteForm,
    MilestoneForm,
    ObjectionForm,
    ProgrammeForm,
    ProjectForm,
    StockForm,
    editor_choices,
    editor_rows,
    lines_from_post,
)
from minqing.relief.models import (
    EntitlementList,
    ListStatus,
    Material,
    Milestone,
    Payment,
    ProgrammeKind,
    Stage,
    StockMove,
)
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
    household_entitlements,
    household_received,
    households_by_ids,
    line_counts,
    paid_lines,
    programmes_in_reach,
    project_received,
    projects_in_reach,
    regions_by_codes,
    rule_preview,
    stock_balances,
)
from minqing.web.today import TodayItem

PAGE_SIZE = 50


def _require_write(can_write: bool) -> None:
    if not can_write:
        raise PermissionDenied(_("您的角色只能查看，不能修改台账"))


def _refused(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _reach_region(user) -> Region:
    return Region.objects.get(code=pad(user.reach))


def household_section(user, household) -> Section:
    """The household page's part: everything received, from which programme and rule
    version; what it is still owed; its hazard site cards and its rebuilding project.
    Four queries, whatever the household received."""
    received = household_received(user, household)
    paid = {(p.programme_id, p.cycle_id, p.line_code) for p in received}
    return Section(
        "relief/household_section.html",
        {
            "received": received,
            "owed": [
                e
                for e in household_entitlements(household)
                if (e.entitlement_list.programme_id, e.entitlement_list.cycle_id, e.line.code)
                not in paid
            ],
            "sites": list(household.hazard_sites.all()),
            "project": projects_in_reach(user).filter(household=household).first(),
        },
    )


def today_items(user) -> list[TodayItem]:
    """Lists in notice whose period is over (ready to approve), for those who may approve."""
    if not user.can(Cap.WRITE):
        return []
    today = timezone.localdate()
    ready = [
        entitlement_list
        for entitlement_list in EntitlementList.objects.filter(
            programme__in=programmes_in_reach(user).filter(prefix_q("region_id", user.reach)),
            status=ListStatus.NOTICE,
        )
        if entitlement_list.notice_from + datetime.timedelta(days=entitlement_list.notice_days)
        <= today
    ]
    if not ready:
        return []
    return [
        TodayItem(
            _("公示期满待批准的救助名单"),
            len(ready),
            reverse("relief:list", args=[ready[0].pk]),
            _("处理完异议后即可批准发放"),
        )
    ]


# ---------------------------------------------------------------------------------------------
# Programmes and rules


@login_required
@require_http_methods(["GET", "POST"])
def programme_list(request):
    user = request.user
    form = ProgrammeForm(request.POST or None)
    if request.method == "POST":
        _require_write(user.can(Cap.WRITE))
        if form.is_valid():
            data = form.cleaned_data
            try:
                regions = regions_by_codes(data["regions"].replace("，", ",").split(","))
                programme = services.programme_create(
                    actor=user,
                    name=data["name"],
                    kind=data["kind"],
                    region=_reach_region(user),
                    regions=regions,
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    budget_fen=int((data["budget"] or 0) * 100),
                    exclusive_group=data["exclusive_group"],
                    document=data["document"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect("relief:rules", pk=programme.pk)
    programmes = (
        programmes_in_reach(user)
        .select_related("region")
        .annotate(
            cycle_count=Count("cycles", distinct=True), list_count=Count("lists", distinct=True)
        )
        .order_by("-starts_on", "-id")
    )
    return render(
        request,
        "relief/programmes.html",
        {"programmes": programmes, "form": form, "can_write": user.can(Cap.WRITE)},
    )


@login_required
@require_GET
def programme_detail(request, pk: int):
    programme, can_write = get_programme_for_user(request.user, pk)
    ruleset = programme.rulesets.order_by("-version").first()
    lines = list(ruleset.lines.select_related("material")) if ruleset else []
    for line in lines:
        line.description = describe(line.condition)
    cycles = list(programme.cycles.order_by("-on"))
    lists = programme.lists.select_related("cycle", "ruleset").order_by("-id")
    by_cycle: dict = {}
    for entitlement_list in lists:
        by_cycle.setdefault(entitlement_list.cycle_id, []).append(entitlement_list)
    for cycle in cycles:
        cycle.entitlement_lists = by_cycle.get(cycle.pk, [])
    return render(
        request,
        "relief/programme.html",
        {
            "programme": programme,
            "ruleset": ruleset,
            "lines": lines,
            "versions": programme.rulesets.select_related("created_by"),
            "cycles": cycles,
            "cycle_form": CycleForm(initial={"on": timezone.localdate()}),
            "can_write": can_write,
            "monthly": programme.kind != ProgrammeKind.ONE_OFF,
        },
    )


def _preview_rows(programme, lines, match, on):
    rows = rule_preview(programme, lines, match, on)
    for row in rows:
        row["description"] = describe(row["line"].condition)
        row["count_text"] = f"{row['households']:,}"
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def rules_edit(request, pk: int):
    """The rule editor; every change of the form asks ``rules_preview`` for the counts."""
    programme, can_write = get_programme_for_user(request.user, pk)
    _require_write(can_write)
    ruleset = programme.rulesets.order_by("-version").first()
    errors: list[str] = []
    match = ruleset.match if ruleset else "all"
    lines = list(ruleset.lines.select_related("material")) if ruleset else []
    if request.method == "POST":
        lines, errors = lines_from_post(request.POST)
        match = request.POST.get("match", "all")
        if not errors:
            try:
                services.ruleset_create(
                    actor=request.user,
                    programme=programme,
                    match=match,
                    lines=lines,
                    note=request.POST.get("note", ""),
                )
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, _("规则已保存为新版本"))
                return redirect("relief:programme", pk=programme.pk)
    return render(
        request,
        "relief/rules.html",
        {
            "programme": programme,
            "ruleset": ruleset,
            "match": match,
            "rows": editor_rows(lines),
            "errors": errors,
            "on": _preview_day(programme, request.POST or request.GET),
            **editor_choices(),
        },
    )


def _preview_day(programme, params) -> datetime.date:
    try:
        return datetime.date.fromisoformat(params.get("on", ""))
    except ValueError:
        cycle = programme.cycles.order_by("-on").first()
        return cycle.on if cycle else timezone.localdate()


@login_required
@require_POST
def rules_preview(request, pk: int):
    """The live preview: how many households each typed line would grant today."""
    programme, _can_write = get_programme_for_user(request.user, pk)
    lines, errors = lines_from_post(request.POST)
    rows = []
    if not errors:
        try:
            lines = services.clean_lines(lines)
        except ValidationError as error:
            errors = error.messages
        else:
            rows = _preview_rows(
                programme,
                lines,
                request.POST.get("match", "all"),
                _preview_day(programme, request.POST),
            )
    return render(request, "relief/rules.html#preview", {"preview": rows, "errors": errors})


@login_required
@require_POST
def cycle_new(request, pk: int):
    programme, can_write = get_programme_for_user(request.user, pk)
    _require_write(can_write)
    form = CycleForm(request.POST)
    if form.is_valid():
        try:
            services.cycle_create(
                actor=request.user,
                programme=programme,
                label=form.cleaned_data["label"],
                on=form.cleaned_data["on"],
            )
        except ValidationError as error:
            _refused(request, error)
    else:
        messages.error(request, _("请填写认定基准日"))
    return redirect("relief:programme", pk=programme.pk)


@login_required
@require_POST
def list_new(request, pk: int):
    programme, can_write = get_programme_for_user(request.user, pk)
    _require_write(can_write)
    cycle = programme.cycles.filter(pk=request.POST.get("cycle") or 0).first()
    corrects = programme.lists.filter(pk=request.POST.get("corrects") or 0).first()
    if cycle is None:
        raise Http404
    try:
        entitlement_list = services.list_compute(
            actor=request.user,
            programme=programme,
            cycle=cycle,
            corrects=corrects,
            note=request.POST.get("note", ""),
        )
    except ValidationError as error:
        _refused(request, error)
        return redirect("relief:programme", pk=programme.pk)
    return redirect("relief:list", pk=entitlement_list.pk)


# ---------------------------------------------------------------------------------------------
# Lists


@login_required
@require_GET
def list_detail(request, pk: int):
    user = request.user
    entitlement_list, can_write = get_list_for_user(user, pk)
    rows = entitlements_in_reach(user, entitlement_list).select_related(
        "household", "line", "line__material", "region"
    )
    if request.GET.get("line"):
        rows = rows.filter(line__code=request.GET["line"])
    page = keyset_page(rows, request.GET, order=("id",), size=PAGE_SIZE, descending=False)
    context = {
        "list": entitlement_list,
        "page": page,
        "can_write": can_write,
        "can_hand_over": user.can(Cap.WRITE),
    }
    if not request.GET.get("after"):
        counts = line_counts(user, entitlement_list)
        for row in counts:
            row["description"] = describe(row["line"].condition)
        context |= {
            "counts": counts,
            "steps": entitlement_list.steps.select_related("actor"),
            "objections": entitlement_list.objections.select_related("household", "decided_by"),
            "objection_form": ObjectionForm(),
            "decide_form": DecideForm(),
            "corrections": entitlement_list.corrections.all(),
            "batches": entitlement_list.bank_batches.annotate(n=Count("payments")),
            "next_steps": sorted(services.TRANSITIONS[entitlement_list.status]),
            "notice_ends": (
                entitlement_list.notice_from + datetime.timedelta(days=entitlement_list.notice_days)
                if entitlement_list.notice_from
                else None
            ),
        }
    return render_page(request, "relief/list.html", "rows", context)


@login_required
@require_POST
def list_transition(request, pk: int):
    entitlement_list, can_write = get_list_for_user(request.user, pk)
    _require_write(can_write)
    to = request.POST.get("to", "")
    try:
        if to == ListStatus.RECONCILED:
            services.list_reconcile(actor=request.user, entitlement_list=entitlement_list)
        elif to in ListStatus.values:
            days = request.POST.get("notice_days", "")
            services.list_transition(
                actor=request.user,
                entitlement_list=entitlement_list,
                to=to,
                notice_days=int(days) if days.isdigit() else 0,
                note=request.POST.get("note", ""),
            )
        else:
            raise ValidationError(_("名单状态无法识别"))
    except ValidationError as error:
        _refused(request, error)
    return redirect("relief:list", pk=entitlement_list.pk)


@login_required
@require_POST
def objection_new(request, pk: int):
    entitlement_list, _can_write = get_list_for_user(request.user, pk)
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写异议人和异议内容"))
        return redirect("relief:list", pk=pk)
    household = None
    if form.cleaned_data["household"]:
        household = (
            households_in_reach(request.user).filter(pk=form.cleaned_data["household"]).first()
        )
        if household is None:
            messages.error(
                request, _("户编号 %s 不存在或不在您的管辖范围内") % form.cleaned_data["household"]
            )
            return redirect("relief:list", pk=pk)
    try:
        services.objection_record(
            actor=request.user,
            entitlement_list=entitlement_list,
            household=household,
            raised_by=form.cleaned_data["raised_by"],
            text=form.cleaned_data["text"],
        )
    except ValidationError as error:
        _refused(request, error)
    return redirect("relief:list", pk=pk)


@login_required
@require_POST
def objection_decide(request, pk: int, objection_pk: int):
    entitlement_list, can_write = get_list_for_user(request.user, pk)
    _require_write(can_write)
    objection = entitlement_list.objections.filter(pk=objection_pk).first()
    if objection is None:
        raise Http404
    form = DecideForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("请选择处理结果并填写处理意见"))
        services.objection_decide(
            actor=request.user,
            objection=objection,
            decision=form.cleaned_data["decision"],
            answer=form.cleaned_data["answer"],
        )
    except ValidationError as error:
        _refused(request, error)
    return redirect("relief:list", pk=pk)


@login_required
@require_GET
def notice_sheet(request, pk: int):
    """公示 sheet for the village board (print view), one village at a time or all."""
    user = request.user
    entitlement_list, _can_write = get_list_for_user(user, pk)
    rows = entitlements_in_reach(user, entitlement_list).filter(excluded=False)
    if request.GET.get("village"):
        rows = rows.filter(region_id=request.GET["village"])
    households: dict = {}
    for e in rows.select_related("household", "region", "line__material").order_by(
        "region_id", "household_id", "line__position"
    ):
        entry = households.setdefault(
            e.household_id, {"household": e.household, "region": e.region, "grants": []}
        )
        entry["grants"].append(e.line)
    ends = (
        entitlement_list.notice_from + datetime.timedelta(days=entitlement_list.notice_days)
        if entitlement_list.notice_from
        else None
    )
    if request.GET.get("format") == "pdf":
        return _notice_pdf(entitlement_list, list(households.values()), ends)
    return render(
        request,
        "relief/notice.html",
        {"list": entitlement_list, "households": list(households.values()), "ends": ends},
    )


def _notice_pdf(entitlement_list, households: list[dict], ends) -> HttpResponse:
    terms = [
        _("批次：%(c)s\u3000规则版本：第 %(v)s 版")
        % {"c": entitlement_list.cycle.label, "v": entitlement_list.ruleset.version}
    ]
    if ends:
        terms.append(
            _("公示期 %(d)s 天：%(a)s 至 %(b)s。")
            % {
                "d": entitlement_list.notice_days,
                "a": f"{entitlement_list.notice_from:%Y年%m月%d日}",
                "b": f"{ends:%Y年%m月%d日}",
            }
        )
    terms.append(_("对公示对象有异议的，请在公示期内向村（居）委会或乡镇（街道）民政办反映。"))
    rows = [
        [
            str(n),
            h["region"].short_name,
            h["household"].head_name,
            str(h["household"].member_count),
            "；".join(export.grant_text(line) for line in h["grants"]),
        ]
        for n, h in enumerate(households, 1)
    ]
    pdf = notice_pdf(
        title=entitlement_list.programme.name + _("救助对象公示"),
        lines=terms,
        rows=rows,
        footer=_("公示单位（盖章）：")
        + "\u3000" * 8
        + _("公示日期：")
        + (f"{entitlement_list.notice_from:%Y年%m月%d日}" if entitlement_list.notice_from else ""),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="notice-{entitlement_list.pk}.pdf"'
    return response


@login_required
@require_GET
def list_export(request, pk: int):
    entitlement_list, _can_write = get_list_for_user(request.user, pk)
    return export.xlsx_response(
        export.list_rows(request.user, entitlement_list),
        f"救助名单-{entitlement_list.programme.name}-{entitlement_list.cycle.label}.xlsx",
    )


# ---------------------------------------------------------------------------------------------
# Distribution


@login_required
@require_GET
def distribute(request, pk: int):
    """On a phone: find the household, see what it is owed, hand over, done."""
    user = request.user
    entitlement_list, _can_write = get_list_for_user(user, pk)
    _require_write(user.can(Cap.WRITE))  # who may hand over (in their reach), as handover()
    q = request.GET.get("q", "").strip()
    households: dict = {}
    if q:
        rows = (
            entitlements_in_reach(user, entitlement_list)
            .filter(excluded=False, household__head_name__startswith=q)
            .select_related("household", "region", "line__material")
            .order_by("household_id", "line__position")[:60]
        )
        paid = paid_lines(entitlement_list, [e.household_id for e in rows])
        for e in rows:
            e.payment = paid.get((e.household_id, e.line.code))
            households.setdefault(
                e.household_id, {"household": e.household, "region": e.region, "rows": []}
            )["rows"].append(e)
    return render_page(
        request,
        "relief/distribute.html",
        "results",
        {
            "list": entitlement_list,
            "q": q,
            "households": list(households.values()),
            "depots": depots_in_reach(user),
            "form": HandoverForm(),
            "payable": entitlement_list.status == ListStatus.APPROVED,
        },
    )


@login_required
@require_POST
def handover(request, pk: int):
    user = request.user
    entitlement, can_write = get_entitlement_for_user(user, pk)
    _require_write(can_write)
    form = HandoverForm(request.POST, request.FILES)
    back = (
        reverse("relief:distribute", args=[entitlement.entitlement_list_id])
        + "?q="
        + entitlement.household.head_name
    )
    if not form.is_valid():
        messages.error(request, _("请填写领取人并选择签字或按手印"))
        return redirect(back)
    depot = depots_in_reach(user).filter(pk=form.cleaned_data["depot"] or 0).first()
    photo = form.cleaned_data["photo"]
    try:
        services.payment_handover(
            actor=user,
            entitlement=entitlement,
            receiver=form.cleaned_data["receiver"],
            proof=form.cleaned_data["proof"],
            photo=photo.read() if photo else None,
            depot=depot,
        )
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("已发放：%(name)s %(line)s")
            % {"name": entitlement.household.head_name, "line": entitlement.line.label},
        )
    return redirect(back)


@login_required
@require_POST
def bank_batch_new(request, pk: int):
    entitlement_list, can_write = get_list_for_user(request.user, pk)
    _require_write(can_write)
    try:
        batch = services.bank_batch_create(actor=request.user, entitlement_list=entitlement_list)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("已生成银行代发批次 %(pk)s，共 %(n)s 笔")
            % {"pk": batch.pk, "n": batch.payments.count()},
        )
    return redirect("relief:list", pk=pk)


@login_required
@require_GET
def bank_batch_file(request, pk: int):
    batch = get_batch_for_user(request.user, pk)
    return export.xlsx_response(export.bank_rows(request.user, batch), f"银行代发-{batch.pk}.xlsx")


@login_required
@require_POST
def bank_result(request, pk: int):
    batch = get_batch_for_user(request.user, pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("请选择银行回盘文件"))
    else:
        try:
            result = services.bank_result_import(
                actor=request.user, batch=batch, source=upload, filename=upload.name
            )
        except ValidationError as error:
            _refused(request, error)
        else:
            messages.success(
                request,
                _("回盘已导入：成功 %(paid)s 笔，失败 %(failed)s 笔，未回盘 %(open)s 笔") % result,
            )
    return redirect("relief:list", pk=batch.entitlement_list_id)


# ---------------------------------------------------------------------------------------------
# Stock


@login_required
@require_http_methods(["GET", "POST"])
def stock(request):
    user = request.user
    if request.method == "POST":
        _require_write(user.can(Cap.WRITE))
        form = StockForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            depot = depots_in_reach(user).filter(pk=data["depot"]).first()
            material = Material.objects.filter(pk=data["material"]).first()
            if depot is None or material is None:
                raise Http404
            try:
                if request.POST.get("action") == "count":
                    services.stock_count(
                        actor=user,
                        depot=depot,
                        material=material,
                        counted=data["quantity"],
                        reason=data["note"],
                    )
                else:
                    services.stock_receive(
                        actor=user,
                        depot=depot,
                        material=material,
                        quantity=data["quantity"],
                        source=data["note"],
                    )
            except ValidationError as error:
                _refused(request, error)
            else:
                messages.success(request, _("已记录"))
        else:
            messages.error(request, _("请选择仓库、物资并填写数量"))
        return redirect("relief:stock")
    if request.GET.get("format") == "xlsx":
        return export.xlsx_response(export.stock_rows(user), "物资台账.xlsx")
    depots = depots_in_reach(user)
    return render(
        request,
        "relief/stock.html",
        {
            "balances": stock_balances(user),
            "moves": StockMove.objects.filter(depot__in=depots).select_related(
                "depot", "material", "actor"
            )[:50],
            "depots": depots,
            "materials": Material.objects.all(),
            "can_write": user.can(Cap.WRITE),
        },
    )


# ---------------------------------------------------------------------------------------------
# Reconstruction


@login_required
@require_http_methods(["GET", "POST"])
def rebuild_board(request):
    user = request.user
    if request.method == "POST":
        _require_write(user.can(Cap.WRITE))
        form = ProjectForm(request.POST)
        household = None
        if form.is_valid():
            household = (
                households_in_reach(user)
                .select_related("dwelling")
                .filter(pk=form.cleaned_data["household"])
                .first()
            )
        if household is None:
            messages.error(request, _("户编号不存在或不在您的管辖范围内"))
        else:
            try:
                project = services.project_create(
                    actor=user, household=household, kind=form.cleaned_data["kind"]
                )
            except ValidationError as error:
                _refused(request, error)
            else:
                return redirect("relief:project", pk=project.pk)
        return redirect("relief:rebuild")
    if request.GET.get("format") == "xlsx":
        return export.xlsx_response(export.project_rows(user), "重建进度台账.xlsx")
    township = request.GET.get("township", "")
    villages = completion_rates(user, level=Level.VILLAGE)
    if township:
        villages = [v for v in villages if v["code"].startswith(township[:9])]
    projects = projects_in_reach(user).select_related("household", "region")
    if township:
        projects = projects.filter(prefix_q("region_id", township[:9]))
    page = keyset_page(projects, request.GET, order=("id",), size=PAGE_SIZE, descending=False)
    townships = completion_rates(user, level=Level.TOWNSHIP)
    return render_page(
        request,
        "relief/rebuild.html",
        "rows",
        {
            "townships": townships,
            "chart": {
                "labels": [t["name"] for t in townships],
                "values": [t["rate"] for t in townships],
                "series": _("完成率（%）"),
            },
            "villages": villages,
            "township": township,
            "page": page,
            "form": ProjectForm(),
            "can_write": user.can(Cap.WRITE),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_detail(request, pk: int):
    project, can_write = get_project_for_user(request.user, pk)
    form = MilestoneForm(
        request.POST or None, request.FILES or None, initial={"on": timezone.localdate()}
    )
    if request.method == "POST":
        _require_write(can_write)
        if form.is_valid():
            photo = form.cleaned_data["photo"]
            try:
                services.milestone_record(
                    actor=request.user,
                    project=project,
                    stage=form.cleaned_data["stage"],
                    on=form.cleaned_data["on"],
                    photo=photo.read() if photo else None,
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect("relief:project", pk=pk)
    recorded = {m.stage: m for m in project.milestones.select_related("recorded_by")}
    stages = [
        {"value": v, "label": label, "milestone": recorded.get(v)} for v, label in Stage.choices
    ]
    return render(
        request,
        "relief/project.html",
        {
            "project": project,
            "stages": stages,
            "received": project_received(project),
            "form": form,
            "can_write": can_write,
        },
    )


# ---------------------------------------------------------------------------------------------
# Hazard sites


@login_required
@require_GET
def hazard_list(request):
    user = request.user
    if request.GET.get("format") == "xlsx":
        return export.xlsx_response(export.hazard_rows(user), "地质灾害隐患点台账.xlsx")
    sites = (
        hazard_sites_in_reach(user)
        .select_related("region")
        .annotate(threatened=Count("households"))
    )
    return render(
        request, "relief/hazards.html", {"sites": sites, "can_write": user.can(Cap.WRITE)}
    )


def _site_form_save(request, form, site=None):
    data = form.cleaned_data
    ids = [int(x) for x in data["households"].replace("，", ",").split(",") if x.strip().isdigit()]
    values = {k: v for k, v in data.items() if k not in ("region", "households")}
    try:
        [region] = regions_by_codes([data["region"]])
        return services.hazard_site_save(
            actor=request.user,
            region=region,
            values=values,
            households=households_by_ids(request.user, ids),
            site=site,
        )
    except ValidationError as error:
        form.add_error(None, error)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def hazard_new(request):
    _require_write(request.user.can(Cap.WRITE))
    form = HazardSiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        site = _site_form_save(request, form)
        if site is not None:
            return redirect("relief:hazard", pk=site.pk)
    return render(request, "relief/hazard_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def hazard_detail(request, pk: int):
    site, can_write = get_hazard_site_for_user(request.user, pk)
    initial = {f: getattr(site, f) for f in services.HAZARD_FIELDS} | {
        "region": site.region_id,
        "households": ",".join(str(h) for h in site.households.values_list("pk", flat=True)),
    }
    form = HazardSiteForm(request.POST or None, initial=initial)
    if request.method == "POST":
        _require_write(can_write)
        if form.is_valid() and _site_form_save(request, form, site) is not None:
            messages.success(request, _("已保存"))
            return redirect("relief:hazard", pk=pk)
    households = (
        households_in_reach(request.user).filter(hazard_sites=site).order_by("region_id", "id")
    )
    return render(
        request,
        "relief/hazard.html",
        {"site": site, "households": households, "form": form, "can_write": can_write},
    )


@login_required
@require_GET
def hazard_card(request, pk: int, household_pk: int):
    site, _can_write = get_hazard_site_for_user(request.user, pk)
    household = (
        households_in_reach(request.user)
        .filter(hazard_sites=site, pk=household_pk)
        .select_related("dwelling")
        .first()
    )
    if household is None:
        raise Http404
    response = HttpResponse(card_pdf(site, household), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="card-{site.code}-{household.pk}.pdf"'
    return response


@login_required
@require_GET
def photo(request, kind: str, pk: int):
    """A handover or milestone photo, to those who may see the record."""
    if kind == "payment":
        obj = Payment.objects.filter(prefix_q("region_id", request.user.reach), pk=pk).first()
        name = obj.photo if obj else ""
    elif kind == "milestone":
        obj = Milestone.objects.filter(
            prefix_q("project__region_id", request.user.reach), pk=pk
        ).first()
        name = obj.photo if obj else ""
    else:
        name = ""
    if not name:
        raise Http404
    return FileResponse(open(settings.VAR_DIR / "relief" / name, "rb"))
