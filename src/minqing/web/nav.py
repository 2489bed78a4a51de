"""The navigation: each entry names the capability it needs, so a user sees only what their
role may use. Apps add their entries from ``AppConfig.ready()`` with ``register_nav``; the
order number places them, and its tens digit groups them into one top-bar menu (the registry
10-19, outreach 20-29, cases 30-39, relief 40-49, administration 90 and up)."""

from dataclasses import dataclass
from itertools import groupby

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import Cap


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    cap: str | None = None  # None: every signed-in user
    order: int = 50


NAV = [
    NavItem(_("首页"), "web:home", order=0),
    NavItem(_("户籍台账"), "households:list", order=10),
    NavItem(_("导入花名册"), "roll:upload", Cap.WRITE, order=11),
    NavItem(_("行政区划"), "regions:browse", order=80),
    NavItem(_("用户管理"), "accounts:users", Cap.MANAGE_USERS, order=90),
    NavItem(_("单位"), "accounts:units", Cap.MANAGE_USERS, order=91),
    NavItem(_("审计日志"), "audit:log", Cap.READ_AUDIT, order=92),
]


# The menus of the top bar, by the tens digit of an entry's order. A group without a label, or
# with one visible entry, shows its entries as plain links.
GROUP_LABELS = {
    1: _("户籍"),
    2: _("走访"),
    3: _("案件"),
    4: _("救助重建"),
    9: _("系统"),
}


def register_nav(*items: NavItem) -> None:
    for item in items:
        if item not in NAV:
            NAV.append(item)
    NAV.sort(key=lambda item: item.order)


def nav_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    return [
        {
            "label": item.label,
            "url": reverse(item.url_name),
            "name": item.url_name,
            "group": item.order // 10,
        }
        for item in NAV
        if item.cap is None or user.can(item.cap)
    ]


def nav_groups(user, current: str) -> list[dict]:
    """The top bar: ``[{"label", "items", "current"}]``; a label of None means plain links."""
    groups = []
    for number, entries in groupby(nav_for(user), key=lambda entry: entry["group"]):
        entries = list(entries)
        label = GROUP_LABELS.get(number) if len(entries) > 1 else None
        groups.append(
            {
                "label": label,
                "items": entries,
                "current": any(entry["name"] == current for entry in entries),
            }
        )
    return groups


def navigation(request):
    """Context processor."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    current = request.resolver_match.view_name if request.resolver_match else ""
    return {"nav_groups": nav_groups(user, current), "nav_current": current}
