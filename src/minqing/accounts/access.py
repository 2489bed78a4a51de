"""The checks every service makes before it writes, in one place."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from minqing.accounts.roles import Cap


def require_write(actor, region_code: str) -> None:
    """The actor may change records of this region; ``actor=None`` is the command line."""
    if actor is None:
        return
    if not actor.can(Cap.WRITE):
        raise PermissionDenied(_("您的角色只能查看，不能修改台账"))
    if not actor.reaches(region_code):
        raise PermissionDenied(_("该记录不在您的管辖范围内"))


def require_personal(actor) -> None:
    if actor is not None and not actor.can_view_personal:
        raise PermissionDenied(_("您没有查看完整个人信息的权限"))
