"""The roll's pages: import (upload → column mapping if needed → dry run → run → progress →
result) and export. The work is in jobs.py / importer.py / export.py; these views only ask
and show."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.households import jobs, roll
from minqing.households.export import export_households
from minqing.households.filters import household_filter_from_params
from minqing.households.importer import RollError
from minqing.households.models import ImportJob
from minqing.households.tasks import check_import, run_import
from minqing.lib.excel import column_letter
from minqing.lib.htmx import render_page
from minqing.lib.masking import mask_id_number, mask_phone

SHOWN_REFUSALS = 200
RECENT_JOBS = 10


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("花名册文件"),
        help_text=_("支持 .xlsx、.xls、.ods、.csv；第一行（或标题下的一行）为列名，每人一行"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.ods,.csv"}),
    )


class MappingForm(forms.Form):
    """One choice per column of the file: which roll column it is, or 忽略."""

    def __init__(self, *args, header, samples, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("忽略此列"))] + [(c.key, c.header) for c in roll.COLUMNS]
        self.columns = []
        for col in range(1, len(header.cells) + 1):
            title = header.title(col)
            field = forms.ChoiceField(
                label=f"{column_letter(col)}　{title or gettext('（无列名）')}",
                choices=choices,
                required=False,
                initial=header.mapping.get(col, ""),
            )
            name = f"col_{col}"
            self.fields[name] = field
            self.columns.append(
                {
                    "field": name,
                    "samples": samples.get(col, []),
                    "known": col in header.mapping,
                }
            )

    def rows(self) -> list[dict]:
        return [{**column, "field": self[column["field"]]} for column in self.columns]

    def mapping(self) -> dict[int, str]:
        return {
            int(name.removeprefix("col_")): value or "" for name, value in self.cleaned_data.items()
        }


def _enqueue_check(job: ImportJob) -> None:
    check_import.enqueue(job.pk)


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    jobs.require_importer(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = jobs.import_job_create(actor=request.user, upload=form.cleaned_data["file"])
        except ValidationError as error:
            form.add_error("file", error)
        else:
            if job.status == ImportJob.Status.MAPPING:
                return redirect("roll:mapping", pk=job.pk)
            _enqueue_check(job)
            return redirect("roll:job", pk=job.pk)
    recent = jobs.jobs_in_reach(request.user).order_by("-created_at")[:RECENT_JOBS]
    return render(
        request,
        "households/roll/upload.html",
        {"form": form, "recent": recent, "headers": roll.HEADERS},
    )


def _samples(header) -> dict[int, list[str]]:
    """A few values of each column, for the mapping page; ID numbers and phones masked."""
    samples: dict[int, list[str]] = {}
    for cells in header.samples:
        for col, value in enumerate(cells, start=1):
            if value:
                samples.setdefault(col, []).append(_masked(value))
    return samples


def _masked(value: str) -> str:
    digits = value.replace(" ", "")
    if len(digits) in (15, 18) and digits[:15].isdigit():
        return mask_id_number(digits)
    if len(digits) == 11 and digits.isdigit():
        return mask_phone(digits)
    return value[:30]


@login_required
@require_http_methods(["GET", "POST"])
def mapping(request, pk):
    job, _can_write = jobs.get_import_job_for_user(request.user, pk)
    if job.status not in (
        ImportJob.Status.MAPPING,
        ImportJob.Status.CHECKED,
        ImportJob.Status.FAILED,
    ):
        return redirect("roll:job", pk=job.pk)
    try:
        header = jobs.job_header(job)
    except RollError as error:
        messages.error(request, str(error))
        return redirect("roll:upload")
    form = MappingForm(request.POST or None, header=header, samples=_samples(header))
    if request.method == "POST" and form.is_valid():
        try:
            jobs.import_job_map(actor=request.user, job=job, mapping=form.mapping())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _enqueue_check(job)
            return redirect("roll:job", pk=job.pk)
    return render(
        request,
        "households/roll/mapping.html",
        {
            "job": job,
            "form": form,
            "unknown": [header.title(c) for c in header.unknown],
            "region_optional": jobs.region_optional(request.user),
        },
    )


class RunForm(forms.Form):
    partial = forms.BooleanField(required=False)


@login_required
@require_GET
def job_detail(request, pk):
    job, _can_write = jobs.get_import_job_for_user(request.user, pk)
    if job.status == ImportJob.Status.MAPPING:
        return redirect("roll:mapping", pk=job.pk)
    counts = job.counts or {}
    return render_page(
        request,
        "households/roll/job.html",
        "status",
        {
            "job": job,
            "people": counts.get("people", {}),
            "households": counts.get("households", {}),
            "rows": counts.get("rows", 0),
            "in_part": counts.get("households_in_part", 0),
            "refusals": job.refusals[:SHOWN_REFUSALS],
            "more_refusals": max(job.refused_total - SHOWN_REFUSALS, 0),
            "may_download": jobs.may_download_errors(request.user, job),
            "writing": job.status == ImportJob.Status.RUNNING
            and job.rows_total
            and job.rows_done >= job.rows_total,
        },
    )


@login_required
@require_POST
def job_run(request, pk):
    job, _can_write = jobs.get_import_job_for_user(request.user, pk)
    form = RunForm(request.POST)
    partial = form.is_valid() and form.cleaned_data["partial"]
    try:
        jobs.import_job_start(actor=request.user, job=job, partial=partial)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        run_import.enqueue(job.pk)
    return redirect("roll:job", pk=job.pk)


@login_required
@require_GET
def job_errors(request, pk):
    job, _can_write = jobs.get_import_job_for_user(request.user, pk)
    if not jobs.may_download_errors(request.user, job):
        raise PermissionDenied(
            gettext("错误文件含完整的身份证号，只有上传人或有个人信息权限的用户可以下载")
        )
    path = jobs.errors_file_for(request.user, job)
    if path is None or not path.exists():
        raise Http404
    stem = job.filename.rsplit(".", 1)[0]
    suffix = gettext("错误") if request.user.can_view_personal else gettext("错误（已脱敏）")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{stem}-{suffix}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@login_required
@require_GET
def export(request):
    """The household list's filters (the same query string as the list page) as a roll;
    ``full=1`` for unmasked values, if the user may see them."""
    filters, errors = household_filter_from_params(request.user, request.GET)
    if errors:
        return HttpResponseBadRequest(
            "；".join(str(e) for e in errors.values()), content_type="text/plain; charset=utf-8"
        )
    full = request.GET.get("full") == "1"
    if full and not request.user.can_view_personal:
        raise PermissionDenied(gettext("您没有导出完整个人信息的权限"))
    handle, _count = export_households(user=request.user, filters=filters, full=full)
    name = gettext("户籍花名册") + f"-{timezone.localdate():%Y%m%d}.xlsx"
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "no-store"
    return response
