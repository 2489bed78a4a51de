from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "minqing.cases"
    verbose_name = _("案件台账")

    def ready(self) -> None:
        from minqing.cases import from_visit, hooks
        from minqing.cases.deadlines import holiday_source
        from minqing.lib.workdays import register_year_source

        # Years chinesecalendar does not know come from the arrangement a county admin
        # entered (HolidayYear); a year known to neither is an error, never a guess.
        register_year_source(holiday_source)
        hooks.register()
        from_visit.wire()
