"""The ledger's filters read from a query string: one parser for the page, the API and the
Excel export, so that all three agree and say the same thing, in Chinese, when one is wrong."""

import datetime

from django.utils.translation import gettext as _

from minqing.cases.figures import FIGURES
from minqing.cases.models import CaseLevel, Kind, Status
from minqing.cases.selectors import CaseFilter
from minqing.regions.codes import prefix_of

PARAMS = (
    "q",
    "region",
    "level",
    "kind",
    "category",
    "status",
    "due_before",
    "overdue",
    "supervised",
    "unit",
    "leader",
    "from",
    "to",
    "figure",
    "part",
)
TRUE = ("1", "true", "on", "yes")


def _text(params, name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value).strip()


def _date(params, name: str, label: str, errors: dict) -> datetime.date | None:
    value = _text(params, name)
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        errors[name] = _("%(label)s“%(value)s”不是有效日期，应为 2026-10-08 的形式") % {
            "label": label,
            "value": value,
        }
        return None


def _id(params, name: str, label: str, errors: dict) -> int | None:
    value = _text(params, name)
    if not value:
        return None
    if not value.isdigit():
        errors[name] = _("%(label)s“%(value)s”无效") % {"label": label, "value": value}
        return None
    return int(value)


def _choice(params, name, label, allowed, errors) -> str:
    value = _text(params, name)
    if value and value not in allowed:
        errors[name] = _("%(label)s“%(value)s”无效") % {"label": label, "value": value}
        return ""
    return value


def case_filter_from_params(user, params) -> tuple[CaseFilter, dict[str, str]]:
    errors: dict[str, str] = {}
    region = _text(params, "region")
    if region and (not region.isdigit() or len(region) > 12):
        errors["region"] = _("区划代码“%(code)s”格式不正确") % {"code": region}
        region = ""
    elif region and not (region.startswith(user.reach) or user.reach.startswith(region)):
        errors["region"] = _("区划“%(code)s”不在您的管辖范围内") % {"code": region}
        region = ""
    return (
        CaseFilter(
            region=prefix_of(region) if len(region) == 12 else region,
            level=_choice(params, "level", _("层级"), CaseLevel.values, errors),
            kind=_choice(params, "kind", _("性质"), Kind.values, errors),
            category=_text(params, "category"),
            status=_choice(params, "status", _("状态"), [*Status.values, "open"], errors),
            due_before=_date(params, "due_before", _("期限截至"), errors),
            overdue=_text(params, "overdue") in TRUE,
            supervised=_text(params, "supervised") in TRUE,
            unit=_id(params, "unit", _("承办单位"), errors),
            leader=_id(params, "leader", _("包案领导"), errors),
            registered_from=_date(params, "from", _("登记日期从"), errors),
            registered_to=_date(params, "to", _("登记日期至"), errors),
            q=_text(params, "q")[:50],
            figure=_choice(params, "figure", _("指标"), list(FIGURES), errors),
            part=_choice(params, "part", _("指标"), ["num", "den"], errors) or "num",
        ),
        errors,
    )
