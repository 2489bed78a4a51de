"""The ledger as the county's Excel sheet (整改台账): one row per case, in the columns the
campaign office's paper ledger has. Petition content only for readers who may see it."""

import tempfile

from django.db import transaction
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.audit.services import audit_record
from minqing.cases.models import Case, Rating
from minqing.cases.selectors import CaseFilter, case_list, may_read_text
from minqing.lib.excel import write_xlsx
from minqing.regions.models import Region, prefix_q

HEADERS = [
    "序号",
    "案件编号",
    "乡镇（街道）",
    "村（社区）",
    "户主",
    "性质",
    "问题类别",
    "问题描述",
    "层级",
    "来源",
    "登记日期",
    "包案领导",
    "责任单位",
    "办结时限",
    "办理状态",
    "是否逾期",
    "办理结果",
    "办结日期",
    "回访满意度",
    "是否销号",
    "挂牌督办",
    "升级次数",
    "延期次数",
    "备注",
]
WIDTHS = [6, 18, 12, 14, 8, 8, 18, 40, 6, 10, 11, 8, 16, 11, 10, 8, 10, 11, 10, 8, 8, 8, 8, 20]
RATINGS = dict(Rating.choices)


def _day(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d}" if moment else ""


def ledger_rows(user, filters: CaseFilter):
    names = dict(
        Region.objects.filter(prefix_q("code", user.reach[:6]), level__gte=4).values_list(
            "code", "short_name"
        )
    )
    qs = (
        case_list(user, filters)
        .select_related("category__parent", "leader", "unit", "household", "merged_into", "region")
        .order_by("id")
    )
    yes, no = _("是"), _("否")
    for n, case in enumerate(qs.iterator(chunk_size=2000), start=1):
        case: Case
        text = case.text if may_read_text(user, case) else _("（信访内容已隐藏）")
        note = _("已合并至 %(n)s") % {"n": case.merged_into.number} if case.merged_into_id else ""
        yield [
            str(n),
            case.number,
            names.get(case.region_id[:9] + "000", ""),
            names.get(case.region_id, "") if case.region.level == 5 else "",
            case.household.head_name if case.household_id else "",
            case.get_kind_display(),
            str(case.category),
            text,
            case.get_level_display(),
            case.get_source_display(),
            _day(case.registered_at),
            case.leader.display_name if case.leader_id else "",
            case.unit.name if case.unit_id else "",
            _day(case.due_at),
            case.get_status_display(),
            yes if case.overdue else no,
            case.get_outcome_display() if case.outcome else "",
            _day(case.answered_at),
            RATINGS.get(case.last_rating, ""),
            yes if case.status == "closed" else no,
            yes if case.supervised else no,
            str(case.escalated_count),
            str(case.extension_count),
            note,
        ]


def export_ledger(user, filters: CaseFilter) -> FileResponse:
    """The sheet as a download. A reader who may see personal data gets petitions in full, so
    such an export leaves an audit row, like the roll's full export."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    try:
        count = write_xlsx(
            handle, HEADERS, ledger_rows(user, filters), sheet_name="整改台账", widths=WIDTHS
        )
        if user.can_view_personal:
            with transaction.atomic():
                audit_record(
                    actor=user,
                    action="export_personal",
                    entity="cases.case",
                    region_code=filters.region or user.reach,
                    changes={"rows": [None, count]},
                )
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    name = f"整改台账-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(handle, as_attachment=True, filename=name)
