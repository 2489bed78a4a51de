"""Every write of relief and reconstruction. Each service checks the actor's reach and role,
writes its rows and its audit row in one transaction.

From rule to payment: ``ruleset_create`` (a new version) → ``list_compute`` (INSERT … SELECT
per rule line) → ``list_transition`` (审核 → 公示 → 批准 → 对账, with objections in between)
→ ``payment_handover`` / ``bank_batch_create`` + ``bank_result_import``. Paid once is held by
the database (models.Payment ``payment_once_per_cycle``, ExclusiveClaim); the services turn
its refusal into "already paid by … at …".
"""

import datetime
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.access import require_personal, require_write
from minqing.accounts.roles import Cap
from minqing.audit.services import audit_record
from minqing.households.models import Household
from minqing.lib.excel import SpreadsheetError, read_rows
from minqing.regions.models import Level, Region
from minqing.relief.models import (
    STAGE_ORDER,
    BankBatch,
    Cycle,
    Depot,
    Entitlement,
    EntitlementList,
    ExclusiveClaim,
    GrantKind,
    HazardSite,
    ListStatus,
    ListStep,
    MatchMode,
    Material,
    Milestone,
    Objection,
    Payment,
    Programme,
    ProgrammeKind,
    Project,
    ProjectKind,
    RebuildTarget,
    RuleLine,
    RuleSet,
    Stage,
    StockBalance,
    StockMove,
)
from minqing.relief.rules import clean_condition, line_querysets
from minqing.relief.selectors import list_reconciliation

# ---------------------------------------------------------------------------------------------
# Programmes and rules


@dataclass
class LineInput:
    """One rule line as a form, the API or the demo gives it."""

    code: str
    label: str
    kind: str
    condition: dict = field(default_factory=dict)
    amount_fen: int = 0
    material: Material | None = None
    quantity: Decimal = Decimal(0)
    waiver: str = ""
    waiver_months: int = 0


def _audit(actor, action, entity, obj, region_code, changes=None):
    audit_record(
        actor=actor,
        action=action,
        entity=f"relief.{entity}",
        entity_id=obj.pk,
        region_code=region_code,
        changes=changes,
    )


@transaction.atomic
def programme_create(
    *,
    actor,
    name: str,
    kind: str,
    region: Region,
    regions: list[Region],
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
    budget_fen: int = 0,
    exclusive_group: str = "",
    document: str = "",
) -> Programme:
    require_write(actor, region.code)
    if not name.strip():
        raise ValidationError({"name": _("请填写项目名称")})
    if kind not in ProgrammeKind.values:
        raise ValidationError({"kind": _("项目类型无法识别")})
    if ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": _("结束日期早于开始日期")})
    if budget_fen < 0:
        raise ValidationError({"budget_fen": _("预算不能为负数")})
    regions = regions or [region]
    for covered in regions:
        if not covered.code.startswith(region.prefix):
            raise ValidationError(
                {"regions": _("覆盖区划 %(name)s 不在主管区划内") % {"name": covered.name}}
            )
    programme = Programme.objects.create(
        name=name.strip(),
        kind=kind,
        region=region,
        starts_on=starts_on,
        ends_on=ends_on,
        budget_fen=budget_fen,
        exclusive_group=exclusive_group.strip(),
        document=document.strip(),
        created_by=actor,
    )
    programme.regions.set(regions)
    if kind == ProgrammeKind.ONE_OFF:
        Cycle.objects.create(programme=programme, label=_("一次性"), on=starts_on)
    _audit(
        actor,
        "create",
        "programme",
        programme,
        region.code,
        {
            "name": [None, programme.name],
            "kind": [None, kind],
            "regions": [None, [r.code for r in regions]],
            "budget_fen": [None, budget_fen],
            "exclusive_group": [None, programme.exclusive_group],
        },
    )
    return programme


@transaction.atomic
def cycle_create(*, actor, programme: Programme, label: str, on: datetime.date) -> Cycle:
    require_write(actor, programme.region_id)
    if programme.kind == ProgrammeKind.ONE_OFF and programme.cycles.exists():
        raise ValidationError(_("一次性项目只有一个批次"))
    label = label.strip() or on.strftime("%Y-%m")
    if programme.cycles.filter(label=label).exists():
        raise ValidationError({"label": _("批次“%(label)s”已存在") % {"label": label}})
    cycle = Cycle.objects.create(programme=programme, label=label, on=on)
    _audit(actor, "create", "cycle", cycle, programme.region_id, {"label": [None, label]})
    return cycle


