"""Every write to the case ledger. Each move goes through ``_apply``: it checks the move
against the table in workflow.py (status and who), changes the row with a compare-and-set on
its version, so that of two people pressing the same button one wins and the other is told,
and writes the history row and the audit row in the same transaction.

Case text is never copied into audit rows: petitions (信访) are personal data."""

import copy
import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.models import OrgUnit, UnitKind, User
from minqing.accounts.roles import Cap
from minqing.audit.services import audit_record
from minqing.cases import deadlines, sources
from minqing.cases.figures import figures_refresh, tally_before
from minqing.cases.models import (
    FINISHED,
    LEVEL_REACH,
    NEXT_LEVEL,
    Case,
    CaseCategory,
    CaseEvent,
    CaseLevel,
    CaseSequence,
    Dispute,
    Extension,
    ExtensionStatus,
    Kind,
    Notification,
    Outcome,
    Rating,
    ReturnContact,
    Source,
    Supervision,
)
from minqing.cases.workflow import MOVES, may
from minqing.lib.rows import insert_rows
from minqing.regions.codes import pad
from minqing.regions.models import Level, Region

ENTITY = "cases.case"
LEVEL_OF_REGION = {
    Level.VILLAGE: CaseLevel.VILLAGE,
    Level.TOWNSHIP: CaseLevel.TOWNSHIP,
    Level.COUNTY: CaseLevel.COUNTY,
}
UNIT_KIND_OF_LEVEL = {
    CaseLevel.VILLAGE: UnitKind.VILLAGE,
    CaseLevel.TOWNSHIP: UnitKind.TOWNSHIP,
    CaseLevel.COUNTY: UnitKind.COUNTY,
}


def _name(actor) -> str:
    return actor.display_name if actor is not None else _("系统")


def _event(case, actor, action, *, before="", after="", note="", data=None) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        actor_name=_name(actor),
        action=action,
        from_status=before,
        to_status=after,
        note=note,
        data=data or {},
    )


def _apply(
    *,
    actor,
    case: Case,
    name: str,
    changes: dict | None = None,
    note: str = "",
    data: dict | None = None,
) -> Case:
    """Make move ``name`` on ``case`` (as the caller loaded it) or refuse it. The caller runs
    inside a transaction; nothing is written before the compare-and-set succeeds."""
    move = MOVES[name]
    if case.status not in move.sources:
        raise ValidationError(
            _("案件 %(number)s 当前为“%(status)s”，不能%(move)s")
            % {"number": case.number, "status": case.get_status_display(), "move": move.label}
        )
    if not may(actor, case, name):
        raise PermissionDenied(
            _("您不能对案件 %(number)s 执行“%(move)s”")
            % {"number": case.number, "move": move.label}
        )
    values = dict(changes or {})
    if move.target:
        values["status"] = move.target
    if move.target in FINISHED:
        values |= {"due_at": None, "escalate_at": None, "sweep_at": None, "overdue": False}
    now = timezone.now()
    # The figures' counts it had: the row cannot change unseen before the compare-and-set,
    # which would fail (every change bumps the version).
    before = tally_before([case.pk])
    won = Case.objects.filter(pk=case.pk, version=case.version, status=case.status).update(
        version=F("version") + 1, updated_at=now, **values
    )
    if not won:
        current = Case.objects.filter(pk=case.pk).first()
        raise ValidationError(
            _(
                "案件 %(number)s 刚刚已被他人处理（现为“%(status)s”），您的“%(move)s”未执行，请刷新后查看"
            )
            % {
                "number": case.number,
                "status": current.get_status_display() if current else "—",
                "move": move.label,
            }
        )
    figures_refresh([case.pk], before=before)
    status = case.status
    case.refresh_from_db()
    _event(case, actor, name, before=status, after=case.status, note=note, data=data)
    audit_record(
        actor=actor,
        action=name,
        entity=ENTITY,
        entity_id=case.pk,
        region_code=case.region_id,
        changes={"status": [status, case.status], **(data or {})},
    )
    return case


def _require_text(value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("请填写%(label)s") % {"label": label})
    return value


# Registration


def _allocate_number(county: str, year: int) -> str:
    """The next number of the county's year. The sequence row's update holds its lock until
    the registration commits, so two registrations never get the same number (PostgreSQL:
    row lock; SQLite: the write lock of the immediate transaction)."""
    CaseSequence.objects.bulk_create(
        [CaseSequence(county=county, year=year)], ignore_conflicts=True
    )
    seq = CaseSequence.objects.filter(county=county, year=year)
    seq.update(last=F("last") + 1)
    last = seq.values_list("last", flat=True).get()
    return f"{county}-{year}-{last:05d}"


