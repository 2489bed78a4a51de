"""Relief (救助) and reconstruction (重建): programmes with rules as data, the lists they
compute, payments made once, stock per depot, rebuilding projects and hazard sites.

The rules are rows, not code: a :class:`RuleSet` is one version of a programme's rules, its
:class:`RuleLine` rows are ordered conditions on the household (a JSON dict, see rules.py)
with what each grants. A computed :class:`EntitlementList` keeps the rule set it was computed
with; an approved list never changes, a correction is a new list linked to it.

Paid once is the database's job: ``payment_once_per_cycle`` refuses a second live payment of
the same programme line to the same household in the same cycle, and ``ExclusiveClaim`` lets
only one programme of an exclusive group pay a household at all.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from minqing.households.models import Household
from minqing.regions.models import Region

_USER = settings.AUTH_USER_MODEL


class ProgrammeKind(models.TextChoices):
    ONE_OFF = "one_off", _("一次性")
    MONTHLY = "monthly", _("按月")
    PER_CYCLE = "per_cycle", _("按批次")


class MatchMode(models.TextChoices):
    FIRST = "first", _("仅第一条符合的规则")
    ALL = "all", _("所有符合的规则")


class GrantKind(models.TextChoices):
    CASH = "cash", _("现金")
    MATERIAL = "material", _("物资")
    WAIVER = "waiver", _("费用减免")


class Material(models.Model):
    """A kind of relief goods with its unit (钢筋, 吨)."""

    name = models.CharField(_("物资名称"), max_length=40, unique=True)
    unit = models.CharField(_("计量单位"), max_length=10)

    class Meta:
        verbose_name = _("物资")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}（{self.unit}）"


class Programme(models.Model):
    """救助项目: who runs it (``region``), where it applies (``regions``), its rules."""

    name = models.CharField(_("项目名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=10, choices=ProgrammeKind.choices)
    region = models.ForeignKey(
        Region, verbose_name=_("主管区划"), on_delete=models.PROTECT, related_name="+"
    )
    regions = models.ManyToManyField(Region, verbose_name=_("覆盖区划"), related_name="+")
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)
    budget_fen = models.BigIntegerField(_("预算（分）"), default=0)
    # Programmes sharing a group pay a household from one of them only (e.g. two one-off
    # flood grants, county and province); blank: not exclusive.
    exclusive_group = models.CharField(_("互斥组"), max_length=40, blank=True)
    document = models.CharField(_("依据文件"), max_length=200, blank=True)
    created_by = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("救助项目")
        constraints = [
            models.CheckConstraint(condition=Q(budget_fen__gte=0), name="programme_budget_positive")
        ]

    def __str__(self):
        return self.name

    @property
    def exclusive(self) -> bool:
        return bool(self.exclusive_group) and self.kind == ProgrammeKind.ONE_OFF


class RuleSet(models.Model):
    """One version of a programme's rules; never edited, a change is the next version."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="rulesets")
    version = models.PositiveIntegerField(_("版本"))
    match = models.CharField(_("匹配方式"), max_length=5, choices=MatchMode.choices)
    note = models.CharField(_("修改说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("规则版本")
        ordering = ["programme", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "version"], name="ruleset_version_unique")
        ]

    def __str__(self):
        return f"{self.programme} v{self.version}"


class RuleLine(models.Model):
    """One line of a rule set: a condition on the household and what it grants.

    ``code`` names the line across versions ("d_rebar"): payments are once per programme,
    line code, household and cycle, so a new version cannot pay the same thing twice."""

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("序号"))
    code = models.SlugField(_("规则代码"), max_length=40)
    label = models.CharField(_("规则名称"), max_length=100)
    condition = models.JSONField(_("条件"), default=dict, blank=True)
    kind = models.CharField(_("发放内容"), max_length=10, choices=GrantKind.choices)
    amount_fen = models.BigIntegerField(_("金额（分）"), default=0)
    material = models.ForeignKey(
        Material, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=3, default=0)
    waiver = models.CharField(_("减免项目"), max_length=60, blank=True)
    waiver_months = models.PositiveSmallIntegerField(_("减免期限（月）"), default=0)

    class Meta:
        verbose_name = _("规则")
        ordering = ["ruleset", "position"]
        constraints = [
            models.UniqueConstraint(fields=["ruleset", "code"], name="ruleline_code_unique"),
            models.UniqueConstraint(
                fields=["ruleset", "position"], name="ruleline_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind="cash", amount_fen__gt=0)
                | Q(kind="material", material__isnull=False, quantity__gt=0)
                | Q(kind="waiver", waiver_months__gt=0),
                name="ruleline_grant_complete",
            ),
        ]

    def __str__(self):
        return self.label


