"""The case ledger (整改台账): a case's facts, its life (status, history), its deadlines, and
what hangs off it (return contacts, extensions, supervision, disputes, attachments).

The state machine itself is data, in ``workflow.py``; deadline rules and the category
taxonomy are rows seeded from ``taxonomy.py``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.accounts.models import OrgUnit
from minqing.households.models import Household, Person
from minqing.regions.models import Region


class Kind(models.TextChoices):
    NEED = "need", _("诉求")
    DISPUTE = "dispute", _("矛盾纠纷")
    HAZARD = "hazard", _("安全隐患")
    PETITION = "petition", _("信访")


class Source(models.TextChoices):
    VISIT = "visit", _("走访")
    WALK_IN = "walk_in", _("来访")
    HOTLINE = "hotline", _("12345热线转办")
    PETITION = "petition", _("信访")
    SUPERVISION = "supervision", _("督查交办")
    INSPECTION = "inspection", _("排查发现")


class CaseLevel(models.TextChoices):
    VILLAGE = "village", _("村级")
    TOWNSHIP = "township", _("乡级")
    COUNTY = "county", _("县级")


# Region-code digits that a level's officers reach (小事不出村、大事不出乡、难事不出县).
LEVEL_REACH = {CaseLevel.VILLAGE: 12, CaseLevel.TOWNSHIP: 9, CaseLevel.COUNTY: 6}
NEXT_LEVEL = {CaseLevel.VILLAGE: CaseLevel.TOWNSHIP, CaseLevel.TOWNSHIP: CaseLevel.COUNTY}


class Status(models.TextChoices):
    REGISTERED = "registered", _("已登记")
    ASSIGNED = "assigned", _("已派单")
    ACCEPTED = "accepted", _("已签收")
    IN_PROGRESS = "in_progress", _("办理中")
    ANSWERED = "answered", _("已办结反馈")
    VERIFIED = "verified", _("已核查")
    CLOSED = "closed", _("已销号")
    SENT_BACK = "sent_back", _("已退单")
    ESCALATED = "escalated", _("已升级")
    REOPENED = "reopened", _("重新办理")
    MERGED = "merged", _("已合并")


FINISHED = (Status.CLOSED, Status.MERGED)


class Outcome(models.TextChoices):
    SOLVED = "solved", _("解决到位")
    EXPLAINED = "explained", _("解释到位")
    HELPED = "helped", _("帮扶到位")
    BY_LAW = "by_law", _("依法处理")


class CaseCategory(models.Model):
    """Two-level taxonomy kept as data: a top category (parent None) and its subcategories.
    Cases point at a subcategory."""

    code = models.CharField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级类别"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    kind = models.CharField(_("默认性质"), max_length=10, choices=Kind.choices)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("案件类别")
        ordering = ["order", "code"]

    def __str__(self):
        return f"{self.parent.name}／{self.name}" if self.parent_id else self.name


class Unit(models.TextChoices):
    MINUTES = "minutes", _("分钟")
    WORKDAYS = "workdays", _("个工作日")


class DeadlineRule(models.Model):
    """How long each stage may take. The most specific rule wins: subcategory over top
    category over any, then kind, then level (``rules.rule_for``)."""

    kind = models.CharField(_("性质"), max_length=10, choices=Kind.choices, blank=True)
    category = models.ForeignKey(
        CaseCategory, verbose_name=_("类别"), null=True, blank=True, on_delete=models.CASCADE
    )
    level = models.CharField(_("层级"), max_length=10, choices=CaseLevel.choices, blank=True)
    accept_limit = models.PositiveIntegerField(_("签收时限"))
    accept_unit = models.CharField(_("签收时限单位"), max_length=10, choices=Unit.choices)
    answer_workdays = models.PositiveIntegerField(_("办结时限（工作日）"))
    sendback_workdays = models.PositiveIntegerField(_("退单时限（工作日）"), default=1)
    # Overdue by this many working days past the deadline: the sweep raises the case a level.
    escalate_after_workdays = models.PositiveIntegerField(
        _("逾期升级（工作日）"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("办理时限规则")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "category", "level"], name="deadlinerule_unique"
            )
        ]

    def __str__(self):
        return f"{self.category or '*'}/{self.kind or '*'}/{self.level or '*'}"


class CaseSequence(models.Model):
    """The last number given out per county and year (130681-2026-00042)."""

    county = models.CharField(max_length=6)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["county", "year"], name="casesequence_unique")
        ]

    def __str__(self):
        return f"{self.county}-{self.year}: {self.last}"


class Case(models.Model):
    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    title = models.CharField(_("事项"), max_length=100)
    text = models.TextField(_("诉求内容"))
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    # Where the case came from in another app ("outreach.visit:123"), for a link back.
    source_ref = models.CharField(_("来源记录"), max_length=60, blank=True)
    kind = models.CharField(_("性质"), max_length=10, choices=Kind.choices)
    category = models.ForeignKey(
        CaseCategory,
        verbose_name=_("类别"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # case_category_id_idx leads with it
    )
    level = models.CharField(_("层级"), max_length=10, choices=CaseLevel.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("所属区划"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # case_region_id_idx leads with it
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("涉及户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    people = models.ManyToManyField(
        Person, verbose_name=_("涉及人员"), blank=True, related_name="cases"
    )
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("承办单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # case_unit_id_idx leads with it
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("包案领导"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_cases",
        db_index=False,  # case_leader_id_idx leads with it
    )
    team = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("工作专班"), blank=True, related_name="team_cases"
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
        db_index=False,  # case_handler_status_idx leads with it
    )
    public = models.BooleanField(_("可公开"), default=False)

    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.REGISTERED
    )
    # Bumped by every change: the compare-and-set token of the state machine and the sweep.
    version = models.PositiveIntegerField(default=0)

    registered_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    answered_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome = models.CharField(_("办理结果"), max_length=10, choices=Outcome.choices, blank=True)
    answer = models.TextField(_("办理情况"), blank=True)
    verified_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)

    # The deadline of the current stage (accept, then answer); NULL when nothing is due.
    due_at = models.DateTimeField(_("办理期限"), null=True, blank=True)
    # The moment an overdue case rises a level, per its rule (NULL: it does not).
    escalate_at = models.DateTimeField(null=True, blank=True)
    # When the sweep must next look at this case: due_at, then escalate_at, then NULL.
    sweep_at = models.DateTimeField(null=True, blank=True)
    overdue = models.BooleanField(_("已逾期"), default=False)
    accepted_on_time = models.BooleanField(null=True)
    answered_on_time = models.BooleanField(null=True)

    escalated_count = models.PositiveSmallIntegerField(_("升级次数"), default=0)
    sent_back_count = models.PositiveSmallIntegerField(_("退单次数"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    reopened_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    supervised = models.BooleanField(_("挂牌督办"), default=False)
    # Copies kept by the services for the figures: the latest return contact's rating and
    # the mediation result (a dispute).
    last_rating = models.CharField(_("最近回访满意度"), max_length=10, blank=True)
    mediation = models.CharField(_("调解结果"), max_length=12, blank=True)
    # The figures' conditions this case meets, as bits (figures.BITS), recomputed by every change.
    flags = models.PositiveSmallIntegerField(default=0)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("合并至"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_cases",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("案件")
        indexes = [
            # The ledger: a region prefix, newest first (keyset on id).
            models.Index(fields=["region", "id"], name="case_region_id_idx"),
            # The ledger's filters, each answered newest first from its own index.
            models.Index(fields=["status", "id"], name="case_status_id_idx"),
            models.Index(fields=["category", "id"], name="case_category_id_idx"),
            models.Index(fields=["unit", "id"], name="case_unit_id_idx"),
            models.Index(fields=["leader", "id"], name="case_leader_id_idx"),
            models.Index(fields=["handler", "status"], name="case_handler_status_idx"),
            # Overdue now (ledger filter, figures): only open overdue cases are in it. In the
            # ledger's order, so that the newest page is read from its end: the overdue are
            # mostly old cases, and a walk of all cases newest first meets them last.
            models.Index(
                fields=["id", "region"],
                name="case_overdue_idx",
                condition=Q(overdue=True) & ~Q(status__in=FINISHED),
            ),
            # Open cases by their deadline (my cases).
            models.Index(
                fields=["due_at", "id"],
                name="case_open_due_idx",
                condition=~Q(status__in=FINISHED),
            ),
            # The ledger's deadline filter: open cases newest first, the deadline checked in
            # the index (same reason as case_overdue_idx).
            models.Index(
                fields=["id", "due_at", "region"],
                name="case_open_id_due_idx",
                condition=~Q(status__in=FINISHED),
            ),
            # The sweep: cases whose next check is due, and only those.
            models.Index(
                fields=["sweep_at"], name="case_sweep_idx", condition=Q(sweep_at__isnull=False)
            ),
            # Supervision board, and the ledger's filter (newest first, as case_overdue_idx).
            models.Index(
                fields=["id", "region"],
                name="case_supervised_idx",
                condition=Q(supervised=True) & ~Q(status__in=FINISHED),
            ),
            # Figures: (group, flags) pairs of a period, from the index alone on PostgreSQL.
            models.Index(fields=["registered_at", "region", "flags"], name="case_figures_idx"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status not in FINISHED


# The columns of CaseTally: one per condition of figures.COUNTS, in its order.
TALLY_COUNTS = (
    "received",
    "accepted",
    "accepted_on_time",
    "answered",
    "answered_on_time",
    "closed",
    "rated",
    "satisfied",
    "escalated",
    "sent_back",
    "extended",
    "merged",
    "mediated",
    "mediation_ok",
)


class Tally(models.Model):
    """How many cases registered in a month (its first day, in the county's time) in a region
    meet each condition of ``figures.COUNTS``: the figures of whole months without reading
    every case. Kept by the services in the transaction of every change
    (``figures.figures_refresh``); rebuilt from the cases by ``minqing case_tally_rebuild``."""

    month = models.DateField()
    region = models.CharField(max_length=12)
    received = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    accepted_on_time = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    answered_on_time = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    escalated = models.IntegerField(default=0)
    sent_back = models.IntegerField(default=0)
    extended = models.IntegerField(default=0)
    merged = models.IntegerField(default=0)
    mediated = models.IntegerField(default=0)
    mediation_ok = models.IntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.month:%Y-%m} {self.region}"


class CaseTally(Tally):
    """Per month and region (the figures by region)."""

    class Meta:
        constraints = [
            # The upsert of figures._tally_write relies on it.
            models.UniqueConstraint(fields=["month", "region"], name="casetally_key"),
        ]


class CaseUnitTally(Tally):
    """Per month, region and handling unit (the figures by unit, within a reader's reach)."""

    unit = models.PositiveBigIntegerField(default=0)  # the OrgUnit's id; 0: none yet

    class Meta:
        constraints = [
            # The upsert of figures._tally_write relies on it.
            models.UniqueConstraint(fields=["month", "region", "unit"], name="caseunittally_key"),
        ]


class CaseEvent(models.Model):
    """One line of a case's history (timeline): every transition and every notable act."""

    # No index of its own: caseevent_case_at_idx leads with it (every index slows the sweep).
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["case", "at"], name="caseevent_case_at_idx")]

    def __str__(self):
        return f"{self.case_id} {self.action}"


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    NOT = "not", _("不满意")


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("电话回访")
    VISIT = "visit", _("上门回访")
    IN_PERSON = "in_person", _("当面确认")