def _category(code: str) -> CaseCategory:
    category = CaseCategory.objects.filter(code=code, active=True).select_related("parent").first()
    if category is None or category.parent_id is None:
        raise ValidationError(
            {"category": _("案件类别“%(code)s”不存在，请选择二级类别") % {"code": code}}
        )
    return category


def _may_register(actor, region_code: str, source: str) -> None:
    if actor is None:
        return
    if not actor.reaches(region_code):
        raise PermissionDenied(_("该区划不在您的管辖范围内"))
    if actor.can(Cap.WRITE) or (source == Source.SUPERVISION and actor.can(Cap.SUPERVISE)):
        return
    raise PermissionDenied(_("您的角色只能查看，不能登记案件"))


@transaction.atomic
def case_register(
    actor,
    *,
    source: str,
    text: str,
    category_code: str,
    region: Region | None = None,
    household=None,
    people=(),
    source_ref: str = "",
    title: str = "",
    kind: str = "",
    level: str = "",
    public: bool = False,
    leader: User | None = None,
) -> Case:
    """Register a case from any source (a visit, a walk-in, a 12345 transfer ...). Other
    apps call this: ``case_register(actor, source="visit", source_ref="outreach.visit:7",
    household=h, text=..., category_code="housing.repair")``."""
    if household is not None:
        region = region or household.region
        if household.region_id != region.code:
            raise ValidationError({"household": _("所选户不属于该区划")})
    if region is None:
        raise ValidationError({"region": _("请选择案件所属的村（社区）或乡镇")})
    _may_register(actor, region.code, source)
    if source not in Source.values:
        raise ValidationError({"source": _("案件来源“%(s)s”无效") % {"s": source}})
    category = _category(category_code)
    kind = kind or category.kind
    if kind not in Kind.values:
        raise ValidationError({"kind": _("案件性质“%(k)s”无效") % {"k": kind}})
    level = level or LEVEL_OF_REGION.get(region.level, "")
    if level not in CaseLevel.values:
        raise ValidationError({"region": _("案件须属于县、乡镇或村（社区）")})
    if len(region.code.rstrip("0")) > LEVEL_REACH[level] and region.level < Level.COUNTY:
        raise ValidationError({"region": _("案件所属区划无效")})
    text = _require_text(text, _("诉求内容"))
    now = timezone.now()
    case = Case(
        number=_allocate_number(region.code[:6], timezone.localtime(now).year),
        title=(title or text)[:100].strip(),
        text=text,
        source=source,
        source_ref=source_ref,
        kind=kind,
        category=category,
        level=level,
        region=region,
        household=household,
        public=public,
        leader=leader,
        registered_at=now,
        registered_by=actor,
    )
    rule = deadlines.rule_for(case)
    for key, value in deadlines.due_fields(case, deadlines.accept_due(rule, now), rule).items():
        setattr(case, key, value)
    case.save()
    figures_refresh([case.pk])
    if people:
        case.people.set(people)
    if kind == Kind.DISPUTE:
        Dispute.objects.create(case=case)
    _event(case, actor, "register", after=case.status, data={"source": source})
    sources.registered(actor, case)
    audit_record(
        actor=actor,
        action="create",
        entity=ENTITY,
        entity_id=case.pk,
        region_code=region.code,
        changes={
            "number": [None, case.number],
            "kind": [None, kind],
            "category": [None, category.code],
            "level": [None, level],
            "source": [None, source],
        },
    )
    return case


# The moves


@transaction.atomic(durable=True)
def case_assign(
    *,
    actor,
    case: Case,
    unit: OrgUnit | None = None,
    handler: User | None = None,
    leader: User | None = None,
    team=(),
    note: str = "",
) -> Case:
    """派单: to a handling unit and/or a handler, under a responsible leader."""
    if unit is None and handler is None:
        raise ValidationError(_("请选择承办单位或承办人"))
    for person in [handler, leader, *team]:
        if person is not None and not person.reaches(case.region_id) and len(person.reach) > 6:
            raise ValidationError(
                _("%(name)s 的管辖范围不包括该案件所在区划") % {"name": person.display_name}
            )
    changes = {"unit": unit, "handler": handler, "assigned_at": timezone.now()}
    if leader is not None:
        changes["leader"] = leader
    case = _apply(
        actor=actor,
        case=case,
        name="assign",
        changes=changes,
        note=note,
        data={
            "unit": unit.name if unit else "",
            "handler": handler.display_name if handler else "",
        },
    )
    if team:
        case.team.set(team)
    return case


