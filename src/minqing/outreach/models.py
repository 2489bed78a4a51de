"""Outreach (走访): campaigns, pairing (包联), the visit log (民情日志) and its counters.

Coverage is read from counters kept by the services in the same transaction as each visit,
never from a scan of the visits: ``Enrolment`` (one row per household in a campaign: its
visits so far, when it is next due, its paired cadre), ``Tally`` (per village and round: the
households visited at least that many times; round 0 is every household in scope),
``DayTally`` (per village and day, for the chart over time) and ``CadreTally``. See
docs/outreach.md.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from minqing.accounts.models import OrgUnit
from minqing.households.models import Household
from minqing.regions.models import Region

# 四访: living conditions, production, policy implementation, development plans.
DEFAULT_ASPECTS = ["生活", "生产", "政策落实", "发展规划"]


class CampaignKind(models.TextChoices):
    WARM_WINTER = "warm_winter", _("暖冬行动")
    POST_DISASTER = "post_disaster", _("灾后重建走访")
    THOUSAND_CADRES = "thousand_cadres", _("千名干部进百村")
    OTHER = "other", _("其他")


class Campaign(models.Model):
    """A visiting campaign (活动) over some regions for a period. Its rules are data:
    ``must_visit`` is a list of ``{"category": code, "every_days": n}`` (五必访: a household
    in one of these categories must be visited at least every n days), ``aspects`` the 四访
    a visit records."""

    name = models.CharField(_("活动名称"), max_length=100)
    kind = models.CharField(_("活动类型"), max_length=20, choices=CampaignKind.choices)
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    # Region-code prefixes (a county, townships, villages) the campaign covers.
    regions = models.JSONField(_("覆盖区划"), default=list)
    rounds = models.PositiveSmallIntegerField(_("走访轮次"), default=1)
    must_visit = models.JSONField(_("必访规则"), default=list, blank=True)
    aspects = models.JSONField(_("走访内容（四访）"), default=list, blank=True)
    report_day = models.PositiveSmallIntegerField(_("每月报送日"), default=20)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("走访活动")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="campaign_end_after_start"
            ),
        ]

    def __str__(self):
        return self.name

    def covers(self, code: str) -> bool:
        return any(code.startswith(prefix) for prefix in self.regions)

    def overlaps(self, reach: str) -> bool:
        """Whether any of the campaign's regions lies in ``reach`` or contains it."""
        return any(p.startswith(reach) or reach.startswith(p) for p in self.regions)

    def within(self, reach: str) -> bool:
        """Whether all of the campaign's regions lie in ``reach`` (who may change it)."""
        return all(p.startswith(reach) for p in self.regions)

    def running_on(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end

    def must_visit_days(self, category_codes) -> int | None:
        """The shortest interval among the rules that match these categories."""
        days = [r["every_days"] for r in self.must_visit if r["category"] in category_codes]
        return min(days) if days else None


class Enrolment(models.Model):
    """A household in a campaign's scope (在册户), with the figures coverage counts."""

    # No index of its own for the campaign or the cadre: the composite indexes below lead with
    # them, and each visit posted rewrites this row (migration 0004).
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="enrolments", db_index=False
    )
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    visits = models.PositiveIntegerField(_("走访次数"), default=0)
    last_visit_at = models.DateTimeField(_("最近走访"), null=True, blank=True)
    # 五必访 households only: the day by which the next visit is due.
    must_every_days = models.PositiveSmallIntegerField(null=True, blank=True)
    next_due = models.DateField(_("应访日期"), null=True, blank=True)
    # The cadre currently paired with the household (a copy of the open Pairing).
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # The last visit promised something (a follow-up is due).
    promise_open = models.BooleanField(_("有待兑现的承诺"), default=False)

    class Meta:
        verbose_name = _("在册户")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "household"], name="enrolment_campaign_household_unique"
            ),
        ]
        indexes = [
            # The rows behind a figure: a campaign's households in a region prefix.
            models.Index(fields=["campaign", "region"], name="enrolment_campaign_region_idx"),
            # Must-visit coverage and the gap list: only the 五必访 households.
            models.Index(
                fields=["campaign", "region", "next_due"],
                name="enrolment_must_visit_idx",
                condition=Q(next_due__isnull=False),
            ),
            # Unpaired households (few, once pairing is done).
            models.Index(
                fields=["campaign", "region"],
                name="enrolment_unpaired_idx",
                condition=Q(cadre__isnull=True),
            ),
            # The cadre's phone page.
            models.Index(fields=["cadre", "campaign"], name="enrolment_cadre_idx"),
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.household_id}"

    def overdue_on(self, day: datetime.date) -> bool:
        return self.next_due is not None and self.next_due < day


class Tally(models.Model):
    """Households of one village visited at least ``round`` times (round 0: in scope, with
    the village's number of visits)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    round = models.PositiveSmallIntegerField()
    households = models.PositiveIntegerField(default=0)
    # Round 0 only: the visits made in the village (coverage's visit count, without a scan).
    visits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "region", "round"], name="tally_campaign_region_round_unique"
            ),
        ]

    def __str__(self):
        return f"{self.region_id} ≥{self.round}: {self.households}"


class DayTally(models.Model):
    """Visits in one village on one day, and households visited for the first time."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    visits = models.PositiveIntegerField(default=0)
    first_visits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "region", "day"], name="daytally_campaign_region_day_unique"
            ),
        ]

    def __str__(self):
        return f"{self.region_id} {self.day}: {self.visits}"


class CadreTally(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    cadre = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    visits = models.PositiveIntegerField(default=0)
    last_visit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "cadre"], name="cadretally_campaign_cadre_unique"
            ),
        ]

    def __str__(self):
        return f"{self.cadre_id}: {self.visits}"


