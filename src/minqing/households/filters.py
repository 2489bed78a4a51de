"""The household list's filters read from a query string: one parser for the list page, the
API and the Excel export, so the three always agree on what a filter means and say the same
thing, in Chinese, when one is wrong."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minqing.households.models import SafetyGrade
from minqing.households.selectors import HouseholdFilter, visible_categories
from minqing.regions.codes import is_code, prefix_of
from minqing.regions.forms import deepest_choice

# The names of the parameters, in the order a form shows them.
PARAMS = ("q", "region", "category", "on", "grade", "members_min", "members_max", "state")
# 户状态: the current households (the default), the closed ones (销户), or both.
STATES = {"": gettext_lazy("在册"), "closed": gettext_lazy("已销户"), "all": gettext_lazy("全部")}
MAX_MEMBERS = 99


def _text(params, name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value).strip()


def _region(params) -> str:
    # The region picker sends one value per level (the deepest chosen wins); a plain select
    # or an API call sends one.
    if hasattr(params, "getlist"):
        return deepest_choice(params.getlist("region"))
    return _text(params, "region")


def _count(value: str, errors: dict, name: str, label: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) > MAX_MEMBERS:
        errors[name] = _("%(label)s“%(value)s”应为 0 到 %(max)d 之间的整数") % {
            "label": label,
            "value": value,
            "max": MAX_MEMBERS,
        }
        return None
    return int(value)


def household_filter_from_params(user, params) -> tuple[HouseholdFilter, dict[str, str]]:
    """A HouseholdFilter for ``user`` from ``params`` (a QueryDict or a plain dict), and the
    errors by parameter name. A wrong parameter is left out of the filter, so a caller that
    chooses to go on shows the rest of the list rather than nothing."""
    errors: dict[str, str] = {}

    region = _region(params)
    if region:
        if not is_code(region):
            errors["region"] = _("区划代码“%(code)s”格式不正确，应为12位数字") % {"code": region}
            region = ""
        elif not user.reaches(region):
            errors["region"] = _("区划“%(code)s”不在您的管辖范围内") % {"code": region}
            region = ""
        else:
            region = prefix_of(region)

    category = None
    code = _text(params, "category")
    if code:
        # A sensitive category is "not found" for a user who may not see it: the same answer
        # as a made-up code, so the refusal tells nothing.
        category = visible_categories(user).filter(code=code).first()
        if category is None:
            errors["category"] = _("人员类别“%(code)s”不存在") % {"code": code}

    on = None
    raw_on = _text(params, "on")
    if raw_on:
        try:
            on = datetime.date.fromisoformat(raw_on)
        except ValueError:
            errors["on"] = _("日期“%(value)s”格式不正确，应为“年-月-日”，如 2026-03-01") % {
                "value": raw_on
            }
    if category is not None and on is None:
        on = timezone.localdate()

    grade = _text(params, "grade").upper()
    if grade and grade not in SafetyGrade.values:
        errors["grade"] = _("危房等级“%(value)s”不存在，应为 A、B、C 或 D") % {"value": grade}
        grade = ""

    members_min = _count(_text(params, "members_min"), errors, "members_min", _("最少人口"))
    members_max = _count(_text(params, "members_max"), errors, "members_max", _("最多人口"))
    if members_min is not None and members_max is not None and members_min > members_max:
        errors["members_max"] = _("最多人口不能少于最少人口")
        members_max = None

    state = _text(params, "state")
    if state not in STATES:
        errors["state"] = _("户状态“%(value)s”不存在，应为 closed（已销户）或 all（全部）") % {
            "value": state
        }
        state = ""

    q = _text(params, "q")[:50]
    return (
        HouseholdFilter(
            region=region,
            category=category,
            on=on,
            grade=grade,
            members_min=members_min,
            members_max=members_max,
            q=q,
            state=state,
        ),
        errors,
    )