@transaction.atomic(durable=True)
def case_accept(*, actor, case: Case) -> Case:
    """签收: the answer deadline starts now."""
    now = timezone.now()
    rule = deadlines.rule_for(case)
    changes = deadlines.due_fields(case, deadlines.answer_due(rule, now), rule)
    changes |= {
        "accepted_at": now,
        "accepted_on_time": case.due_at is None or now <= case.due_at,
    }
    if case.handler_id is None:
        changes["handler"] = actor
    return _apply(actor=actor, case=case, name="accept", changes=changes)


@transaction.atomic(durable=True)
def case_send_back(*, actor, case: Case, reason: str, basis: str) -> Case:
    """退单: wrongly dispatched, with the reason and its basis, within the rule's limit."""
    reason = _require_text(reason, _("退单理由"))
    basis = _require_text(basis, _("退单依据"))
    rule = deadlines.rule_for(case)
    limit = deadlines.after_workdays(case.assigned_at, rule.sendback_workdays)
    if timezone.now() > limit:
        raise ValidationError(
            _(
                "退单须在派单后 %(n)s 个工作日内提出（截至 %(limit)s），已超过时限，请签收办理或申请升级"
            )
            % {"n": rule.sendback_workdays, "limit": f"{timezone.localtime(limit):%Y-%m-%d %H:%M}"}
        )
    return _apply(
        actor=actor,
        case=case,
        name="send_back",
        changes={"sent_back_count": F("sent_back_count") + 1, "handler": None, "unit": None},
        note=reason,
        data={"basis": basis},
    )


@transaction.atomic(durable=True)
def case_start(*, actor, case: Case, note: str = "") -> Case:
    return _apply(actor=actor, case=case, name="start", note=note)


@transaction.atomic(durable=True)
def case_answer(*, actor, case: Case, outcome: str, answer: str) -> Case:
    """办结反馈, with one of the four outcomes."""
    if outcome not in Outcome.values:
        raise ValidationError(
            {"outcome": _("请选择办理结果（解决到位、解释到位、帮扶到位或依法处理）")}
        )
    answer = _require_text(answer, _("办理情况"))
    now = timezone.now()
    changes = deadlines.due_fields(case, None) | {
        "outcome": outcome,
        "answer": answer,
        "answered_at": now,
        "answered_by": actor,
        "answered_on_time": case.due_at is None or now <= case.due_at,
    }
    return _apply(actor=actor, case=case, name="answer", changes=changes, data={"outcome": outcome})


@transaction.atomic(durable=True)
def case_verify(*, actor, case: Case, passed: bool, note: str = "") -> Case:
    """核查, by someone other than the handler; a failed check sends it back to work."""
    if actor is not None and actor.pk in (case.handler_id, case.answered_by_id):
        raise PermissionDenied(_("核查须由承办人以外的人员进行"))
    if passed:
        changes = {"verified_at": timezone.now(), "verified_by": actor}
        return _apply(actor=actor, case=case, name="verify", changes=changes, note=note)
    note = _require_text(note, _("核查不通过的原因"))
    rule = deadlines.rule_for(case)
    changes = deadlines.due_fields(case, deadlines.answer_due(rule, timezone.now()), rule)
    return _apply(actor=actor, case=case, name="verify_fail", changes=changes, note=note)


def latest_contact(case: Case) -> ReturnContact | None:
    return case.contacts.order_by("-at", "-id").first()


@transaction.atomic(durable=True)
def case_close(*, actor, case: Case, note: str = "") -> Case:
    """销号: only verified by another person and confirmed by the resident's word."""
    if case.verified_by_id is None or case.verified_by_id in (case.handler_id, case.answered_by_id):
        raise ValidationError(_("案件须经承办人以外的人员核查后才能销号"))
    contact = latest_contact(case)
    if contact is None:
        raise ValidationError(_("案件须回访群众、记录满意度后才能销号"))
    if not contact.accepted:
        raise ValidationError(_("群众不满意且无督查人员认定的理由，不能销号"))
    return _apply(
        actor=actor, case=case, name="close", changes={"closed_at": timezone.now()}, note=note
    )


