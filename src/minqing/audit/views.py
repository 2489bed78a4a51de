from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from minqing.accounts.roles import Cap
from minqing.accounts.selectors import users_in_reach
from minqing.audit.selectors import audit_filtered
from minqing.lib.forms import DateInput
from minqing.lib.htmx import render_page
from minqing.lib.paging import keyset_page

# Singular nouns ("#12" follows them in a row), hence their own context.
ENTITY_LABELS = {
    "accounts.user": pgettext_lazy("audit entity", "用户"),
    "accounts.apitoken": pgettext_lazy("audit entity", "访问令牌"),
    "accounts.orgunit": pgettext_lazy("audit entity", "单位"),
    "regions.edition": pgettext_lazy("audit entity", "区划版本"),
    "households.household": pgettext_lazy("audit entity", "户"),
    "households.person": pgettext_lazy("audit entity", "人员"),
    "households.categorygrant": pgettext_lazy("audit entity", "类别认定"),
    "households.dwelling": pgettext_lazy("audit entity", "住房"),
    "households.import": pgettext_lazy("audit entity", "花名册导入"),
}
ACTION_LABELS = {
    "create": _("新增"),
    "update": _("修改"),
    "delete": _("删除"),
    "login": _("登录"),
    "lock": _("锁定"),
    "unlock": _("解锁"),
    "set_password": _("修改密码"),
    "revoke": _("吊销"),
    "load": _("载入"),
    "view_personal": _("查看完整个人信息"),
    "move": _("迁移"),
    "grant": _("认定"),
    "end": _("终止"),
    "assess": _("鉴定"),
    "import": _("导入"),
    "export_personal": _("导出完整个人信息"),
    "rotate_keys": _("轮换密钥"),
}


def register_audit_labels(*, entities: dict | None = None, actions: dict | None = None) -> None:
    """An app's audit entity and action labels, called from its ``AppConfig.ready()``."""
    ENTITY_LABELS.update(entities or {})
    ACTION_LABELS.update(actions or {})


class AuditFilter(forms.Form):
    entity = forms.ChoiceField(
        # A callable: apps add their labels in ready() (register_audit_labels).
        label=_("对象类型"),
        required=False,
        choices=lambda: [("", _("全部")), *ENTITY_LABELS.items()],
    )
    actor = forms.TypedChoiceField(label=_("操作人"), required=False, coerce=int, empty_value=None)
    date = forms.DateField(label=_("日期从"), required=False, widget=DateInput)
    until = forms.DateField(label=_("至"), required=False, widget=DateInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("全部"))] + [
            (u.pk, f"{u.display_name}（{u.username}）")
            for u in users_in_reach(user).order_by("username")
        ]


@login_required
@require_GET
def log(request):
    if not request.user.can(Cap.READ_AUDIT):
        raise PermissionDenied(gettext("您没有查看审计日志的权限"))
    form = AuditFilter(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = audit_filtered(
        request.user,
        entity=filters.get("entity", ""),
        actor_id=filters.get("actor"),
        date_from=filters.get("date"),
        date_to=filters.get("until"),
    )
    page = keyset_page(qs, request.GET, order=("at", "id"), size=50)
    for row in page.rows:
        row.entity_label = ENTITY_LABELS.get(row.entity, row.entity)
        row.action_label = ACTION_LABELS.get(row.action, row.action)
    return render_page(request, "audit/log.html", "rows", {"form": form, "page": page})
