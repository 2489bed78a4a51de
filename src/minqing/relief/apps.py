from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReliefConfig(AppConfig):
    name = "minqing.relief"
    verbose_name = _("救助与重建")

    def ready(self) -> None:
        from minqing.accounts.roles import Cap
        from minqing.audit.views import register_audit_labels
        from minqing.demo.steps import register_step
        from minqing.households.sections import register_section
        from minqing.relief.demo import build_demo_relief
        from minqing.relief.views import household_section, today_items
        from minqing.web.nav import NavItem, register_nav
        from minqing.web.today import register_today

        register_nav(
            NavItem(_("救助发放"), "relief:programmes", order=40),
            NavItem(_("重建进度"), "relief:rebuild", order=41),
            NavItem(_("隐患点"), "relief:hazards", order=42),
            NavItem(_("物资台账"), "relief:stock", Cap.WRITE, order=43),
        )
        register_section(order=40, build=household_section)
        register_today(today_items)
        register_step(order=40, build=build_demo_relief)
        register_audit_labels(
            entities={
                "relief.programme": _("救助项目"),
                "relief.cycle": _("发放批次"),
                "relief.ruleset": _("救助规则"),
                "relief.list": _("救助名单"),
                "relief.objection": _("公示异议"),
                "relief.payment": _("发放记录"),
                "relief.bank_batch": _("银行代发"),
                "relief.material": _("物资"),
                "relief.depot": _("仓库"),
                "relief.stock": _("库存"),
                "relief.project": _("重建项目"),
                "relief.target": _("重建目标"),
                "relief.hazard_site": _("地质灾害隐患点"),
            },
            actions={
                "compute": _("生成名单"),
                "transition": _("名单流转"),
                "decide": _("处理"),
                "pay": _("发放"),
                "receive": _("入库"),
                "count": _("盘点"),
                "milestone": _("登记进度"),
                "set": _("设定"),
            },
        )
