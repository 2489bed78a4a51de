from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    WEB = "web", _("网页")
    API = "api", _("接口")
    IMPORT = "import", _("导入")
    COMMAND = "command", _("命令")
    SYSTEM = "system", _("系统")


class AppendOnlyError(Exception):
    pass


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("审计日志只能追加，不能修改")

    def delete(self):
        raise AppendOnlyError("审计日志只能追加，不能删除")


class AuditLog(models.Model):
    """Who did what, when and from where. Append-only: the model refuses update and delete,
    and database triggers (migration 0002) refuse them for raw SQL too."""

    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # audit_actor_at_idx leads with it (migration 0003)
    )
    # The name as it was at the time: a later rename of the user does not rewrite history.
    actor_name = models.CharField(_("操作人姓名"), max_length=150, blank=True)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    entity = models.CharField(_("对象类型"), max_length=50)
    entity_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    action = models.CharField(_("操作"), max_length=30)
    # The region the record belongs to, so that a reader sees only rows within reach;
    # empty for national rows (the region tree, accounts without a region).
    region_code = models.CharField(_("区划代码"), max_length=12, blank=True)
    changes = models.JSONField(_("变更"), default=dict, blank=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        indexes = [
            # The audit page: newest first within a region prefix.
            models.Index(fields=["region_code", "-at"], name="audit_region_at_idx"),
            # History of one record (entity page "修改记录").
            models.Index(fields=["entity", "entity_id"], name="audit_entity_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.entity}#{self.entity_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("审计日志只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("审计日志只能追加，不能删除")
