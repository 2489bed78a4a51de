"""Excel exports of the relief lists, in the columns a county sends upward (序号 first, the
township and village spelled out, amounts in yuan). Rows are streamed from ``.iterator()``
into lib/excel.write_xlsx, so a county-wide list costs constant memory.

Only the bank file carries whole ID numbers: it needs the personal-data permission and its
download is audited."""

import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db import transaction
from django.http import FileResponse
from django.utils import timezone

from minqing.accounts.access import require_personal
from minqing.audit.services import audit_record
from minqing.households.models import Person
from minqing.lib.excel import write_xlsx
from minqing.regions.codes import pad
from minqing.regions.models import Region, prefix_q
from minqing.relief.models import BankBatch, EntitlementList, GrantKind, Payment
from minqing.relief.selectors import (
    entitlements_in_reach,
    hazard_sites_in_reach,
    projects_in_reach,
    stock_balances,
)

Rows = tuple[list[str], Iterable[list]]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(rows: Rows, filename: str) -> FileResponse:
    header, body = rows
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_xlsx(handle, header, body)
    handle.seek(0)
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX)
    response["Cache-Control"] = "no-store"
    return response


def _names(prefix: str) -> dict[str, str]:
    return dict(
        Region.objects.filter(prefix_q("code", prefix), level__in=[4, 5]).values_list(
            "code", "short_name"
        )
    )


def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def grant_text(line) -> str:
    if line.kind == GrantKind.CASH:
        return f"{yuan(line.amount_fen)} 元"
    if line.kind == GrantKind.MATERIAL:
        return f"{line.material.name} {line.quantity.normalize()} {line.material.unit}"
    return f"免{line.waiver} {line.waiver_months} 个月"


def list_rows(user, entitlement_list: EntitlementList) -> Rows:
    names = _names(user.reach[:6])
    header = [
        "序号",
        "乡镇（街道）",
        "村（社区）",
        "户主",
        "家庭住址",
        "家庭人口",
        "规则",
        "发放内容",
        "规则版本",
        "状态",
        "发放方式",
        "领取人",
        "发放时间",
        "经办人",
    ]
    # One query for the cycle's payments within reach, not one per row.
    payments = {
        (p.household_id, p.line_code): p
        for p in Payment.objects.filter(
            prefix_q("region_id", user.reach),
            programme_id=entitlement_list.programme_id,
            cycle_id=entitlement_list.cycle_id,
        )
        .exclude(status=Payment.Status.FAILED)
        .select_related("paid_by")
    }

    def body() -> Iterator[list]:
        rows = (
            entitlements_in_reach(user, entitlement_list)
            .select_related("household", "line__material")
            .order_by("region_id", "household_id", "line__position")
        )
        for n, e in enumerate(rows.iterator(chunk_size=2000), 1):
            paid = payments.get((e.household_id, e.line.code))
            yield [
                str(n),
                names.get(pad(e.region_id[:9]), ""),
                names.get(e.region_id, e.region_id),
                e.household.head_name,
                e.household.address,
                str(e.household.member_count),
                e.line.label,
                grant_text(e.line),
                f"v{entitlement_list.ruleset.version}",
                "已剔除" if e.excluded else (paid.get_status_display() if paid else "未发放"),
                paid.get_method_display() if paid else "",
                paid.receiver if paid else "",
                f"{timezone.localtime(paid.paid_at):%Y-%m-%d %H:%M}" if paid else "",
                paid.paid_by.display_name if paid and paid.paid_by else "",
            ]

    return header, body()


@transaction.atomic
def bank_rows(user, batch: BankBatch) -> Rows:
    """代发文件: the batch's payments with the head's whole ID number (audited)."""
    require_personal(user)
    payments = list(
        batch.payments.filter(prefix_q("region_id", user.reach), status=Payment.Status.SENT)
        .select_related("household", "entitlement__line")
        .order_by("id")
    )
    heads = Person.objects.in_bulk([p.household.head_id for p in payments if p.household.head_id])
    audit_record(
        actor=user,
        action="export_personal",
        entity="relief.bank_batch",
        entity_id=batch.pk,
        region_code=user.reach,
        changes={"payments": [None, len(payments)]},
    )
    names = _names(user.reach[:6])
    header = ["流水号", "户主", "身份证号", "金额（元）", "用途", "村（社区）", "结果", "失败原因"]
    rows = [
        [
            str(p.pk),
            p.household.head_name,
            heads[p.household.head_id].id_number if p.household.head_id in heads else "",
            yuan(p.entitlement.line.amount_fen),
            p.entitlement.line.label,
            names.get(p.region_id, p.region_id),
            "",
            "",
        ]
        for p in payments
    ]
    return header, rows


def stock_rows(user) -> Rows:
    header = ["序号", "仓库", "物资", "计量单位", "结存"]
    rows = [
        [str(n), b.depot.name, b.material.name, b.material.unit, str(b.quantity.normalize())]
        for n, b in enumerate(stock_balances(user), 1)
    ]
    return header, rows


def project_rows(user) -> Rows:
    names = _names(user.reach[:6])
    header = [
        "序号",
        "乡镇（街道）",
        "村（社区）",
        "户主",
        "危房等级",
        "重建方式",
        "当前进度",
        "进度日期",
    ]

    def body():
        qs = projects_in_reach(user).select_related("household").order_by("region_id", "id")
        for n, p in enumerate(qs.iterator(chunk_size=2000), 1):
            yield [
                str(n),
                names.get(pad(p.region_id[:9]), ""),
                names.get(p.region_id, p.region_id),
                p.household.head_name,
                p.grade,
                str(p.get_kind_display()),
                str(p.get_stage_display()) if p.stage else "未开工",
                f"{p.stage_on:%Y-%m-%d}" if p.stage_on else "",
            ]

    return header, body()


def hazard_rows(user) -> Rows:
    names = _names(user.reach[:6])
    header = [
        "序号",
        "编号",
        "名称",
        "乡镇（街道）",
        "村（社区）",
        "类型",
        "位置",
        "经度",
        "纬度",
        "规模等级",
        "规模（立方米）",
        "诱发因素",
        "威胁范围",
        "威胁户数",
        "监测人",
        "监测人电话",
        "预警信号",
        "预警信号发布人",
        "发布人电话",
        "撤离路线",
        "避险场所",
        "处置措施",
        "处置进度（%）",
    ]
    rows = []
    for n, s in enumerate(hazard_sites_in_reach(user).prefetch_related("households"), 1):
        rows.append(
            [
                str(n),
                s.code,
                s.name,
                names.get(pad(s.region_id[:9]), ""),
                names.get(s.region_id, s.region_id),
                str(s.get_kind_display()),
                s.location,
                str(s.longitude or ""),
                str(s.latitude or ""),
                str(s.get_scale_display()),
                str(s.volume_m3),
                s.trigger,
                s.danger_zone,
                str(len(s.households.all())),
                s.monitor_name,
                s.monitor_phone,
                s.warning_signal,
                s.warning_by,
                s.warning_phone,
                s.evacuation_route,
                s.shelter,
                str(s.get_decision_display()),
                str(s.progress),
            ]
        )
    return header, rows