class Cycle(models.Model):
    """One round of a programme (一次性: one; 按月: 2026-03 …); ``on`` is the day the
    household's categories and members are read."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="cycles")
    label = models.CharField(_("批次"), max_length=20)
    on = models.DateField(_("认定基准日"))

    class Meta:
        verbose_name = _("发放批次")
        ordering = ["programme", "on"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "label"], name="cycle_label_unique")
        ]

    def __str__(self):
        return self.label


class ListStatus(models.TextChoices):
    COMPUTED = "computed", _("已生成")
    REVIEWED = "reviewed", _("已审核")
    NOTICE = "notice", _("公示中")
    APPROVED = "approved", _("已批准")
    RECONCILED = "reconciled", _("已对账")


class EntitlementList(models.Model):
    """救助名单: the households a rule set grants something in one cycle."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="lists")
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="lists")
    ruleset = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="lists")
    status = models.CharField(
        _("状态"), max_length=10, choices=ListStatus.choices, default=ListStatus.COMPUTED
    )
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("更正的名单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    notice_from = models.DateField(_("公示开始"), null=True, blank=True)
    notice_days = models.PositiveSmallIntegerField(_("公示天数"), default=0)
    summary = models.JSONField(_("对账结果"), default=dict, blank=True)
    created_by = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("救助名单")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.programme} {self.cycle}（v{self.ruleset.version}）"

    @property
    def frozen(self) -> bool:
        return self.status in (ListStatus.APPROVED, ListStatus.RECONCILED)


class ListStep(models.Model):
    """A list's history: one row per transition."""

    entitlement_list = models.ForeignKey(
        EntitlementList, on_delete=models.CASCADE, related_name="steps"
    )
    status = models.CharField(_("状态"), max_length=10, choices=ListStatus.choices)
    actor = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.entitlement_list_id} → {self.status}"


class Entitlement(models.Model):
    """One grant on a list: a household, the rule line that granted it and what it grants.
    Written once by the computation (one INSERT … SELECT per line), then only ``excluded``
    may change, and only before approval.

    No database foreign keys here: the rows come from an INSERT … SELECT over rows that exist
    (households, their regions, the lines and the list made in the same transaction), and on
    PostgreSQL each FK check of a 70,000-row list is a trigger that takes FOR KEY SHARE on the
    household, dirtying the household table (bench/relief.py). Deletes are still refused
    (PROTECT) or cascaded by Django."""

    entitlement_list = models.ForeignKey(
        EntitlementList,
        on_delete=models.CASCADE,
        related_name="entitlements",
        db_constraint=False,
        db_index=False,  # entitlement_list_region_idx starts with it
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    line = models.ForeignKey(
        RuleLine, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    excluded = models.BooleanField(_("已剔除"), default=False)

    class Meta:
        verbose_name = _("救助对象")
        indexes = [
            # The list page, the counts and the distribution search: a list within a region
            # prefix (the list's own FK index would be its prefix, so there is none).
            models.Index(fields=["entitlement_list", "region"], name="entitlement_list_region_idx"),
        ]

    def __str__(self):
        return f"{self.household_id} / {self.line_id}"


class Objection(models.Model):
    """异议 raised during the public notice, and how it was decided."""

    class Decision(models.TextChoices):
        PENDING = "", _("待处理")
        UPHELD = "upheld", _("异议成立")
        REJECTED = "rejected", _("异议不成立")

    entitlement_list = models.ForeignKey(
        EntitlementList, on_delete=models.CASCADE, related_name="objections"
    )
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    raised_by = models.CharField(_("异议人"), max_length=50)
    text = models.TextField(_("异议内容"))
    received_on = models.DateField(_("受理日期"))
    decision = models.CharField(
        _("处理结果"), max_length=10, choices=Decision.choices, blank=True, default=""
    )
    answer = models.TextField(_("处理意见"), blank=True)
    recorded_by = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        _USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("异议")
        ordering = ["id"]

    def __str__(self):
        return f"{self.raised_by}: {self.text[:20]}"


class Depot(models.Model):
    """物资仓库."""

    name = models.CharField(_("仓库名称"), max_length=60)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("仓库")
        ordering = ["region", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="depot_name_unique")]

    def __str__(self):
        return self.name


class StockBalance(models.Model):
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="balances")
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("结存"), max_digits=14, decimal_places=3, default=0)

    class Meta:
        verbose_name = _("库存")
        constraints = [
            models.UniqueConstraint(fields=["depot", "material"], name="stock_balance_unique"),
            # Issues subtract with UPDATE … SET quantity = quantity - x: an issue larger than
            # the stock fails here, whoever else is issuing at the same time.
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_never_negative"),
        ]

    def __str__(self):
        return f"{self.depot_id}/{self.material_id}: {self.quantity}"