def _clean_line(line: LineInput, where: str) -> LineInput:
    if not line.code or not line.code.replace("_", "").replace("-", "").isalnum():
        raise ValidationError(
            _("%(where)s：规则代码只能由字母、数字和下划线组成") % {"where": where}
        )
    if not line.label.strip():
        raise ValidationError(_("%(where)s：请填写规则名称") % {"where": where})
    line.condition = clean_condition(line.condition, where=where)
    if line.kind == GrantKind.CASH:
        if not line.amount_fen or line.amount_fen <= 0:
            raise ValidationError(_("%(where)s：现金金额应大于 0") % {"where": where})
        line.material, line.quantity, line.waiver, line.waiver_months = None, Decimal(0), "", 0
    elif line.kind == GrantKind.MATERIAL:
        if line.material is None or not line.quantity or line.quantity <= 0:
            raise ValidationError(_("%(where)s：请选择物资并填写大于 0 的数量") % {"where": where})
        line.amount_fen, line.waiver, line.waiver_months = 0, "", 0
    elif line.kind == GrantKind.WAIVER:
        if not line.waiver.strip() or not line.waiver_months or line.waiver_months <= 0:
            raise ValidationError(_("%(where)s：请填写减免项目和减免期限（月）") % {"where": where})
        line.amount_fen, line.material, line.quantity = 0, None, Decimal(0)
    else:
        raise ValidationError(_("%(where)s：发放内容无法识别") % {"where": where})
    return line


def clean_lines(lines: list[LineInput]) -> list[LineInput]:
    if not lines:
        raise ValidationError(_("至少需要一条规则"))
    cleaned = [_clean_line(line, _("第 %d 条规则") % i) for i, line in enumerate(lines, 1)]
    codes = [line.code for line in cleaned]
    duplicated = sorted({c for c in codes if codes.count(c) > 1})
    if duplicated:
        raise ValidationError(_("规则代码重复：%s") % "、".join(duplicated))
    return cleaned


@transaction.atomic
def ruleset_create(
    *, actor, programme: Programme, match: str, lines: list[LineInput], note: str = ""
) -> RuleSet:
    """The programme's rules as a new version; lists computed before keep theirs."""
    require_write(actor, programme.region_id)
    if match not in MatchMode.values:
        raise ValidationError({"match": _("匹配方式无法识别")})
    lines = clean_lines(lines)
    # Lock the programme so that two editors cannot both write version n + 1.
    Programme.objects.select_for_update().filter(pk=programme.pk).first()
    last = programme.rulesets.order_by("-version").values_list("version", flat=True).first()
    ruleset = RuleSet.objects.create(
        programme=programme, version=(last or 0) + 1, match=match, note=note, created_by=actor
    )
    RuleLine.objects.bulk_create(
        RuleLine(
            ruleset=ruleset,
            position=i,
            code=line.code,
            label=line.label.strip(),
            condition=line.condition,
            kind=line.kind,
            amount_fen=line.amount_fen,
            material=line.material,
            quantity=line.quantity,
            waiver=line.waiver.strip(),
            waiver_months=line.waiver_months,
        )
        for i, line in enumerate(lines, 1)
    )
    _audit(
        actor,
        "create",
        "ruleset",
        ruleset,
        programme.region_id,
        {
            "programme": [None, programme.pk],
            "version": [None, ruleset.version],
            "match": [None, match],
            "lines": [None, [_line_audit(line) for line in lines]],
        },
    )
    return ruleset


def _line_audit(line) -> dict:
    return {
        "code": line.code,
        "label": line.label,
        "condition": line.condition,
        "kind": line.kind,
        "amount_fen": line.amount_fen,
        "material": line.material.name if line.material else "",
        "quantity": str(line.quantity),
        "waiver": line.waiver,
        "waiver_months": line.waiver_months,
    }


# ---------------------------------------------------------------------------------------------
# Eligibility


