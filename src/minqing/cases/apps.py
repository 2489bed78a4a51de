from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "minqing.cases"
    verbose_name = _("案件台账")

    def ready(self) -> None:
        # Nav entries, household page sections, today items, audit labels and demo steps are
        # registered here (web.nav, households.sections, web.today, audit.views, demo.steps).
        pass
