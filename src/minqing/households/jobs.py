"""Roll imports as jobs: an upload is kept, checked (a dry run) and then imported in the
background (tasks.py), each step recorded on its ImportJob so that the page can show where
it stands. The import itself is importer.py, the same code the command line runs."""

import hashlib
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.roles import Cap
from minqing.audit.context import origin
from minqing.households import roll
from minqing.households.importer import (
    ImportResult,
    RollError,
    import_roll,
    read_header,
    write_refusals,
)
from minqing.households.models import ImportJob
from minqing.lib.excel import READABLE
from minqing.regions.codes import LEVEL_DIGITS

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # a county's roll as .xlsx is ~60 MB
Status = ImportJob.Status


def import_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def job_file(job: ImportJob) -> Path:
    return import_dir() / job.stored_name


def errors_file(job: ImportJob, *, masked: bool = False) -> Path | None:
    """The annotated refusals; ``masked``: the copy with ID numbers and phones masked."""
    if not job.errors_name:
        return None
    return import_dir() / (_masked_name(job.errors_name) if masked else job.errors_name)


def _masked_name(name: str) -> str:
    stem, _dot, suffix = name.rpartition(".")
    return f"{stem}-masked.{suffix}"


def errors_file_for(user, job: ImportJob) -> Path | None:
    """The annotated refusals as ``user`` may have them: in full only with the
    personal-data permission."""
    return errors_file(job, masked=not user.can_view_personal)


def jobs_in_reach(user):
    """The jobs of the user's scope: their own and those of the places they reach."""
    return ImportJob.objects.filter(
        Q(scope__startswith=user.reach) if user.reach else Q()
    ).select_related("created_by")


def get_import_job_for_user(user, pk) -> tuple[ImportJob, bool]:
    """An import is a write: a user without the write capability is refused (403); a job out
    of reach is missing (404)."""
    require_importer(user)
    job = jobs_in_reach(user).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job, True


def may_download_errors(user, job: ImportJob) -> bool:
    """The annotated refusals are the file's own rows: for the user who uploaded them, or
    one who may see personal data. Only the latter gets the ID numbers and phones in full
    (errors_file_for): no user without that permission ever receives them, not even the
    numbers they uploaded."""
    return job.created_by_id == user.pk or user.can_view_personal


def require_importer(user) -> None:
    if not user.can(Cap.WRITE):
        raise PermissionDenied(_("您的角色只能查看，不能导入台账"))


def region_optional(user) -> bool:
    """A village cadre's roll may leave out 所属村: it can only be their village."""
    return len(user.reach) == LEVEL_DIGITS[5]


def needs_mapping(header, *, optional_region: bool) -> bool:
    return bool(header.unknown) or bool(
        roll.mapping_problems(header.mapping, region_optional=optional_region)
    )


def import_job_create(*, actor, upload) -> ImportJob:
    """Keep an uploaded roll and read its header. Raises ValidationError when the file is not
    a roll that can be read."""
    require_importer(actor)
    name = Path(upload.name or "").name[:200]
    suffix = Path(name).suffix.lower()
    if suffix not in READABLE:
        raise ValidationError(
            _("不支持的文件类型“%(suffix)s”：请上传 .xlsx、.xls、.ods 或 .csv 文件")
            % {"suffix": suffix or name}
        )
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("文件超过 %(mb)d MB，请分成几个文件上传") % {"mb": MAX_UPLOAD_BYTES // 1048576}
        )
    folder = import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}{suffix}"
    digest, size = hashlib.sha256(), 0
    with (folder / stored).open("wb") as handle:
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
            handle.write(chunk)
    path = folder / stored
    try:
        header = read_header(path, name)
    except RollError as error:
        path.unlink(missing_ok=True)
        raise ValidationError(str(error)) from None
    mapping_needed = needs_mapping(header, optional_region=region_optional(actor))
    return ImportJob.objects.create(
        filename=name,
        stored_name=stored,
        sha256=digest.hexdigest(),
        size=size,
        mapping=roll.mapping_to_json(header.mapping),
        header_row=header.row,
        status=Status.MAPPING if mapping_needed else Status.UPLOADED,
        scope=actor.reach,
        created_by=actor,
    )


def job_header(job: ImportJob):
    """The job's header as the file has it, with the job's mapping."""
    return read_header(job_file(job), job.filename, roll.mapping_from_json(job.mapping))


