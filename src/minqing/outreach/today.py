"""What outreach puts under 今日待办: a cadre's households due a visit, a supervisor's
doubtful visits."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from minqing.accounts.roles import Cap
from minqing.outreach.models import Flag
from minqing.outreach.selectors import my_households
from minqing.regions.models import prefix_q
from minqing.web.today import TodayItem


def outreach_today(user) -> list:
    items = []
    if user.can(Cap.WRITE):
        due = [r for r in my_households(user, today=timezone.localdate()) if r.due_rank < 3]
        if due:
            items.append(
                TodayItem(
                    gettext("待走访的包联户"),
                    len(due),
                    reverse("outreach:mine"),
                    gettext("必访户逾期、尚未走访或有承诺待兑现"),
                )
            )
    if user.can(Cap.SUPERVISE):
        flagged = Flag.objects.filter(prefix_q("region_id", user.reach), cleared_at__isnull=True)
        count = flagged.values("visit").distinct().count()
        if count:
            items.append(
                TodayItem(
                    gettext("存疑的走访记录"),
                    count,
                    reverse("outreach:visits") + "?flagged=1",
                    gettext("督查标记或系统发现的不可能行程，待核实"),
                )
            )
    return items