def _unit_for(case: Case, level: str) -> OrgUnit | None:
    digits = LEVEL_REACH[level]
    return OrgUnit.objects.filter(
        region_id=pad(case.region_id[:digits]), kind=UNIT_KIND_OF_LEVEL[level]
    ).first()


def _escalate(*, actor, case: Case, reason: str) -> Case:
    upper = NEXT_LEVEL.get(case.level)
    if upper is None:
        raise ValidationError(_("县级案件已是最高层级，不能再升级"))
    raised = copy.copy(case)  # the rule and the deadline of the new level
    raised.level = upper
    rule = deadlines.rule_for(raised)
    changes = deadlines.due_fields(raised, deadlines.accept_due(rule, timezone.now()), rule)
    unit = _unit_for(case, upper)
    changes |= {
        "level": upper,
        "unit": unit,
        "handler": None,
        "escalated_count": F("escalated_count") + 1,
    }
    case = _apply(
        actor=actor,
        case=case,
        name="escalate",
        changes=changes,
        note=reason,
        data={"level": [case.level, upper]},
    )
    text = _("案件 %(n)s 已升级至%(level)s办理：%(reason)s") % {
        "n": case.number,
        "level": case.get_level_display(),
        "reason": reason,
    }
    _notify(case, text, extra_units=[unit] if unit else [])
    return case


@transaction.atomic(durable=True)
def case_escalate(*, actor, case: Case, reason: str) -> Case:
    """升级: village → township → county (小事不出村、大事不出乡、难事不出县)."""
    return _escalate(actor=actor, case=case, reason=_require_text(reason, _("升级理由")))


@transaction.atomic(durable=True)
def case_merge(*, actor, case: Case, into: Case, reason: str = "") -> Case:
    """重复件: the case ends as merged into another; both keep their histories."""
    if into.pk == case.pk:
        raise ValidationError(_("不能把案件合并到它自身"))
    if not into.is_open or into.merged_into_id:
        raise ValidationError(_("案件 %(n)s 已办结或已合并，不能作为合并目标") % {"n": into.number})
    if into.region_id[:6] != case.region_id[:6] or (actor and not actor.reaches(into.region_id)):
        raise ValidationError(_("只能合并到本辖区内的案件"))
    case = _apply(
        actor=actor,
        case=case,
        name="merge",
        changes={"merged_into": into},
        note=reason,
        data={"into": into.number},
    )
    _event(into, actor, "merged_in", note=reason, data={"from": case.number})
    return case


@transaction.atomic(durable=True)
def case_reopen(*, actor, case: Case, reason: str) -> Case:
    return _reopen(actor=actor, case=case, reason=_require_text(reason, _("重新办理的原因")))


def _reopen(*, actor, case: Case, reason: str, name: str = "reopen") -> Case:
    rule = deadlines.rule_for(case)
    changes = deadlines.due_fields(case, deadlines.answer_due(rule, timezone.now()), rule)
    changes |= {
        "reopened_count": F("reopened_count") + 1,
        "verified_at": None,
        "verified_by": None,
        "closed_at": None,
    }
    return _apply(actor=actor, case=case, name=name, changes=changes, note=reason)


# Return contacts, extensions, supervision


@transaction.atomic(durable=True)
def return_contact_record(
    *, actor, case: Case, rating: str, method: str, note: str = "", exception_reason: str = ""
) -> ReturnContact:
    """回访. "Not satisfied" reopens the case, unless a supervisor records why it should not
    (e.g. the demand has no basis in law and was explained)."""
    from minqing.cases.models import ContactMethod

    if rating not in Rating.values:
        raise ValidationError({"rating": _("请选择满意度")})
    if method not in ContactMethod.values:
        raise ValidationError({"method": _("请选择回访方式")})
    exception_reason = (exception_reason or "").strip()
    if exception_reason:
        if rating != Rating.NOT:
            raise ValidationError({"exception_reason": _("只有“不满意”才需要填写不予重办的理由")})
        if not actor.can(Cap.SUPERVISE):
            raise PermissionDenied(_("只有督查人员可以认定不满意件不予重办"))
    case = _apply(
        actor=actor,
        case=case,
        name="contact",
        changes={"last_rating": rating},
        data={"rating": rating},
    )
    contact = ReturnContact.objects.create(
        case=case,
        by=actor,
        rating=rating,
        method=method,
        note=note.strip(),
        exception_reason=exception_reason,
    )
    if rating == Rating.NOT and not exception_reason:
        _reopen(
            actor=actor,
            case=case,
            name="reopen",
            reason=_("回访不满意：%(note)s") % {"note": note.strip() or "—"},
        )
    return contact