class PairingKind(models.TextChoices):
    LEADER_TOWNSHIP = "leader_township", _("领导挂点乡镇")
    DEPARTMENT_VILLAGE = "department_village", _("部门包村")
    CADRE_HOUSEHOLD = "cadre_household", _("干部包户")
    CADRE_COMPOUND = "cadre_compound", _("干部分包小区")


class Pairing(models.Model):
    """One pairing (包联) within a campaign, from ``start`` until ``end`` (open: null). Ended
    pairings are kept: they are the history of who answered for what."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="pairings")
    kind = models.CharField(_("包联类型"), max_length=20, choices=PairingKind.choices)
    # The township (leader), the village (department, household, compound).
    region = models.ForeignKey(
        Region, verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    compound = models.CharField(_("小区"), max_length=100, blank=True)
    cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("干部"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    start = models.DateField(_("起始日期"))
    end = models.DateField(_("终止日期"), null=True, blank=True)
    end_reason = models.CharField(_("终止原因"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("包联")
        constraints = [
            # A household has one paired cadre at a time within a campaign.
            models.UniqueConstraint(
                fields=["campaign", "household"],
                condition=Q(end__isnull=True, kind="cadre_household"),
                name="pairing_one_open_per_household",
            ),
        ]
        indexes = [
            # A cadre's open pairings (handover, the cadre table).
            models.Index(
                fields=["campaign", "cadre"],
                name="pairing_open_cadre_idx",
                condition=Q(end__isnull=True),
            ),
            models.Index(fields=["campaign", "region"], name="pairing_campaign_region_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.region_id}"


class ConfirmMethod(models.TextChoices):
    CODE = "code", _("短信验证码")
    SIGNATURE = "signature", _("当面签名")


class Visit(models.Model):
    """One entry of the visit log (民情日志)."""

    # campaign, household and author lead an index each (Meta.indexes), which serves their
    # lookups: the single-column index Django adds to a key would be one more index written
    # for every visit posted (migration 0003).
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="visits", db_index=False
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("走访干部"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    companions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("同行干部"), blank=True, related_name="+"
    )
    visited_at = models.DateTimeField(_("走访时间"))
    address = models.CharField(_("走访地点"), max_length=200, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    round = models.PositiveSmallIntegerField(_("轮次"))
    aspects = models.JSONField(_("走访内容（四访）"), default=list, blank=True)
    # 四个清楚
    family = models.TextField(_("家庭情况"), blank=True)
    thinking = models.TextField(_("思想状况"), blank=True)
    difficulty = models.TextField(_("困难原因"), blank=True)
    help_needed = models.TextField(_("帮扶需求"), blank=True)
    found = models.TextField(_("发现的问题"), blank=True)
    promised = models.TextField(_("承诺事项"), blank=True)
    # The phone's id for an entry made offline: posting it again returns the same visit.
    client_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    confirmed_at = models.DateTimeField(_("群众确认时间"), null=True, blank=True)
    confirm_method = models.CharField(
        _("确认方式"), max_length=10, choices=ConfirmMethod.choices, blank=True
    )
    confirm_code_hash = models.CharField(max_length=64, blank=True)
    confirm_code_expires = models.DateTimeField(null=True, blank=True)
    # Wrong codes entered against the current code, and codes sent for this visit: a code is
    # void after CODE_TRIES wrong ones, and a visit takes CODES_PER_VISIT codes at most, so
    # that a 6-digit code cannot be guessed (services.visit_confirm).
    confirm_tries = models.PositiveSmallIntegerField(default=0, db_default=0)
    confirm_codes_sent = models.PositiveSmallIntegerField(default=0, db_default=0)
    signature = models.FileField(_("签名"), upload_to="outreach/signatures/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("走访记录")
        indexes = [
            # Impossible sequences: a cadre's visits around a time.
            models.Index(fields=["author", "visited_at"], name="visit_author_time_idx"),
            models.Index(fields=["household", "-visited_at"], name="visit_household_idx"),
            # The monthly roll-up and the visit list: a campaign's visits in a period.
            models.Index(fields=["campaign", "visited_at"], name="visit_campaign_time_idx"),
        ]

    def __str__(self):
        return f"{self.household_id} @ {self.visited_at:%Y-%m-%d %H:%M}"


class VisitPhoto(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to="outreach/photos/%Y/%m/")
    name = models.CharField(max_length=200, blank=True)
    size = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("走访照片")

    def __str__(self):
        return self.name


class Need(models.Model):
    """A need raised on a visit (诉求); once the case ledger takes it, its case number."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="needs")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    text = models.CharField(_("诉求"), max_length=500)
    case_number = models.CharField(_("案件编号"), max_length=40, blank=True)
    raised_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("走访诉求")

    def __str__(self):
        return self.text

    @property
    def is_open(self) -> bool:
        return not self.case_number


class Amendment(models.Model):
    """A correction to a visit after its 24 hours of editing: kept, never changed."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="amendments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("补正内容"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("走访补正")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.text[:40]


class FlagKind(models.TextChoices):
    MANUAL = "manual", _("督查标记")
    AUTO = "auto", _("系统发现")


class Flag(models.Model):
    """A visit marked as doubtful, by a supervisor or by the system."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(_("来源"), max_length=10, choices=FlagKind.choices)
    reason = models.CharField(_("原因"), max_length=300)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cleared_note = models.CharField(_("解除说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("存疑标记")
        indexes = [
            models.Index(
                fields=["region"], name="flag_open_region_idx", condition=Q(cleared_at__isnull=True)
            ),
        ]

    def __str__(self):
        return self.reason