def _insert_select(list_id: int, line_ids: list[int], qs) -> int:
    """INSERT INTO entitlement SELECT … FROM (the lines' households): the database does it.
    Lines with the same condition (2 t rebar and 20 t sand for grade D) share one SELECT."""
    select = qs.values("id", "region_id").query
    sql, params = select.get_compiler(connection=connection).as_sql()
    table, lines = Entitlement._meta.db_table, RuleLine._meta.db_table
    marks = ", ".join(["%s"] * len(line_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (entitlement_list_id, line_id, household_id, region_id, excluded)"
            f" SELECT %s, l.id, h.id, h.region_id, %s FROM ({sql}) h, {lines} l"
            f" WHERE l.id IN ({marks})",
            [list_id, False, *params, *line_ids],
        )
        return cursor.rowcount


TRANSITIONS = {
    ListStatus.COMPUTED: {ListStatus.REVIEWED},
    ListStatus.REVIEWED: {ListStatus.NOTICE},
    ListStatus.NOTICE: {ListStatus.APPROVED},
    ListStatus.APPROVED: {ListStatus.RECONCILED},
    ListStatus.RECONCILED: set(),
}


@transaction.atomic
def list_compute(
    *,
    actor,
    programme: Programme,
    cycle: Cycle,
    corrects: EntitlementList | None = None,
    note: str = "",
) -> EntitlementList:
    """The eligible list of one cycle from the programme's current rules, or a correction of
    an approved list (a new list, linked to it; the approved one never changes)."""
    require_write(actor, programme.region_id)
    if cycle.programme_id != programme.pk:
        raise ValidationError(_("批次不属于该项目"))
    ruleset = programme.rulesets.order_by("-version").first()
    if ruleset is None:
        raise ValidationError(_("该项目还没有规则"))
    Cycle.objects.select_for_update().filter(pk=cycle.pk).first()
    open_lists = EntitlementList.objects.filter(cycle=cycle).exclude(
        status__in=[ListStatus.APPROVED, ListStatus.RECONCILED]
    )
    if open_lists.exists():
        raise ValidationError(_("该批次已有未批准的名单，请先完成或更正它"))
    if corrects is not None:
        if corrects.cycle_id != cycle.pk or not corrects.frozen:
            raise ValidationError(_("只能更正本批次已批准的名单"))
        if not note.strip():
            raise ValidationError({"note": _("请说明更正原因")})
    elif EntitlementList.objects.filter(cycle=cycle).exists():
        raise ValidationError(_("该批次已有批准的名单，如需调整请生成更正名单"))
    entitlement_list = EntitlementList.objects.create(
        programme=programme,
        cycle=cycle,
        ruleset=ruleset,
        corrects=corrects,
        note=note.strip(),
        created_by=actor,
    )
    lines = list(ruleset.lines.all())
    groups: dict = {}  # in "all" mode, lines of the same condition are one SELECT
    for line, qs in line_querysets(programme, lines, ruleset.match, cycle.on):
        key = (
            json.dumps(line.condition, sort_keys=True)
            if ruleset.match == MatchMode.ALL
            else line.pk
        )
        groups.setdefault(key, (qs, []))[1].append(line)
    counts = {}
    for qs, group in groups.values():
        inserted = _insert_select(entitlement_list.pk, [line.pk for line in group], qs)
        counts |= {line.code: inserted // len(group) for line in group}
    ListStep.objects.create(
        entitlement_list=entitlement_list, status=ListStatus.COMPUTED, actor=actor, note=note
    )
    _audit(
        actor,
        "compute",
        "list",
        entitlement_list,
        programme.region_id,
        {
            "programme": [None, programme.pk],
            "cycle": [None, cycle.label],
            "version": [None, ruleset.version],
            "counts": [None, counts],
            "corrects": [None, corrects.pk if corrects else None],
        },
    )
    return entitlement_list


@transaction.atomic
def list_transition(
    *, actor, entitlement_list: EntitlementList, to: str, notice_days: int = 0, note: str = ""
) -> EntitlementList:
    """审核, 公示 (for ``notice_days``), 批准 (after the notice and every objection decided),
    对账 (see list_reconcile). Compare-and-set: of two clerks, one moves the list."""
    programme = entitlement_list.programme
    require_write(actor, programme.region_id)
    current = entitlement_list.status
    if to not in TRANSITIONS.get(current, set()):
        raise ValidationError(
            _("名单状态为“%(now)s”，不能改为“%(to)s”")
            % {"now": ListStatus(current).label, "to": ListStatus(to).label}
        )
    today = timezone.localdate()
    changes = {"status": [current, to]}
    fields = {"status": to}
    if to == ListStatus.NOTICE:
        if not notice_days or notice_days < 1:
            raise ValidationError({"notice_days": _("公示期至少 1 天")})
        fields |= {"notice_from": today, "notice_days": notice_days}
        changes["notice_days"] = [None, notice_days]
    if to == ListStatus.APPROVED:
        ends = entitlement_list.notice_from + datetime.timedelta(days=entitlement_list.notice_days)
        if today < ends:
            raise ValidationError(
                _("公示期到 %(day)s 结束，之后才能批准") % {"day": f"{ends:%Y-%m-%d}"}
            )
        if entitlement_list.objections.filter(decision="").exists():
            raise ValidationError(_("还有未处理的异议，处理后才能批准"))
    moved = EntitlementList.objects.filter(pk=entitlement_list.pk, status=current).update(
        changed_at=timezone.now(), **fields
    )
    if not moved:
        raise ValidationError(_("名单已被他人处理，请刷新后再试"))
    for key, value in fields.items():
        setattr(entitlement_list, key, value)
    ListStep.objects.create(entitlement_list=entitlement_list, status=to, actor=actor, note=note)
    _audit(actor, "transition", "list", entitlement_list, programme.region_id, changes)
    return entitlement_list


@transaction.atomic
def objection_record(
    *,
    actor,
    entitlement_list: EntitlementList,
    raised_by: str,
    text: str,
    household: Household | None = None,
    received_on: datetime.date | None = None,
) -> Objection:
    require_write(actor, household.region_id if household else entitlement_list.programme.region_id)
    if entitlement_list.status != ListStatus.NOTICE:
        raise ValidationError(_("只有公示中的名单可以登记异议"))
    if not raised_by.strip() or not text.strip():
        raise ValidationError(_("请填写异议人和异议内容"))
    objection = Objection.objects.create(
        entitlement_list=entitlement_list,
        household=household,
        raised_by=raised_by.strip(),
        text=text.strip(),
        received_on=received_on or timezone.localdate(),
        recorded_by=actor,
    )
    _audit(
        actor,
        "create",
        "objection",
        objection,
        household.region_id if household else entitlement_list.programme.region_id,
        {
            "list": [None, entitlement_list.pk],
            "household": [None, household.pk if household else None],
        },
    )
    return objection


@transaction.atomic
def objection_decide(*, actor, objection: Objection, decision: str, answer: str) -> Objection:
    """An upheld objection about a household on the list takes it off (before approval)."""
    entitlement_list = objection.entitlement_list
    require_write(actor, entitlement_list.programme.region_id)
    if decision not in (Objection.Decision.UPHELD, Objection.Decision.REJECTED):
        raise ValidationError({"decision": _("请选择处理结果")})
    if not answer.strip():
        raise ValidationError({"answer": _("请填写处理意见")})
    if entitlement_list.frozen:
        raise ValidationError(_("名单已批准，不能再处理异议；如需调整请生成更正名单"))
    done = Objection.objects.filter(pk=objection.pk, decision="").update(
        decision=decision, answer=answer.strip(), decided_by=actor, decided_at=timezone.now()
    )
    if not done:
        raise ValidationError(_("该异议已处理"))
    excluded = 0
    if decision == Objection.Decision.UPHELD and objection.household_id:
        excluded = entitlement_list.entitlements.filter(household=objection.household_id).update(
            excluded=True
        )
    objection.refresh_from_db()
    _audit(
        actor,
        "decide",
        "objection",
        objection,
        entitlement_list.programme.region_id,
        {"decision": ["", decision], "answer": ["", objection.answer], "excluded": [0, excluded]},
    )
    return objection


# ---------------------------------------------------------------------------------------------
# Paying once


class AlreadyPaid(ValidationError):
    def __init__(self, payment: Payment):
        self.payment = payment
        who = payment.paid_by.display_name if payment.paid_by else _("系统")
        at = timezone.localtime(payment.paid_at)
        line = payment.entitlement.line
        super().__init__(
            _("已发放过：%(programme)s “%(line)s”已于 %(at)s 由 %(who)s %(how)s，不能重复发放")
            % {
                "programme": payment.programme.name,
                "line": line.label,
                "at": f"{at:%Y-%m-%d %H:%M:%S}",
                "who": who,
                "how": payment.get_method_display(),
            }
        )


def _live_payment(programme_id, line_code, household_id, cycle_id) -> Payment | None:
    return (
        Payment.objects.select_related("paid_by", "programme", "entitlement__line")
        .filter(
            programme_id=programme_id,
            line_code=line_code,
            household_id=household_id,
            cycle_id=cycle_id,
        )
        .exclude(status=Payment.Status.FAILED)
        .first()
    )


def _claim(payment: Payment, programme: Programme) -> None:
    """The exclusive group's claim on the household: refused if another programme has it."""
    try:
        with transaction.atomic():
            ExclusiveClaim.objects.create(
                group=programme.exclusive_group,
                household_id=payment.household_id,
                programme=programme,
                payment=payment,
            )
    except IntegrityError:
        claim = ExclusiveClaim.objects.select_related(
            "payment__paid_by", "payment__programme", "payment__entitlement__line"
        ).get(group=programme.exclusive_group, household_id=payment.household_id)
        if claim.programme_id != programme.pk:
            raise AlreadyPaid(claim.payment) from None


PHOTO_TYPES = {b"\xff\xd8\xff": ".jpg", b"\x89PNG\r\n\x1a\n": ".png"}
PHOTO_MAX = 8 * 1024 * 1024


def store_photo(data: bytes | None, folder: str) -> str:
    """Keep a photo (JPEG or PNG) under VAR_DIR/relief/<folder>/ and return its name."""
    if not data:
        return ""
    if len(data) > PHOTO_MAX:
        raise ValidationError({"photo": _("照片不能超过 8 MB")})
    suffix = next((s for magic, s in PHOTO_TYPES.items() if data.startswith(magic)), None)
    if suffix is None:
        raise ValidationError({"photo": _("照片只能是 JPG 或 PNG 格式")})
    name = f"{folder}/{uuid.uuid4().hex}{suffix}"
    path = settings.VAR_DIR / "relief" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return name


def _issue_stock(*, actor, depot: Depot, material: Material, quantity: Decimal, payment) -> None:
    try:
        with transaction.atomic():
            updated = StockBalance.objects.filter(depot=depot, material=material).update(
                quantity=F("quantity") - quantity
            )
    except IntegrityError:
        updated = -1
    if updated <= 0:
        balance = StockBalance.objects.filter(depot=depot, material=material).first()
        raise ValidationError(
            {
                "depot": _(
                    "%(depot)s 的%(material)s库存不足：需要 %(need)s %(unit)s，结存 %(have)s %(unit)s"
                )
                % {
                    "depot": depot.name,
                    "material": material.name,
                    "need": quantity.normalize(),
                    "have": (balance.quantity if balance else Decimal(0)).normalize(),
                    "unit": material.unit,
                }
            }
        )
    StockMove.objects.create(
        depot=depot,
        material=material,
        kind=StockMove.Kind.ISSUE,
        quantity=-quantity,
        payment=payment,
        source=payment.programme.name,
        actor=actor,
    )


def _payable(actor, entitlement: Entitlement) -> None:
    require_write(actor, entitlement.region_id)
    status = entitlement.entitlement_list.status
    if status != ListStatus.APPROVED:
        raise ValidationError(_("名单尚未批准（或已对账），不能发放"))
    if entitlement.excluded:
        raise ValidationError(_("该户已在公示中被剔除，不能发放"))


@transaction.atomic
def payment_handover(
    *,
    actor,
    entitlement: Entitlement,
    receiver: str,
    proof: str,
    photo: bytes | None = None,
    depot: Depot | None = None,
) -> Payment:
    """现场发放: one line to one household, with the receiver's signature or thumbprint and
    the clerk who handed it over (``actor``). Goods are issued from ``depot``."""
    entitlement = Entitlement.objects.select_related(
        "entitlement_list__programme",
        "entitlement_list__cycle",
        "line__material",
        "line__ruleset",
    ).get(pk=entitlement.pk)
    _payable(actor, entitlement)
    if not receiver.strip():
        raise ValidationError({"receiver": _("请填写领取人姓名")})
    if proof not in Payment.Proof.values:
        raise ValidationError({"proof": _("请选择签字或按手印")})
    line = entitlement.line
    if line.kind == GrantKind.MATERIAL and depot is None:
        raise ValidationError({"depot": _("发放物资请选择出库仓库")})
    entitlement_list = entitlement.entitlement_list
    programme, cycle = entitlement_list.programme, entitlement_list.cycle
    earlier = _live_payment(programme.pk, line.code, entitlement.household_id, cycle.pk)
    if earlier is not None:
        raise AlreadyPaid(earlier)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                entitlement=entitlement,
                programme=programme,
                cycle=cycle,
                line_code=line.code,
                household_id=entitlement.household_id,
                region_id=entitlement.region_id,
                method=Payment.Method.HANDOVER,
                status=Payment.Status.PAID,
                receiver=receiver.strip(),
                proof=proof,
                depot=depot if line.kind == GrantKind.MATERIAL else None,
                paid_by=actor,
                paid_at=timezone.now(),
            )
    except IntegrityError:
        # Another clerk's payment committed between our look and our insert.
        earlier = _live_payment(programme.pk, line.code, entitlement.household_id, cycle.pk)
        if earlier is None:
            raise
        raise AlreadyPaid(earlier) from None
    if programme.exclusive:
        _claim(payment, programme)
    if line.kind == GrantKind.MATERIAL:
        _issue_stock(
            actor=actor,
            depot=depot,
            material=line.material,
            quantity=line.quantity,
            payment=payment,
        )
    payment.photo = store_photo(photo, "handover")
    if payment.photo:
        payment.save(update_fields=["photo"])
    _audit(
        actor,
        "pay",
        "payment",
        payment,
        entitlement.region_id,
        {
            "household": [None, entitlement.household_id],
            "programme": [None, programme.pk],
            "line": [None, line.code],
            "version": [None, line.ruleset.version],
            "cycle": [None, cycle.label],
            "receiver": [None, payment.receiver],
            "proof": [None, proof],
            "depot": [None, depot.name if depot else ""],
        },
    )
    return payment


@transaction.atomic
def bank_batch_create(*, actor, entitlement_list: EntitlementList) -> BankBatch:
    """The cash grants of an approved list not yet paid, as one batch for the bank."""
    programme = entitlement_list.programme
    require_write(actor, programme.region_id)
    require_personal(actor)  # the bank file carries whole ID numbers
    if entitlement_list.status != ListStatus.APPROVED:
        raise ValidationError(_("名单尚未批准（或已对账），不能生成代发文件"))
    live = Payment.objects.filter(
        programme=programme,
        cycle=entitlement_list.cycle_id,
        line_code=OuterRef("line__code"),
        household=OuterRef("household_id"),
    ).exclude(status=Payment.Status.FAILED)
    pending = entitlement_list.entitlements.filter(
        excluded=False, line__kind=GrantKind.CASH
    ).exclude(Exists(live))
    batch = BankBatch.objects.create(entitlement_list=entitlement_list, created_by=actor)
    now = timezone.now()
    Payment.objects.bulk_create(
        (
            Payment(
                entitlement_id=e.pk,
                programme=programme,
                cycle_id=entitlement_list.cycle_id,
                line_code=e.line.code,
                household_id=e.household_id,
                region_id=e.region_id,
                method=Payment.Method.BANK,
                status=Payment.Status.SENT,
                batch=batch,
                paid_by=actor,
                paid_at=now,
            )
            for e in pending.select_related("line").iterator(chunk_size=2000)
        ),
        batch_size=1000,
        ignore_conflicts=True,  # a clerk paid one in between: the constraint keeps theirs
    )
    if programme.exclusive:
        payments = list(batch.payments.all())
        ExclusiveClaim.objects.bulk_create(
            [
                ExclusiveClaim(
                    group=programme.exclusive_group,
                    household_id=p.household_id,
                    programme=programme,
                    payment=p,
                )
                for p in payments
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        other = ExclusiveClaim.objects.filter(
            group=programme.exclusive_group, household=OuterRef("household_id")
        ).exclude(programme=programme)
        batch.payments.filter(Exists(other)).delete()
    count = batch.payments.count()
    if not count:
        raise ValidationError(_("没有待代发的现金项目"))
    _audit(
        actor,
        "create",
        "bank_batch",
        batch,
        programme.region_id,
        {"list": [None, entitlement_list.pk], "payments": [None, count]},
    )
    return batch


BANK_RESULT_HEADER = ("流水号", "结果", "失败原因")
_OK = {"成功", "已支付", "success", "ok"}
_FAILED = {"失败", "退回", "failed"}


@transaction.atomic
def bank_result_import(*, actor, batch: BankBatch, source, filename: str) -> dict:
    """The bank's answer: each row a payment's 流水号 and 成功/失败 (with a reason). All or
    nothing: one bad row and the file is refused with row and column."""
    programme = batch.entitlement_list.programme
    require_write(actor, programme.region_id)
    try:
        rows = list(read_rows(source, filename))
    except SpreadsheetError as error:
        raise ValidationError(str(error)) from None
    if not rows:
        raise ValidationError(_("文件是空的"))
    header_row, header = rows[0]
    columns = {}
    for title in BANK_RESULT_HEADER[:2]:
        if title not in header:
            raise ValidationError(
                _("第 %(row)d 行：缺少“%(title)s”列") % {"row": header_row, "title": title}
            )
        columns[title] = header.index(title)
    reason_col = header.index("失败原因") if "失败原因" in header else None
    pending = {p.pk: p for p in batch.payments.filter(status=Payment.Status.SENT)}
    known = set(batch.payments.values_list("pk", flat=True))
    errors, paid, failed = [], [], []
    for number, cells in rows[1:]:
        cells = list(cells) + [""] * len(header)
        ref, result = cells[columns["流水号"]].strip(), cells[columns["结果"]].strip()
        if not ref and not result:
            continue
        ref_letter = chr(65 + columns["流水号"])
        result_letter = chr(65 + columns["结果"])
        if not ref.isdigit() or int(ref) not in known:
            errors.append(
                _("第 %(row)d 行 %(col)s 列：流水号“%(ref)s”不在本批次")
                % {"row": number, "col": ref_letter, "ref": ref}
            )
            continue
        if int(ref) not in pending:
            errors.append(
                _("第 %(row)d 行 %(col)s 列：流水号 %(ref)s 已处理过")
                % {"row": number, "col": ref_letter, "ref": ref}
            )
            continue
        if result in _OK:
            paid.append(int(ref))
        elif result in _FAILED:
            reason = cells[reason_col].strip() if reason_col is not None else ""
            failed.append((int(ref), reason or _("银行退回")))
        else:
            errors.append(
                _("第 %(row)d 行 %(col)s 列：结果应为“成功”或“失败”，而不是“%(v)s”")
                % {"row": number, "col": result_letter, "v": result}
            )
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    Payment.objects.filter(pk__in=paid).update(status=Payment.Status.PAID, paid_at=now)
    for pk, reason in failed:
        Payment.objects.filter(pk=pk).update(status=Payment.Status.FAILED, failure=reason[:200])
    # A failed payment frees its exclusive claim too, so that it can be paid again.
    ExclusiveClaim.objects.filter(payment_id__in=[pk for pk, _r in failed]).delete()
    batch.result_imported_at = now
    batch.save(update_fields=["result_imported_at"])
    result = {
        "paid": len(paid),
        "failed": len(failed),
        "open": len(pending) - len(paid) - len(failed),
    }
    _audit(actor, "import", "bank_batch", batch, programme.region_id, {"result": [None, result]})
    return result


@transaction.atomic
def list_reconcile(*, actor, entitlement_list: EntitlementList) -> EntitlementList:
    """对账: what the list granted against what was paid, per rule line; refused while the
    bank has not answered for every payment sent."""
    if Payment.objects.filter(
        entitlement__entitlement_list=entitlement_list, status=Payment.Status.SENT
    ).exists():
        raise ValidationError(_("还有银行未回盘的代发记录，导入回盘文件后才能对账"))
    summary = list_reconciliation(entitlement_list)
    EntitlementList.objects.filter(pk=entitlement_list.pk).update(summary=summary)
    entitlement_list.summary = summary
    return list_transition(actor=actor, entitlement_list=entitlement_list, to=ListStatus.RECONCILED)


# ---------------------------------------------------------------------------------------------
# Stock


def _quantity(value, field_name: str) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field_name: _("数量应为数字")}) from None
    if not quantity.is_finite():
        raise ValidationError({field_name: _("数量应为数字")})
    return quantity


@transaction.atomic
def material_create(*, actor, name: str, unit: str) -> Material:
    if actor is not None and not actor.can(Cap.WRITE):
        raise PermissionDenied(_("您的角色只能查看，不能修改台账"))
    if not name.strip() or not unit.strip():
        raise ValidationError(_("请填写物资名称和计量单位"))
    material, created = Material.objects.get_or_create(
        name=name.strip(), defaults={"unit": unit.strip()}
    )
    if created:
        _audit(
            actor,
            "create",
            "material",
            material,
            "",
            {"name": [None, material.name], "unit": [None, material.unit]},
        )
    return material


@transaction.atomic
def depot_create(*, actor, name: str, region: Region) -> Depot:
    require_write(actor, region.code)
    if not name.strip():
        raise ValidationError({"name": _("请填写仓库名称")})
    depot, created = Depot.objects.get_or_create(name=name.strip(), region=region)
    if created:
        _audit(actor, "create", "depot", depot, region.code, {"name": [None, depot.name]})
    return depot


@transaction.atomic
def stock_receive(*, actor, depot: Depot, material: Material, quantity, source: str) -> StockMove:
    """入库: goods received into a depot (a donation, an allocation from above)."""
    require_write(actor, depot.region_id)
    quantity = _quantity(quantity, "quantity")
    if quantity <= 0:
        raise ValidationError({"quantity": _("入库数量应大于 0")})
    if not source.strip():
        raise ValidationError({"source": _("请填写来源（调拨单、捐赠方）")})
    StockBalance.objects.get_or_create(depot=depot, material=material)
    StockBalance.objects.filter(depot=depot, material=material).update(
        quantity=F("quantity") + quantity
    )
    move = StockMove.objects.create(
        depot=depot,
        material=material,
        kind=StockMove.Kind.RECEIPT,
        quantity=quantity,
        source=source.strip(),
        actor=actor,
    )
    _audit(
        actor,
        "receive",
        "stock",
        move,
        depot.region_id,
        {
            "material": [None, material.name],
            "quantity": [None, str(quantity)],
            "source": [None, move.source],
        },
    )
    return move


@transaction.atomic
def stock_count(
    *, actor, depot: Depot, material: Material, counted, reason: str
) -> StockMove | None:
    """盘点: the counted quantity replaces the balance; the difference is recorded with its
    reason. None when the count agrees."""
    require_write(actor, depot.region_id)
    counted = _quantity(counted, "counted")
    if counted < 0:
        raise ValidationError({"counted": _("盘点数量不能为负数")})
    balance, _created = StockBalance.objects.select_for_update().get_or_create(
        depot=depot, material=material
    )
    difference = counted - balance.quantity
    if not difference:
        return None
    if not reason.strip():
        raise ValidationError({"reason": _("账实不符，请填写差异原因")})
    balance.quantity = counted
    balance.save(update_fields=["quantity"])
    move = StockMove.objects.create(
        depot=depot,
        material=material,
        kind=StockMove.Kind.COUNT,
        quantity=difference,
        source=reason.strip(),
        actor=actor,
    )
    _audit(
        actor,
        "count",
        "stock",
        move,
        depot.region_id,
        {
            "material": [None, material.name],
            "difference": [None, str(difference)],
            "reason": [None, move.source],
        },
    )
    return move


# ---------------------------------------------------------------------------------------------
# Reconstruction


@transaction.atomic
def project_create(*, actor, household: Household, kind: str) -> Project:
    require_write(actor, household.region_id)
    if kind not in ProjectKind.values:
        raise ValidationError({"kind": _("重建方式无法识别")})
    grade = getattr(getattr(household, "dwelling", None), "grade", "")
    if grade not in ("C", "D") and kind != ProjectKind.RELOCATE:
        raise ValidationError(_("只有 C 级、D 级危房（或搬迁户）才能建立重建项目"))
    if kind == ProjectKind.REPAIR and grade == "D":
        raise ValidationError({"kind": _("D 级危房应拆除重建，不能只维修加固")})
    if Project.objects.filter(household=household).exists():
        raise ValidationError(_("该户已有重建项目"))
    project = Project.objects.create(
        household=household, region_id=household.region_id, kind=kind, grade=grade, created_by=actor
    )
    _audit(
        actor,
        "create",
        "project",
        project,
        household.region_id,
        {"kind": [None, kind], "grade": [None, grade]},
    )
    return project


@transaction.atomic
def milestone_record(
    *,
    actor,
    project: Project,
    stage: str,
    on: datetime.date,
    photo: bytes | None = None,
    note: str = "",
) -> Milestone:
    """A milestone with its date, photo and recorder; the project's stage is the furthest one."""
    require_write(actor, project.region_id)
    if stage not in Stage.values:
        raise ValidationError({"stage": _("进度节点无法识别")})
    if on > timezone.localdate():
        raise ValidationError({"on": _("日期不能晚于今天")})
    if project.milestones.filter(stage=stage).exists():
        raise ValidationError({"stage": _("“%s”已登记") % Stage(stage).label})
    milestone = Milestone.objects.create(
        project=project,
        stage=stage,
        on=on,
        photo=store_photo(photo, "milestones"),
        note=note.strip(),
        recorded_by=actor,
    )
    if not project.stage or STAGE_ORDER[stage] > STAGE_ORDER[project.stage]:
        project.stage, project.stage_on = stage, on
        project.save(update_fields=["stage", "stage_on"])
    _audit(
        actor,
        "milestone",
        "project",
        project,
        project.region_id,
        {"stage": [None, stage], "on": [None, on.isoformat()]},
    )
    return milestone


@transaction.atomic
def target_set(
    *, actor, township: Region, target_percent: int, deadline: datetime.date
) -> RebuildTarget:
    require_write(actor, township.code)
    if township.level != Level.TOWNSHIP:
        raise ValidationError({"township": _("目标只能按乡镇（街道）设定")})
    if not 0 < target_percent <= 100:
        raise ValidationError({"target_percent": _("目标完成率应在 1–100 之间")})
    target, _created = RebuildTarget.objects.update_or_create(
        township=township, defaults={"target_percent": target_percent, "deadline": deadline}
    )
    _audit(
        actor,
        "set",
        "target",
        target,
        township.code,
        {"target_percent": [None, target_percent], "deadline": [None, deadline.isoformat()]},
    )
    return target


# ---------------------------------------------------------------------------------------------
# Hazard sites

HAZARD_FIELDS = [
    "code",
    "name",
    "kind",
    "location",
    "longitude",
    "latitude",
    "scale",
    "volume_m3",
    "trigger",
    "danger_zone",
    "monitor_name",
    "monitor_phone",
    "warning_signal",
    "warning_by",
    "warning_phone",
    "evacuation_route",
    "shelter",
    "decision",
    "progress",
    "progress_note",
]


@transaction.atomic
def hazard_site_save(
    *,
    actor,
    region: Region,
    values: dict,
    households: list[Household],
    site: HazardSite | None = None,
) -> HazardSite:
    """Create or update a hazard site and the households it threatens (each within reach and
    in the site's township)."""
    require_write(actor, region.code)
    if site is not None:
        require_write(actor, site.region_id)
    if region.level != Level.VILLAGE:
        raise ValidationError({"region": _("隐患点应属于一个村（社区）")})
    township = region.code[:9]
    for household in households:
        if not household.region_id.startswith(township):
            raise ValidationError(
                {"households": _("受威胁户 %(name)s 不在该乡镇") % {"name": household.head_name}}
            )
    progress = int(values.get("progress") or 0)
    if not 0 <= progress <= 100:
        raise ValidationError({"progress": _("处置进度应在 0–100 之间")})
    duplicate = HazardSite.objects.filter(code=values.get("code", "")).exclude(
        pk=getattr(site, "pk", None)
    )
    if duplicate.exists():
        raise ValidationError({"code": _("隐患点编号已存在")})
    before = {f: str(getattr(site, f)) for f in HAZARD_FIELDS} if site else {}
    site = site or HazardSite(region=region)
    site.region = region
    for name in HAZARD_FIELDS:
        if name in values:
            setattr(site, name, values[name])
    site.full_clean(exclude=["households"])
    site.save()
    site.households.set(households)
    after = {f: str(getattr(site, f)) for f in HAZARD_FIELDS}
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    changes["households"] = [None, sorted(h.pk for h in households)]
    _audit(actor, "update" if before else "create", "hazard_site", site, region.code, changes)
    return site