class StockMove(models.Model):
    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("入库")
        ISSUE = "issue", _("出库发放")
        COUNT = "count", _("盘点差异")

    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="moves")
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    quantity = models.DecimalField(_("数量（增减）"), max_digits=14, decimal_places=3)
    payment = models.ForeignKey(
        "Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="stock_moves"
    )
    source = models.CharField(_("来源或原因"), max_length=200, blank=True)
    actor = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("库存变动")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="count") | ~Q(source=""), name="stock_count_has_reason"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.quantity}"


class BankBatch(models.Model):
    """One payment file sent to the bank, and the result file it answered with."""

    entitlement_list = models.ForeignKey(
        EntitlementList, on_delete=models.PROTECT, related_name="bank_batches"
    )
    created_by = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    result_imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("银行代发批次")

    def __str__(self):
        return f"batch {self.pk}"


class Payment(models.Model):
    """发放记录: one grant of one line handed over (goods, cash) or sent to the bank."""

    class Method(models.TextChoices):
        HANDOVER = "handover", _("现场发放")
        BANK = "bank", _("银行代发")

    class Status(models.TextChoices):
        SENT = "sent", _("已报银行")
        PAID = "paid", _("已发放")
        FAILED = "failed", _("发放失败")

    class Proof(models.TextChoices):
        SIGNATURE = "signature", _("签字")
        THUMBPRINT = "thumbprint", _("按手印")

    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="payments")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="+")
    line_code = models.CharField(max_length=40)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(_("发放方式"), max_length=10, choices=Method.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    receiver = models.CharField(_("领取人"), max_length=50, blank=True)
    proof = models.CharField(_("确认方式"), max_length=10, choices=Proof.choices, blank=True)
    photo = models.CharField(_("签字或手印照片"), max_length=200, blank=True)  # under VAR_DIR
    depot = models.ForeignKey(
        Depot, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        BankBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    failure = models.CharField(_("失败原因"), max_length=200, blank=True)
    paid_by = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    paid_at = models.DateTimeField(_("发放时间"))

    class Meta:
        verbose_name = _("发放记录")
        constraints = [
            # Paid once: relied on by payment_handover and bank_batch_create, which turn the
            # refusal into "already paid by … at …". A failed bank payment frees the slot.
            models.UniqueConstraint(
                fields=["programme", "line_code", "household", "cycle"],
                condition=~Q(status="failed"),
                name="payment_once_per_cycle",
            )
        ]
        indexes = [models.Index(fields=["household", "paid_at"], name="payment_household_idx")]

    def __str__(self):
        return f"{self.household_id} {self.line_code} {self.status}"


class ExclusiveClaim(models.Model):
    """Which programme of an exclusive group pays a household: one row per (group, household),
    so a second programme of the group is refused by the database."""

    group = models.CharField(max_length=40)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="+")
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "household"], name="exclusive_claim_unique")
        ]

    def __str__(self):
        return f"{self.group}: {self.household_id} → {self.programme_id}"


# ---------------------------------------------------------------------------------------------
# Reconstruction


class ProjectKind(models.TextChoices):
    REPAIR = "repair", _("维修加固（C级）")
    REBUILD_IN_PLACE = "rebuild_in_place", _("原址重建（D级）")
    REBUILD_ELSEWHERE = "rebuild_elsewhere", _("异地重建（D级）")
    RELOCATE = "relocate", _("搬迁安置")


class Stage(models.TextChoices):
    """Milestones in their order; ``finished`` counts for the completion rate."""

    PLANNED = "planned", _("方案审批")
    STARTED = "started", _("开工")
    FOUNDATION = "foundation", _("基础完成")
    STRUCTURE = "structure", _("主体完成")
    ROOF = "roof", _("封顶")
    FINISHED = "finished", _("竣工")
    ACCEPTED = "accepted", _("验收")
    MOVED_IN = "moved_in", _("入住")


