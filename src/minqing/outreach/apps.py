from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OutreachConfig(AppConfig):
    name = "minqing.outreach"
    verbose_name = _("走访")

    def ready(self) -> None:
        from minqing.accounts.roles import Cap
        from minqing.audit.views import register_audit_labels
        from minqing.demo.steps import register_step
        from minqing.households import hooks as household_hooks
        from minqing.households.sections import register_section
        from minqing.outreach import services
        from minqing.outreach.demo import build_demo_outreach
        from minqing.outreach.today import outreach_today
        from minqing.outreach.views import household_section
        from minqing.web.nav import NavItem, register_nav
        from minqing.web.today import register_today

        register_nav(
            NavItem(_("走访活动"), "outreach:campaigns", order=20),
            NavItem(_("我的包联户"), "outreach:mine", Cap.WRITE, order=21),
        )
        register_section(order=20, build=household_section)
        household_hooks.household_changed.append(services.households_changed)
        register_today(outreach_today)
        register_audit_labels(
            entities={
                "outreach.campaign": pgettext_lazy("audit entity", "走访活动"),
                "outreach.pairing": pgettext_lazy("audit entity", "包联"),
                "outreach.visit": pgettext_lazy("audit entity", "走访记录"),
                "outreach.need": pgettext_lazy("audit entity", "走访诉求"),
            },
            actions={
                "pair": _("包联"),
                "handover": _("移交"),
                "amend": _("补正"),
                "send_code": _("发送确认码"),
                "wrong_code": _("确认码错误"),
                "confirm": _("群众确认"),
                "flag": _("标记存疑"),
                "clear": _("解除存疑"),
                "raise_case": _("立案"),
                "refresh": _("刷新在册户"),
                "recount": _("按走访记录重算计数"),
            },
        )
        register_step(order=20, build=build_demo_outreach)