@transaction.atomic(durable=True)
def extension_request(*, actor, case: Case, workdays: int, reason: str) -> Extension:
    if not 1 <= workdays <= 30:
        raise ValidationError({"workdays": _("延期天数须在 1 至 30 个工作日之间")})
    reason = _require_text(reason, _("延期理由"))
    if case.extensions.filter(status=ExtensionStatus.PENDING).exists():
        raise ValidationError(_("该案件已有一份待审批的延期申请"))
    case = _apply(
        actor=actor, case=case, name="extend_request", note=reason, data={"workdays": workdays}
    )
    return Extension.objects.create(case=case, workdays=workdays, reason=reason, requested_by=actor)


@transaction.atomic(durable=True)
def extension_decide(*, actor, extension: Extension, approve: bool, note: str = "") -> Extension:
    """Approval by a manager of the case's level other than the requester; counted."""
    case = extension.case
    if extension.status != ExtensionStatus.PENDING:
        raise ValidationError(_("该延期申请已审批"))
    if actor is not None and actor.pk == extension.requested_by_id:
        raise PermissionDenied(_("不能审批自己提出的延期申请"))
    changes = {}
    if approve:
        rule = deadlines.rule_for(case)
        due = deadlines.after_workdays(case.due_at or timezone.now(), extension.workdays)
        changes = deadlines.due_fields(case, due, rule) | {
            "extension_count": F("extension_count") + 1
        }
    _apply(
        actor=actor,
        case=case,
        name="extend_decide",
        changes=changes,
        note=note,
        data={"approved": approve, "workdays": extension.workdays},
    )
    won = Extension.objects.filter(pk=extension.pk, status=ExtensionStatus.PENDING).update(
        status=ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED,
        decided_by=actor,
        decided_at=timezone.now(),
        decision_note=note,
    )
    if not won:
        raise ValidationError(_("该延期申请已被他人审批"))
    extension.refresh_from_db()
    return extension


@transaction.atomic(durable=True)
def case_supervise(*, actor, case: Case, note: str, until: datetime.date) -> Supervision:
    """挂牌督办: the case stands on the county's board until closed."""
    note = _require_text(note, _("督办要求"))
    if until < timezone.localdate():
        raise ValidationError({"until": _("督办期限不能早于今天")})
    case = _apply(
        actor=actor,
        case=case,
        name="supervise",
        changes={"supervised": True},
        note=note,
        data={"until": until.isoformat()},
    )
    supervision = Supervision.objects.create(case=case, by=actor, note=note, until=until)
    _notify(case, _("案件 %(n)s 已被挂牌督办，督办期限 %(d)s") % {"n": case.number, "d": until})
    return supervision


@transaction.atomic(durable=True)
def case_attach(*, actor, case: Case, upload) -> "Attachment":  # noqa: F821
    from minqing.cases.models import Attachment

    if upload.size > 10 * 1024 * 1024:
        raise ValidationError({"file": _("附件不能超过 10 MB")})
    _apply(actor=actor, case=case, name="attach", data={"file": upload.name})
    return Attachment.objects.create(
        case=case,
        name=upload.name[:200],
        content_type=upload.content_type or "",
        size=upload.size,
        data=upload.read(),
        uploaded_by=actor,
    )


@transaction.atomic
def petition_viewed(*, actor, case: Case, attachment=None) -> None:
    """信访 are personal data: a reader shown a petition's content or one of its files leaves an
    audit row (nothing for other kinds, or when the content was hidden from the reader)."""
    if case.kind != Kind.PETITION or getattr(case, "content_hidden", True):
        return
    what = {"file": [None, attachment.name]} if attachment else {"content": [None, "(已查看)"]}
    audit_record(
        actor=actor,
        action="view_personal",
        entity=ENTITY,
        entity_id=case.pk,
        region_code=case.region_id,
        changes=what,
    )


# Notifications and the sweep