def import_job_map(*, actor, job: ImportJob, mapping: dict[int, str]) -> ImportJob:
    """Record the columns' mapping chosen by the user; the job is then ready to check."""
    require_importer(actor)
    problems = roll.mapping_problems(mapping, region_optional=region_optional(actor))
    if problems:
        raise ValidationError(problems)
    updated = ImportJob.objects.filter(
        pk=job.pk, status__in=[Status.MAPPING, Status.UPLOADED, Status.CHECKED, Status.FAILED]
    ).update(mapping=roll.mapping_to_json(mapping), status=Status.UPLOADED, error="")
    if not updated:
        raise ValidationError(_("该导入正在进行或已完成，不能再修改列的对应"))
    job.refresh_from_db()
    return job


def _progress(job: ImportJob):
    def report(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(rows_done=done, rows_total=max(total, done))

    return report


def _store(job: ImportJob, result: ImportResult, *, path: Path) -> None:
    job.counts = result.counts()
    job.refused_total = len(result.refusals)
    job.refusals = [r.as_dict() for r in result.refusals[: ImportJob.REFUSALS_KEPT]]
    job.header_row = result.header_row
    if result.refusals:
        name = f"{Path(job.stored_name).stem}-errors.xlsx"
        write_refusals(path, job.filename, result, import_dir() / name)
        # The uploader is the one user without the personal-data permission who may
        # download the file (may_download_errors): a masked copy for them.
        if not job.created_by.can_view_personal:
            write_refusals(
                path, job.filename, result, import_dir() / _masked_name(name), masked=True
            )
        job.errors_name = name
    else:
        job.errors_name = ""


def _fail(job: ImportJob, message: str) -> None:
    job.status = Status.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])


def import_job_check(job_id: int) -> None:
    """The dry run (the body of tasks.check_import): what the import would create, update,
    leave unchanged and refuse."""
    if not ImportJob.objects.filter(pk=job_id, status=Status.UPLOADED).update(
        status=Status.CHECKING, rows_done=0, error=""
    ):
        return  # checked already, or another worker took it
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    path = job_file(job)
    try:
        result = import_roll(
            actor=job.created_by,
            source=path,
            filename=job.filename,
            mapping=roll.mapping_from_json(job.mapping),
            dry_run=True,
            progress=_progress(job),
        )
    except (RollError, PermissionDenied) as error:
        _fail(job, str(error))
        return
    except Exception:
        logger.exception("checking import job %s", job_id)
        _fail(job, _("检查时发生系统错误，请联系管理员"))
        raise
    _store(job, result, path=path)
    job.status = Status.CHECKED
    job.checked_at = timezone.now()
    job.save(
        update_fields=[
            "counts",
            "refused_total",
            "refusals",
            "header_row",
            "errors_name",
            "status",
            "checked_at",
        ]
    )


def import_job_start(*, actor, job: ImportJob, partial: bool) -> ImportJob:
    """Claim a checked job for running (of two clicks, one wins)."""
    require_importer(actor)
    if not ImportJob.objects.filter(pk=job.pk, status=Status.CHECKED).update(
        status=Status.RUNNING,
        started_by=actor,
        partial=partial,
        started_at=timezone.now(),
        rows_done=0,
    ):
        raise ValidationError(_("该导入已在进行或已完成"))
    job.refresh_from_db()
    return job


def import_job_execute(job_id: int) -> None:
    """The import (the body of tasks.run_import), all or nothing unless the job is partial."""
    job = ImportJob.objects.select_related("started_by").get(pk=job_id)
    if job.status != Status.RUNNING:
        return
    path = job_file(job)
    try:
        with origin("import"):
            result = import_roll(
                actor=job.started_by,
                source=path,
                filename=job.filename,
                mapping=roll.mapping_from_json(job.mapping),
                partial=job.partial,
                progress=_progress(job),
                entity_id=str(job.pk),
            )
    except (RollError, PermissionDenied) as error:
        _fail(job, str(error))
        return
    except Exception:
        logger.exception("running import job %s", job_id)
        _fail(job, _("导入时发生系统错误，未写入任何数据，请联系管理员"))
        raise
    _store(job, result, path=path)
    job.finished_at = timezone.now()
    if result.applied:
        job.status = Status.DONE
        job.error = ""
        # The upload holds every ID number in clear: once imported, it goes.
        path.unlink(missing_ok=True)
    else:
        job.status = Status.FAILED
        job.error = _("文件有 %(n)d 处错误，按“全部或全不”的规则未导入任何数据") % {
            "n": len(result.refusals)
        }
    job.save(
        update_fields=[
            "counts",
            "refused_total",
            "refusals",
            "header_row",
            "errors_name",
            "status",
            "error",
            "finished_at",
        ]
    )
