"""What the home page lists under "今日待办": each app contributes a provider that returns the
items for one user. Apps add theirs from ``AppConfig.ready()`` with ``register_today``."""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from minqing.accounts.roles import Cap
from minqing.accounts.selectors import users_in_reach
from minqing.audit.selectors import audit_in_reach


@dataclass(frozen=True)
class TodayItem:
    title: str
    count: int
    url: str
    hint: str = ""


def _locked_accounts(user) -> list[TodayItem]:
    if not user.can(Cap.MANAGE_USERS):
        return []
    locked = users_in_reach(user).filter(locked_until__gt=timezone.now()).count()
    if not locked:
        return []
    return [
        TodayItem(
            gettext("被锁定的账户"),
            locked,
            reverse("accounts:users") + "?locked=1",
            gettext("连续登录失败被锁定，核实身份后可解锁"),
        )
    ]


def _audit_today(user) -> list[TodayItem]:
    if not user.can(Cap.READ_AUDIT):
        return []
    today = timezone.localdate()
    count = audit_in_reach(user).filter(at__date=today).count()
    return [
        TodayItem(
            gettext("今日操作记录"),
            count,
            reverse("audit:log") + f"?date={today:%Y-%m-%d}",
            gettext("管辖范围内今天的新增、修改和登录"),
        )
    ]


PROVIDERS: list[Callable] = [_locked_accounts, _audit_today]


def register_today(provider: Callable) -> None:
    """``provider(user) -> list[TodayItem]``."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def today_for(user) -> list[TodayItem]:
    return [item for provider in PROVIDERS for item in provider(user)]