def _notify(case: Case, text: str, *, extra_units=()) -> None:
    """One notice addressed to the leader and the unit (a row carries both), and one to each
    other unit concerned."""
    units = [u.pk for u in extra_units if u.pk != case.unit_id]
    rows = [Notification(case=case, user_id=case.leader_id, unit_id=case.unit_id, text=text[:200])]
    rows += [Notification(case=case, unit_id=pk, text=text[:200]) for pk in units]
    Notification.objects.bulk_create(rows)


@dataclass
class SweepReport:
    marked_overdue: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return _(
            "标记逾期 %(m)s 件，自动升级 %(e)s 件，已由其他进程处理 %(s)s 件，出错 %(x)s 件"
        ) % {
            "m": len(self.marked_overdue),
            "e": len(self.escalated),
            "s": self.skipped,
            "x": len(self.errors),
        }


def _mark_overdue_batch(now, batch: int, report: SweepReport) -> int:
    """Mark one batch of cases whose deadline passed. The rows are claimed with FOR UPDATE
    SKIP LOCKED (PostgreSQL; another sweep takes other rows) and updated only while still
    unmarked, so a case is marked once however many sweeps run."""
    with transaction.atomic():
        claimed = list(
            Case.objects.select_for_update(skip_locked=True)
            .filter(sweep_at__lte=now, overdue=False)
            .exclude(status__in=FINISHED)
            .values_list("id", "number", "region_id", "leader_id", "unit_id", "due_at")[:batch]
        )
        if not claimed:
            return 0
        ids = [row[0] for row in claimed]
        Case.objects.filter(id__in=ids, overdue=False).update(
            overdue=True,
            sweep_at=F("escalate_at"),
            version=F("version") + 1,
            updated_at=now,
        )
        lines, notices = [], []
        at, system = connection.ops.adapt_datetimefield_value(now), _("系统")
        for pk, number, _region, leader, unit, due in claimed:
            text = _("案件 %(n)s 已超过办理期限（%(d)s）") % {
                "n": number,
                "d": f"{timezone.localtime(due):%Y-%m-%d %H:%M}",
            }
            lines.append((pk, at, system, text))
            notices.append((pk, leader, unit, at, text))
            report.marked_overdue.append(number)
        # Thousands of rows: plain INSERTs, not a model per row (most of the sweep's time).
        insert_rows(CaseEvent, ("case_id", "at", "actor_name", "note"), lines, action="overdue")
        insert_rows(Notification, ("case_id", "user_id", "unit_id", "at", "text"), notices)
        # One audit row for the batch (each case's timeline has its own line), by county.
        by_county: dict[str, list[str]] = {}
        for _pk, number, region, *_rest in claimed:
            by_county.setdefault(region[:6], []).append(number)
        for county, numbers in by_county.items():
            audit_record(
                actor=None,
                action="overdue",
                entity=ENTITY,
                region_code=county,
                changes={"overdue": [None, numbers]},
            )
        return len(claimed)


def _escalate_due(now, report: SweepReport) -> None:
    candidates = list(
        Case.objects.filter(sweep_at__lte=now, overdue=True)
        .exclude(status__in=FINISHED)
        .values_list("id", flat=True)
    )
    for pk in candidates:
        try:
            with transaction.atomic():
                case = (
                    Case.objects.select_for_update(skip_locked=True)
                    .filter(pk=pk, sweep_at__lte=now, overdue=True)
                    .select_related("category")
                    .first()
                )
                if case is None:
                    report.skipped += 1
                    continue
                days = (
                    timezone.localtime(now).date() - timezone.localtime(case.due_at).date()
                ).days
                _escalate(
                    actor=None,
                    case=case,
                    reason=_("逾期 %(d)s 天未办结，按规则自动升级") % {"d": days},
                )
                report.escalated.append(case.number)
        except ValidationError as error:
            if "刚刚已被他人处理" in " ".join(error.messages):
                report.skipped += 1
            else:
                report.errors.append(f"{pk}: {'；'.join(error.messages)}")


def sweep(*, now: datetime.datetime | None = None, batch: int = 5000) -> SweepReport:
    """找出逾期案件: mark overdue, escalate those whose rule says so, notify the leader and
    the unit. Safe to run on several workers at once."""
    now = now or timezone.now()
    report = SweepReport()
    while _mark_overdue_batch(now, batch, report) == batch:
        pass
    _escalate_due(now, report)
    return report


# The State Council's holiday arrangement for a year chinesecalendar does not know


