from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from minqing.regions.codes import LEVEL_DIGITS, prefix_upper


class Level(models.IntegerChoices):
    PROVINCE = 1, _("省级")
    CITY = 2, _("地级")
    COUNTY = 3, _("县级")
    TOWNSHIP = 4, _("乡级")
    VILLAGE = 5, _("村级")


class Edition(models.Model):
    """One published edition of 统计用区划代码 that has been loaded."""

    year = models.PositiveSmallIntegerField(_("版本年份"), primary_key=True)
    loaded_at = models.DateTimeField(_("载入时间"), auto_now=True)
    region_count = models.PositiveIntegerField(_("区划数"), default=0)

    class Meta:
        verbose_name = _("区划版本")

    def __str__(self):
        return f"{self.year}年版"


class Region(models.Model):
    """A region of any level, keyed by its 12-digit code.

    Codes are never deleted. A code that a newer edition drops is marked ``retired_in`` and,
    where the statistics bureau says where it went, gets a ``Successor`` row; everything that
    points at the old code keeps working and its prefix still places it in its township and
    county. See docs/regions.md.
    """

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"), choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, on_delete=models.PROTECT, related_name="children"
    )
    since = models.PositiveSmallIntegerField(_("始见版本"))
    retired_in = models.PositiveSmallIntegerField(_("撤销版本"), null=True, blank=True)

    class Meta:
        verbose_name = _("行政区划")
        indexes = [
            # Name search in the picker and the API.
            models.Index(fields=["short_name"], name="region_short_name_idx"),
        ]

    def __str__(self):
        return self.short_name

    @property
    def prefix(self) -> str:
        return self.code[: LEVEL_DIGITS[self.level]]

    @property
    def is_active(self) -> bool:
        return self.retired_in is None


class Successor(models.Model):
    """Where a retired code went (renumbered, merged into another, split)."""

    old = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="successors", verbose_name=_("原区划")
    )
    new = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="predecessors", verbose_name=_("现区划")
    )
    edition = models.PositiveSmallIntegerField(_("生效版本"))

    class Meta:
        verbose_name = _("区划沿革")
        constraints = [
            models.UniqueConstraint(fields=["old", "new"], name="region_successor_unique"),
        ]

    def __str__(self):
        return f"{self.old_id} → {self.new_id}（{self.edition}）"


class NameChange(models.Model):
    """A region renamed by a newer edition; the old name stays searchable."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="name_changes")
    old_name = models.CharField(_("原名称"), max_length=100)
    new_name = models.CharField(_("新名称"), max_length=100)
    edition = models.PositiveSmallIntegerField(_("生效版本"))

    def __str__(self):
        return f"{self.old_name} → {self.new_name}（{self.edition}）"


def prefix_q(field: str, prefix: str) -> Q:
    """Rows whose ``field`` (a 12-digit code) starts with ``prefix``; an empty prefix is all."""
    if not prefix:
        return Q()
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix_upper(prefix)})
