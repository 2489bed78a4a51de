"""The navigation: each entry names the capability it needs, so a user sees only what their
role may use. Later apps add their entries here."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import Cap


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    cap: str | None = None  # None: every signed-in user


NAV = [
    NavItem(_("首页"), "web:home"),
    NavItem(_("户籍台账"), "households:list"),
    NavItem(_("导入花名册"), "roll:upload", Cap.WRITE),
    NavItem(_("行政区划"), "regions:browse"),
    NavItem(_("用户管理"), "accounts:users", Cap.MANAGE_USERS),
    NavItem(_("单位"), "accounts:units", Cap.MANAGE_USERS),
    NavItem(_("审计日志"), "audit:log", Cap.READ_AUDIT),
]


def nav_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    return [
        {"label": item.label, "url": reverse(item.url_name), "name": item.url_name}
        for item in NAV
        if item.cap is None or user.can(item.cap)
    ]


def navigation(request):
    """Context processor."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    current = request.resolver_match.view_name if request.resolver_match else ""
    return {"nav_items": nav_for(user), "nav_current": current}