def parse_holiday_lines(text: str) -> list[tuple[datetime.date, bool, str]]:
    """One day per line: ``2027-01-01 休 元旦`` (a holiday) or ``2027-02-07 班 春节``
    (a 调休 working weekend). A range ``2027-10-01~2027-10-07 休 国庆节`` is allowed."""
    days, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or parts[1] not in ("休", "班"):
            errors.append(
                _("第 %(n)s 行“%(line)s”格式不对，应为“日期 休/班 节日”")
                % {"n": number, "line": line}
            )
            continue
        try:
            first, _sep, last = parts[0].partition("~")
            start = datetime.date.fromisoformat(first)
            end = datetime.date.fromisoformat(last) if last else start
        except ValueError:
            errors.append(
                _("第 %(n)s 行的日期“%(d)s”无效，应为 2027-01-01 的形式")
                % {"n": number, "d": parts[0]}
            )
            continue
        if end < start or (end - start).days > 15:
            errors.append(_("第 %(n)s 行的日期范围无效") % {"n": number})
            continue
        day = start
        while day <= end:
            days.append((day, parts[1] == "班", parts[2][:20]))
            day += datetime.timedelta(days=1)
    if errors:
        raise ValidationError({"days": errors})
    return days


@transaction.atomic(durable=True)
def holiday_year_save(*, actor, year: int, document: str, days_text: str) -> "HolidayYear":  # noqa: F821
    """Enter (or correct) a year's arrangement. County admins only; audited."""
    from minqing.cases.models import HolidayDay, HolidayYear
    from minqing.lib import workdays

    if actor is not None and not (actor.can(Cap.MANAGE_USERS) and len(actor.reach) <= 6):
        raise PermissionDenied(_("只有县级管理员可以录入节假日安排"))
    if workdays.library_knows(year):
        raise ValidationError(
            {"year": _("%(y)s 年的节假日安排已由内置日历提供，无需录入") % {"y": year}}
        )
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": _("年份 %(y)s 无效") % {"y": year}})
    document = _require_text(document, _("文件名称或文号"))
    days = parse_holiday_lines(days_text)
    if not days:
        raise ValidationError({"days": _("请至少填写一天放假或调休上班的日期")})
    wrong = [d for d, _w, _n in days if d.year != year]
    if wrong:
        raise ValidationError({"days": _("日期 %(d)s 不在 %(y)s 年") % {"d": wrong[0], "y": year}})
    for day, workday, _name in days:
        if workday and day.weekday() < 5:
            raise ValidationError({"days": _("%(d)s 是工作日，不能标为调休上班") % {"d": day}})
    before = list(HolidayDay.objects.filter(year_id=year).values_list("day", "workday"))
    entry, _created = HolidayYear.objects.update_or_create(
        year=year,
        defaults={"document": document, "entered_by": actor, "entered_at": timezone.now()},
    )
    HolidayDay.objects.filter(year=entry).delete()
    HolidayDay.objects.bulk_create(
        [HolidayDay(year=entry, day=d, workday=w, name=n) for d, w, n in days]
    )
    audit_record(
        actor=actor,
        action="holidays",
        entity="cases.holidayyear",
        entity_id=year,
        region_code=actor.reach if actor else "",
        changes={
            "document": [None, document],
            "days": [
                [f"{d} {'班' if w else '休'}" for d, w in before] or None,
                [f"{d} {'班' if w else '休'} {n}" for d, w, n in days],
            ],
        },
    )
    transaction.on_commit(lambda: workdays.forget_year(year))
    return entry


# Disputes and mediation


def _dispute(case: Case) -> Dispute:
    dispute = Dispute.objects.filter(case=case).first()
    if dispute is None:
        raise ValidationError(_("案件 %(n)s 不是矛盾纠纷，没有调解记录") % {"n": case.number})
    return dispute


@transaction.atomic(durable=True)
def dispute_party_add(*, actor, case: Case, name: str, role: str, address: str = ""):
    from minqing.cases.models import DisputeParty, PartyRole

    dispute = _dispute(case)
    if role not in PartyRole.values:
        raise ValidationError({"role": _("请选择当事人身份")})
    name = _require_text(name, _("当事人姓名或名称"))
    _apply(actor=actor, case=case, name="mediate", data={"party": role})
    return DisputeParty.objects.create(dispute=dispute, name=name, role=role, address=address)


