from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HouseholdsConfig(AppConfig):
    name = "minqing.households"
    verbose_name = _("户籍台账")

    def ready(self) -> None:
        from minqing.audit.views import register_audit_labels

        register_audit_labels(
            actions={
                "head_change": _("户主变更"),
                "close_household": _("销户"),
                "reopen_household": _("撤销销户"),
            }
        )