STAGE_ORDER = {value: i for i, value in enumerate(Stage.values)}
DONE_STAGES = [Stage.FINISHED, Stage.ACCEPTED, Stage.MOVED_IN]


class Project(models.Model):
    """重建项目 for one damaged dwelling."""

    household = models.OneToOneField(Household, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("重建方式"), max_length=20, choices=ProjectKind.choices)
    grade = models.CharField(_("危房等级"), max_length=1, blank=True)
    stage = models.CharField(_("当前进度"), max_length=12, choices=Stage.choices, blank=True)
    stage_on = models.DateField(_("进度日期"), null=True, blank=True)
    created_by = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("重建项目")
        indexes = [models.Index(fields=["region", "stage"], name="project_region_stage_idx")]

    def __str__(self):
        return f"{self.household} {self.get_kind_display()}"

    @property
    def done(self) -> bool:
        return self.stage in DONE_STAGES


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    stage = models.CharField(_("节点"), max_length=12, choices=Stage.choices)
    on = models.DateField(_("日期"))
    photo = models.CharField(_("照片"), max_length=200, blank=True)  # under VAR_DIR
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(_USER, null=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("重建节点")
        ordering = ["on", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "stage"], name="milestone_once")]

    def __str__(self):
        return f"{self.stage} {self.on}"


class RebuildTarget(models.Model):
    """A township's rebuilding target: a rate (%) by a deadline; below it then: 一票否决."""

    township = models.OneToOneField(Region, on_delete=models.PROTECT, related_name="+")
    target_percent = models.PositiveSmallIntegerField(_("目标完成率（%）"), default=100)
    deadline = models.DateField(_("截止日期"))

    class Meta:
        verbose_name = _("重建目标")

    def __str__(self):
        return f"{self.township_id} {self.target_percent}% by {self.deadline}"


# ---------------------------------------------------------------------------------------------
# Hazard sites


class HazardKind(models.TextChoices):
    LANDSLIDE = "landslide", _("滑坡")
    COLLAPSE = "collapse", _("崩塌")
    DEBRIS_FLOW = "debris_flow", _("泥石流")
    SUBSIDENCE = "subsidence", _("地面塌陷")
    FISSURE = "fissure", _("地裂缝")
    UNSTABLE_SLOPE = "slope", _("不稳定斜坡")


class HazardScale(models.TextChoices):
    SMALL = "small", _("小型")
    MEDIUM = "medium", _("中型")
    LARGE = "large", _("大型")
    HUGE = "huge", _("特大型")


class HazardDecision(models.TextChoices):
    MONITOR = "monitor", _("群测群防监测")
    MITIGATE = "mitigate", _("工程治理")
    RELOCATE = "relocate", _("搬迁避让")


class HazardSite(models.Model):
    """地质灾害隐患点. The monitor's and the warner's phones are duty numbers printed on the
    防灾避险明白卡 and posted at the site, so they are kept and shown in clear."""

    code = models.CharField(_("隐患点编号"), max_length=30, unique=True)
    name = models.CharField(_("隐患点名称"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("灾害类型"), max_length=12, choices=HazardKind.choices)
    location = models.CharField(_("地理位置"), max_length=200)
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    scale = models.CharField(_("规模等级"), max_length=8, choices=HazardScale.choices)
    volume_m3 = models.PositiveIntegerField(_("规模（立方米）"), default=0)
    trigger = models.CharField(_("诱发因素"), max_length=100)
    danger_zone = models.CharField(_("威胁范围"), max_length=200)
    monitor_name = models.CharField(_("监测人"), max_length=50)
    monitor_phone = models.CharField(_("监测人电话"), max_length=20)
    warning_signal = models.CharField(_("预警信号"), max_length=100)
    warning_by = models.CharField(_("预警信号发布人"), max_length=50)
    warning_phone = models.CharField(_("发布人电话"), max_length=20)
    evacuation_route = models.CharField(_("撤离路线"), max_length=200)
    shelter = models.CharField(_("避险场所"), max_length=100)
    decision = models.CharField(_("处置措施"), max_length=10, choices=HazardDecision.choices)
    progress = models.PositiveSmallIntegerField(_("处置进度（%）"), default=0)
    progress_note = models.CharField(_("进度说明"), max_length=200, blank=True)
    households = models.ManyToManyField(
        Household, verbose_name=_("受威胁户"), related_name="hazard_sites", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("地质灾害隐患点")
        ordering = ["region", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="hazard_progress_percent")
        ]

    def __str__(self):
        return f"{self.code} {self.name}"
