from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import ROLE_CAPS, Role
from minqing.regions.models import Region


class UnitKind(models.TextChoices):
    COUNTY = "county", _("县委县政府（活动办）")
    DEPARTMENT = "department", _("县直部门")
    SUPERVISION = "supervision", _("督查组")
    TOWNSHIP = "township", _("乡镇（街道）")
    VILLAGE = "village", _("村（社区）两委")


class OrgUnit(models.Model):
    """A county office, department, supervision group, township or village committee."""

    name = models.CharField(_("单位名称"), max_length=100)
    kind = models.CharField(_("单位类型"), max_length=20, choices=UnitKind.choices)
    # The region the unit serves: the county for departments, its own code for townships
    # and villages. Users of the unit are scoped by their own reach, not by this.
    region = models.ForeignKey(
        Region, verbose_name=_("所在区划"), on_delete=models.PROTECT, related_name="+"
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("上级单位"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("单位")
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="orgunit_region_name_unique"),
        ]

    def __str__(self):
        return self.name


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=50)
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.VIEWER)
    # A region-code prefix: 12 digits reach one village, 9 a township, 6 a county.
    reach = models.CharField(_("管辖范围"), max_length=12)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("所在单位"), null=True, blank=True, on_delete=models.PROTECT
    )
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    # 个人信息查看权限: granted to a person, not implied by any role.
    can_view_personal = models.BooleanField(_("可查看完整个人信息"), default=False)
    failed_logins = models.PositiveSmallIntegerField(_("连续登录失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    REQUIRED_FIELDS = ["full_name", "reach"]

    class Meta:
        verbose_name = _("用户")

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def can(self, cap: str) -> bool:
        return self.is_active and cap in ROLE_CAPS.get(self.role, frozenset())

    def reaches(self, code: str) -> bool:
        """Whether a 12-digit region code lies within this user's reach."""
        return bool(code) and code.startswith(self.reach)

    def is_locked(self, now=None) -> bool:
        return bool(self.locked_until and self.locked_until > (now or timezone.now()))


class ApiToken(models.Model):
    """A personal access token. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=50)
    prefix = models.CharField(_("前缀"), max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("访问令牌")

    def __str__(self):
        return f"{self.name}（{self.prefix}…）"