@transaction.atomic(durable=True)
def mediation_session_add(
    *, actor, case: Case, held_on: datetime.date, place: str, record: str, mediators=()
):
    from minqing.cases.models import MediationSession

    dispute = _dispute(case)
    if held_on > timezone.localdate():
        raise ValidationError({"held_on": _("调解日期不能晚于今天")})
    place = _require_text(place, _("调解地点"))
    record = _require_text(record, _("调解记录"))
    _apply(actor=actor, case=case, name="mediate", data={"session": held_on.isoformat()})
    if mediators:
        dispute.mediators.add(*mediators)
    return MediationSession.objects.create(
        dispute=dispute, held_on=held_on, place=place, record=record, recorded_by=actor
    )


@dataclass
class Agreement:
    """调解协议书 (人民调解法 第二十九条)."""

    facts: str
    terms: str
    performance_method: str
    perform_by: datetime.date
    signed_on: datetime.date
    signatures: str


@transaction.atomic(durable=True)
def mediation_result_record(
    *, actor, case: Case, result: str, on: datetime.date, agreement: Agreement | None = None
) -> Dispute:
    from minqing.cases.models import MediationResult, Performance

    dispute = _dispute(case)
    if result not in MediationResult.values:
        raise ValidationError({"result": _("请选择调解结果")})
    if not dispute.sessions.exists():
        raise ValidationError(_("请先记录至少一次调解"))
    if dispute.parties.count() < 2:
        raise ValidationError(_("请先登记纠纷双方当事人"))
    fields = {"result": result, "result_on": on}
    if result == MediationResult.AGREEMENT:
        if agreement is None:
            raise ValidationError(_("达成协议的，须填写调解协议内容"))
        for key, label in (
            ("facts", _("纠纷主要事实、争议事项")),
            ("terms", _("达成协议的内容")),
            ("performance_method", _("履行方式")),
            ("signatures", _("签名盖章")),
        ):
            fields[key] = _require_text(getattr(agreement, key), label)
        if agreement.perform_by < agreement.signed_on:
            raise ValidationError({"perform_by": _("履行期限不能早于协议签订日期")})
        fields |= {
            "perform_by": agreement.perform_by,
            "signed_on": agreement.signed_on,
            "performance": Performance.PENDING,
        }
    _apply(
        actor=actor,
        case=case,
        name="mediate",
        changes={"mediation": result},
        data={"result": result},
    )
    for key, value in fields.items():
        setattr(dispute, key, value)
    dispute.save(update_fields=list(fields))
    return dispute


JUDICIAL_DAYS = 30


@transaction.atomic(durable=True)
def judicial_confirmation_apply(*, actor, case: Case, applied_on: datetime.date) -> Dispute:
    """司法确认: the parties apply to the court within 30 days of the agreement taking
    effect (人民调解法 第三十三条)."""
    dispute = _dispute(case)
    if not dispute.signed_on:
        raise ValidationError(_("只有达成调解协议的纠纷才能申请司法确认"))
    late = (applied_on - dispute.signed_on).days
    if late < 0:
        raise ValidationError({"applied_on": _("申请日期不能早于协议签订日期")})
    if late > JUDICIAL_DAYS:
        raise ValidationError(
            {
                "applied_on": _(
                    "司法确认须在调解协议生效之日起 30 日内申请：协议于 %(s)s 签订，%(a)s 已是第 %(d)s 日"
                )
                % {"s": dispute.signed_on, "a": applied_on, "d": late}
            }
        )
    _apply(actor=actor, case=case, name="mediate", data={"judicial_applied_on": str(applied_on)})
    dispute.judicial_applied_on = applied_on
    dispute.save(update_fields=["judicial_applied_on"])
    return dispute


@transaction.atomic(durable=True)
def mediation_performance_check(
    *, actor, case: Case, performance: str, on: datetime.date, note: str = ""
) -> Dispute:
    from minqing.cases.models import Performance

    dispute = _dispute(case)
    if not dispute.signed_on:
        raise ValidationError(_("只有达成调解协议的纠纷才有履行回访"))
    if performance not in Performance.values or performance == Performance.PENDING:
        raise ValidationError({"performance": _("请选择履行情况")})
    _apply(actor=actor, case=case, name="mediate", data={"performance": performance})
    dispute.performance, dispute.performance_checked_on = performance, on
    dispute.performance_note = note.strip()
    dispute.save(update_fields=["performance", "performance_checked_on", "performance_note"])
    return dispute
