"""The household registry (户籍台账): households, people, categories with periods, dwellings.

Personal data never sits in the clear: 身份证号 and phone are stored encrypted (``*_cipher``)
with keyed hashes for exact lookup (``*_hash``) and for search by their last four digits
(``*_tail_hash``); see minqing/lib/crypto.py. The birth date is kept in the clear (ages and
"elderly living alone" need it), which is why not even the last four digits are.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from minqing.lib.crypto import decrypt
from minqing.regions.models import Region


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class PersonStatus(models.TextChoices):
    RESIDENT = "resident", _("在家居住")
    AWAY = "away", _("外出务工")
    MOVED_OUT = "moved_out", _("已迁出")
    DECEASED = "deceased", _("已故")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    GRANDPARENT = "grandparent", _("祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    CHILD_IN_LAW = "child_in_law", _("儿媳女婿")
    OTHER = "other", _("其他")


class Household(models.Model):
    """A household (户) of one village."""

    # No index of its own: household_region_id_idx (region, id) leads with it.
    region = models.ForeignKey(
        Region,
        verbose_name=_("所属村（社区）"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    address = models.CharField(_("家庭住址"), max_length=200, blank=True)
    head = models.ForeignKey(
        "Person",
        verbose_name=_("户主"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Copies of the head's name, and the number of current members, kept by the services so
    # that the list page filters and sorts a 230k-row table without joins.
    head_name = models.CharField(_("户主姓名"), max_length=50, blank=True)
    head_initials = models.CharField(max_length=50, blank=True)
    member_count = models.PositiveSmallIntegerField(_("家庭人口"), default=0)
    # 销户: a household none of whose members lives here any more (moved away, died) is
    # closed rather than deleted; it keeps its history and leaves every current list.
    closed_on = models.DateField(_("销户日期"), null=True, blank=True)
    closed_reason = models.CharField(_("销户原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("户")
        indexes = [
            # The list page: a region prefix range, newest first (keyset on id).
            models.Index(fields=["region", "id"], name="household_region_id_idx"),
            # Search by head's name prefix and pinyin initials; varchar_pattern_ops lets
            # PostgreSQL answer LIKE 'x%' from the index (SQLite ignores opclasses).
            models.Index(
                fields=["head_name"],
                name="household_head_name_idx",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["head_initials"],
                name="household_head_initials_idx",
                opclasses=["varchar_pattern_ops"],
            ),
        ]

    def __str__(self):
        return f"{self.head_name or '—'}户（{self.region_id}）"

    @property
    def title(self) -> str:
        """How pages name the household: 张三户, or by its address while it has no head."""
        if self.head_name:
            return _("%(name)s户") % {"name": self.head_name}
        return _("%(address)s（无户主）") % {"address": self.address or f"#{self.pk}"}


class Person(models.Model):
    name = models.CharField(_("姓名"), max_length=50)
    name_initials = models.CharField(max_length=50, blank=True)
    id_cipher = models.BinaryField(null=True, editable=False)
    # NULL, not "", where there is no number: unique holds among the people who have one.
    id_hash = models.CharField(max_length=32, null=True, unique=True, editable=False)  # noqa: DJ001
    id_tail_hash = models.CharField(max_length=32, null=True, db_index=True, editable=False)  # noqa: DJ001
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    phone_cipher = models.BinaryField(null=True, editable=False)
    phone_hash = models.CharField(max_length=32, null=True, db_index=True, editable=False)  # noqa: DJ001
    phone_tail_hash = models.CharField(max_length=32, null=True, db_index=True, editable=False)  # noqa: DJ001
    status = models.CharField(
        _("人员状态"), max_length=12, choices=PersonStatus.choices, default=PersonStatus.RESIDENT
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("所在户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    relation = models.CharField(
        _("与户主关系"), max_length=16, choices=Relation.choices, blank=True
    )
    # The village of the household the person is (or was last) in: the scope of the record.
    # No index of its own: person_region_id_idx (region, id) leads with it.
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("人员")
        indexes = [
            # Search: covering (prefix, household) indexes, so that "张" finds its households
            # without visiting the person rows (selectors._search).
            models.Index(
                fields=["name", "household"],
                name="person_name_household_idx",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(
                fields=["name_initials", "household"],
                name="person_initials_household_idx",
                opclasses=["varchar_pattern_ops", "int8_ops"],
            ),
            models.Index(fields=["region", "id"], name="person_region_id_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def id_number(self) -> str:
        """The full number: only for code that has checked the reader may see it."""
        return decrypt(self.id_cipher) if self.id_cipher else ""

    @property
    def phone(self) -> str:
        return decrypt(self.phone_cipher) if self.phone_cipher else ""


class Membership(models.Model):
    """A person's time in a household: the history behind Person.household."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="memberships")
    relation = models.CharField(_("与户主关系"), max_length=16, choices=Relation.choices)
    joined_on = models.DateField(_("迁入日期"))
    left_on = models.DateField(_("迁出日期"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("户籍变动")
        constraints = [
            # A person belongs to at most one household at a time.
            models.UniqueConstraint(
                fields=["person"], condition=Q(left_on__isnull=True), name="membership_one_current"
            ),
        ]

    def __str__(self):
        return f"{self.person_id} @ {self.household_id}"


class CategoryScope(models.TextChoices):
    HOUSEHOLD = "household", _("户")
    PERSON = "person", _("人")


class Category(models.Model):
    """A category a household or person can be in for a period (低保, 残疾 …): data, not code."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=40, unique=True)
    scope = models.CharField(_("适用对象"), max_length=10, choices=CategoryScope.choices)
    has_grade = models.BooleanField(_("分等级"), default=False)
    # Categories whose people a cadre must visit (五必访), for the outreach issue.
    must_visit = models.BooleanField(_("必访"), default=False)
    sensitive = models.BooleanField(_("敏感（健康、信访）"), default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("人员类别")
        ordering = ["order", "id"]

    def __str__(self):
        return self.name


class CategoryGrant(models.Model):
    """A household or a person in a category from ``start`` until ``end`` (open: null)."""

    # Indexed by the composite indexes below, each leading with the column.
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="grants", db_index=False
    )
    household = models.ForeignKey(
        Household,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="categories",
        db_index=False,
    )
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="categories",
        db_index=False,
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    grade = models.CharField(_("等级"), max_length=10, blank=True)
    start = models.DateField(_("起始日期"))
    end = models.DateField(_("终止日期"), null=True, blank=True)
    document = models.CharField(_("认定文件"), max_length=200, blank=True)
    end_reason = models.CharField(_("终止原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("类别认定")
        constraints = [
            models.CheckConstraint(
                condition=Q(household__isnull=False, person__isnull=True)
                | Q(household__isnull=True, person__isnull=False),
                name="grant_household_xor_person",
            ),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="grant_end_after_start",
            ),
        ]
        indexes = [
            # "Who was 低保 on 1 March": category, then the period.
            models.Index(fields=["category", "start", "end"], name="grant_category_period_idx"),
            models.Index(fields=["region", "category"], name="grant_region_category_idx"),
            # A household's or a person's grants of one category (the list's category filter
            # tests each household): with the household alone SQLite would rather walk
            # (category, start), every grant of the category for each household. The start
            # makes these the better match in its eyes, statistics or not.
            models.Index(
                fields=["household", "category", "start"], name="grant_household_category_idx"
            ),
            models.Index(fields=["person", "category", "start"], name="grant_person_category_idx"),
        ]

    def __str__(self):
        return f"{self.category_id} {self.start}–{self.end or ''}"

    def active_on(self, day) -> bool:
        return self.start <= day and (self.end is None or self.end >= day)


class SafetyGrade(models.TextChoices):
    """JGJ 125 危险房屋鉴定 grades."""

    A = "A", _("A级：结构安全")
    B = "B", _("B级：基本安全，个别构件不满足要求")
    C = "C", _("C级：局部危险，需维修加固")
    D = "D", _("D级：整体危险，需拆除重建")


class DamageCause(models.TextChoices):
    NONE = "", _("无")
    FLOOD = "flood", _("洪涝")
    LANDSLIDE = "landslide", _("滑坡、泥石流")
    EARTHQUAKE = "earthquake", _("地震")
    AGE = "age", _("年久失修")
    OTHER = "other", _("其他")


class Dwelling(models.Model):
    """The household's dwelling and its current safety assessment."""

    household = models.OneToOneField(Household, on_delete=models.CASCADE, related_name="dwelling")
    # No index of its own: dwelling_region_grade_idx (region, grade) leads with it.
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    grade = models.CharField(_("危房等级"), max_length=1, choices=SafetyGrade.choices, blank=True)
    assessed_on = models.DateField(_("鉴定日期"), null=True, blank=True)
    appraiser = models.CharField(_("鉴定人（机构）"), max_length=100, blank=True)
    cause = models.CharField(_("受损原因"), max_length=12, choices=DamageCause.choices, blank=True)
    ground_floor_flooded = models.BooleanField(_("首层进水"), default=False)

    class Meta:
        verbose_name = _("住房")
        indexes = [models.Index(fields=["region", "grade"], name="dwelling_region_grade_idx")]

    def __str__(self):
        return f"{self.household_id}: {self.grade or '—'}"


class Assessment(models.Model):
    """One safety assessment of a dwelling: the grade's history."""

    dwelling = models.ForeignKey(Dwelling, on_delete=models.CASCADE, related_name="assessments")
    grade = models.CharField(_("危房等级"), max_length=1, choices=SafetyGrade.choices)
    assessed_on = models.DateField(_("鉴定日期"))
    appraiser = models.CharField(_("鉴定人（机构）"), max_length=100, blank=True)
    cause = models.CharField(_("受损原因"), max_length=12, choices=DamageCause.choices, blank=True)
    ground_floor_flooded = models.BooleanField(_("首层进水"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("房屋鉴定记录")
        ordering = ["-assessed_on", "-id"]

    def __str__(self):
        return f"{self.grade} {self.assessed_on}"


class ImportJob(models.Model):
    """One upload of a household roll and its way through check and import (importer.py).

    The uploaded file is kept under ``VAR_DIR/imports`` until the import is done; the
    refusals stored here have ID numbers and phones masked (the database never holds them in
    clear), and at most ``REFUSALS_KEPT`` of them: the annotated .xlsx has them all.
    """

    REFUSALS_KEPT = 1000

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("已上传")
        MAPPING = "mapping", _("待对应列名")
        CHECKING = "checking", _("正在检查")
        CHECKED = "checked", _("已检查")
        RUNNING = "running", _("正在导入")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    filename = models.CharField(_("文件名"), max_length=200)
    stored_name = models.CharField(max_length=100)  # under VAR_DIR / "imports"
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    # {column number: roll column key, or "" to skip}; empty until a mapping is needed.
    mapping = models.JSONField(default=dict, blank=True)
    header_row = models.PositiveIntegerField(default=0)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    partial = models.BooleanField(_("仅导入无误的行"), default=False)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    refusals = models.JSONField(default=list, blank=True)
    refused_total = models.PositiveIntegerField(default=0)
    errors_name = models.CharField(max_length=100, blank=True)  # the annotated .xlsx
    error = models.TextField(_("失败原因"), blank=True)
    # The reach of the user who uploaded it: who else may see and run the job.
    scope = models.CharField(_("范围"), max_length=12)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("花名册导入")
        indexes = [
            # The upload page lists the recent jobs within the user's scope.
            models.Index(fields=["scope", "-created_at"], name="importjob_scope_created_idx"),
        ]

    def __str__(self):
        return f"{self.filename}（{self.get_status_display()}）"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def busy(self) -> bool:
        return self.status in (self.Status.UPLOADED, self.Status.CHECKING, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        return min(100, self.rows_done * 100 // self.rows_total) if self.rows_total else 0
