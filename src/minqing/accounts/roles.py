"""Roles and what each may do, as data. A view, an API endpoint or a nav entry asks for a
capability, never for a role by name, so a new role is one line here."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", _("县级管理员")
    SUPERVISOR = "supervisor", _("督查人员")
    DEPARTMENT = "department", _("部门干部")
    TOWNSHIP = "township", _("乡镇（街道）干部")
    VILLAGE = "village", _("村（社区）干部")
    PAIRED = "paired", _("包联干部")
    VIEWER = "viewer", _("只读用户")


class Cap(models.TextChoices):
    WRITE = "write", _("录入和修改台账")
    SUPERVISE = "supervise", _("督办、标记和批注")
    READ_AUDIT = "read_audit", _("查看审计日志")
    MANAGE_USERS = "manage_users", _("管理用户")


ROLE_CAPS: dict[str, frozenset[str]] = {
    Role.COUNTY_ADMIN: frozenset({Cap.WRITE, Cap.READ_AUDIT, Cap.MANAGE_USERS}),
    Role.SUPERVISOR: frozenset({Cap.SUPERVISE, Cap.READ_AUDIT}),
    Role.DEPARTMENT: frozenset({Cap.WRITE}),
    Role.TOWNSHIP: frozenset({Cap.WRITE}),
    Role.VILLAGE: frozenset({Cap.WRITE}),
    Role.PAIRED: frozenset({Cap.WRITE}),
    Role.VIEWER: frozenset(),
}

# How many digits of region code a role's reach may have: a village cadre reaches exactly one
# village, a township officer one township, a county admin one county (or more, for a city).
ROLE_REACH_DIGITS: dict[str, frozenset[int]] = {
    Role.COUNTY_ADMIN: frozenset({2, 4, 6}),
    Role.SUPERVISOR: frozenset({2, 4, 6, 9}),
    Role.DEPARTMENT: frozenset({6}),
    Role.TOWNSHIP: frozenset({9}),
    Role.VILLAGE: frozenset({12}),
    Role.PAIRED: frozenset({9, 12}),
    Role.VIEWER: frozenset({2, 4, 6, 9, 12}),
}