class ReturnContact(models.Model):
    """回访: the resident's word on how the case was handled."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts")
    at = models.DateTimeField(_("回访时间"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rating = models.CharField(_("满意度"), max_length=10, choices=Rating.choices)
    method = models.CharField(_("回访方式"), max_length=10, choices=ContactMethod.choices)
    note = models.TextField(_("回访情况"), blank=True)
    # A supervisor's reasoned exception: "not satisfied" does not reopen this case.
    exception_reason = models.TextField(_("不予重办理由"), blank=True)

    class Meta:
        verbose_name = _("回访")
        indexes = [models.Index(fields=["case", "at"], name="returncontact_case_at_idx")]

    def __str__(self):
        return f"{self.case_id} {self.rating}"

    @property
    def accepted(self) -> bool:
        return self.rating != Rating.NOT or bool(self.exception_reason)


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("不批准")


class Extension(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    workdays = models.PositiveSmallIntegerField(_("延长工作日"))
    reason = models.TextField(_("延期理由"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("延期申请")
        constraints = [
            # One pending request per case.
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="extension_one_pending"
            )
        ]

    def __str__(self):
        return f"{self.case_id} +{self.workdays}"


class Supervision(models.Model):
    """挂牌督办."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervisions")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(_("督办要求"))
    until = models.DateField(_("督办期限"))

    class Meta:
        verbose_name = _("挂牌督办")

    def __str__(self):
        return f"{self.case_id} {self.until}"


