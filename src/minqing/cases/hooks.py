"""What the case ledger adds to the rest of minqing (called from CasesConfig.ready)."""

from django.urls import reverse
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import Cap
from minqing.cases.workflow import MOVES


def _holidays_missing(user) -> list:
    """From October on, a county admin is reminded to enter next year's arrangement: 15
    working days from mid-December already reach into the next year."""
    from django.utils import timezone

    from minqing.cases.models import HolidayYear
    from minqing.lib.workdays import library_knows
    from minqing.web.today import TodayItem

    if not user.can(Cap.MANAGE_USERS):
        return []
    today = timezone.localdate()
    year = today.year + 1
    if today.month < 10 or library_knows(year) or HolidayYear.objects.filter(year=year).exists():
        return []
    return [
        TodayItem(
            gettext("%(y)s 年节假日安排尚未录入") % {"y": year},
            1,
            reverse("cases:holidays"),
            gettext("跨年的办理期限无法计算，请按国务院办公厅通知录入"),
        )
    ]


def _today(user) -> list:
    from minqing.cases.selectors import my_counts
    from minqing.web.today import TodayItem

    titles = {
        "assign": gettext("待派单的案件"),
        "accept": gettext("待签收的案件"),
        "act": gettext("正在办理的案件"),
        "verify": gettext("待核查的案件"),
        "call_back": gettext("待回访的案件"),
        "close": gettext("待销号的案件"),
    }
    from minqing.cases.notices import unread_count

    items = _holidays_missing(user)
    unread = unread_count(user)
    if unread:
        items.append(
            TodayItem(
                gettext("未读的案件提醒"),
                unread,
                reverse("cases:mine") + "#notifications",
                gettext("逾期和升级的通知"),
            )
        )
    for key, (count, overdue) in my_counts(user).items():
        if count:
            hint = gettext("其中 %(n)s 件已逾期") % {"n": overdue} if overdue else ""
            items.append(TodayItem(titles[key], count, reverse("cases:mine") + f"#{key}", hint))
    return items


def register() -> None:
    from minqing.audit.views import register_audit_labels
    from minqing.cases.demo import build_demo_cases
    from minqing.cases.views import household_section
    from minqing.demo.steps import register_step
    from minqing.households.sections import register_section
    from minqing.web.nav import NavItem, register_nav
    from minqing.web.today import register_today

    register_nav(
        NavItem(_("整改台账"), "cases:ledger", order=30),
        NavItem(_("我的案件"), "cases:mine", order=31),
        NavItem(_("挂牌督办"), "cases:board", order=32),
        NavItem(_("案件统计"), "cases:figures", order=33),
        NavItem(_("节假日安排"), "cases:holidays", Cap.MANAGE_USERS, order=93),
    )
    register_today(_today)
    register_section(order=30, build=household_section)
    register_step(order=30, build=build_demo_cases)
    register_audit_labels(
        entities={
            "cases.case": pgettext_lazy("audit entity", "案件"),
            "cases.holidayyear": pgettext_lazy("audit entity", "节假日安排"),
            "cases.notification": pgettext_lazy("audit entity", "案件提醒"),
        },
        actions={name: move.label for name, move in MOVES.items()}
        | {
            "register": _("登记"),
            "overdue": _("逾期"),
            "merged_in": _("并入重复件"),
            "holidays": _("录入节假日安排"),
            "read": _("标为已读"),
        },
    )