class Notification(models.Model):
    """A message to a person or to a unit (the sweep's overdue and escalation notices)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="case_notifications",
        db_index=False,  # notification_user_idx leads with it
    )
    unit = models.ForeignKey(
        OrgUnit,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # notification_unit_idx leads with it
    )
    at = models.DateTimeField(default=timezone.now)
    text = models.CharField(max_length=200)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-at"], name="notification_user_idx"),
            models.Index(fields=["unit", "-at"], name="notification_unit_idx"),
        ]

    def __str__(self):
        return self.text


class Attachment(models.Model):
    """A file on a case, kept in the database so that it follows the case's scope."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    data = models.BinaryField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


# Disputes and mediation (人民调解)


class MediationResult(models.TextChoices):
    AGREEMENT = "agreement", _("达成协议")
    NO_AGREEMENT = "no_agreement", _("未达成协议")
    REFERRED = "referred", _("引导诉讼或仲裁")


class Performance(models.TextChoices):
    PENDING = "pending", _("待履行")
    PERFORMED = "performed", _("已履行")
    PARTLY = "partly", _("部分履行")
    NOT = "not", _("未履行")


class Dispute(models.Model):
    """The mediation record of a 矛盾纠纷 case; the agreement's fields follow 人民调解法
    第二十九条 (parties, facts and claims, terms, how and by when they are performed)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="dispute")
    mediators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("调解员"), blank=True, related_name="+"
    )
    other_mediators = models.CharField(_("其他调解员"), max_length=200, blank=True)
    result = models.CharField(
        _("调解结果"), max_length=12, choices=MediationResult.choices, blank=True
    )
    result_on = models.DateField(_("结果日期"), null=True, blank=True)
    facts = models.TextField(_("纠纷主要事实、争议事项"), blank=True)
    terms = models.TextField(_("达成协议的内容"), blank=True)
    performance_method = models.CharField(_("履行方式"), max_length=200, blank=True)
    perform_by = models.DateField(_("履行期限"), null=True, blank=True)
    signed_on = models.DateField(_("协议签订日期"), null=True, blank=True)
    signatures = models.CharField(_("签名盖章"), max_length=300, blank=True)
    judicial_applied_on = models.DateField(_("申请司法确认日期"), null=True, blank=True)
    judicial_confirmed = models.BooleanField(_("司法确认有效"), null=True, blank=True)
    performance = models.CharField(
        _("履行情况"), max_length=10, choices=Performance.choices, blank=True
    )
    performance_checked_on = models.DateField(_("履行回访日期"), null=True, blank=True)
    performance_note = models.TextField(_("履行情况说明"), blank=True)

    class Meta:
        verbose_name = _("矛盾纠纷调解")

    def __str__(self):
        return f"{self.case_id}"


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("申请人")
    RESPONDENT = "respondent", _("被申请人")
    THIRD = "third", _("第三人")


class DisputeParty(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="parties")
    name = models.CharField(_("姓名或名称"), max_length=100)
    role = models.CharField(_("当事人身份"), max_length=12, choices=PartyRole.choices)
    address = models.CharField(_("住所"), max_length=200, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self):
        return self.name


class MediationSession(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="sessions")
    held_on = models.DateField(_("调解日期"))
    place = models.CharField(_("调解地点"), max_length=200)
    record = models.TextField(_("调解记录"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self):
        return f"{self.held_on} {self.place}"


# The State Council's holiday arrangement for years chinesecalendar does not know yet.


class HolidayYear(models.Model):
    year = models.PositiveSmallIntegerField(_("年份"), primary_key=True)
    document = models.CharField(_("文件"), max_length=200)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("节假日安排")

    def __str__(self):
        return f"{self.year}"


class HolidayDay(models.Model):
    year = models.ForeignKey(HolidayYear, on_delete=models.CASCADE, related_name="days")
    day = models.DateField(_("日期"), unique=True)
    workday = models.BooleanField(_("调休上班"))
    name = models.CharField(_("节日"), max_length=20)

    class Meta:
        ordering = ["day"]

    def __str__(self):
        return f"{self.day}"
