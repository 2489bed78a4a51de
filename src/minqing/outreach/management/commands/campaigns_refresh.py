"""``minqing campaigns_refresh``: every running campaign's enrolment and must-visit rule, now.

minqing campaigns_refresh             once, now
minqing campaigns_refresh --recount   once, and every counter rebuilt from the visits (a repair)
minqing campaigns_refresh --schedule  start the daily background task (django-tasks worker)
"""

from django.core.management.base import BaseCommand

from minqing.audit.context import origin
from minqing.outreach import services
from minqing.outreach.models import Campaign


class Command(BaseCommand):
    help = "刷新进行中的走访活动：补登新户，按当日的类别认定重算必访户及其到期日。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--schedule", action="store_true", help="enqueue the daily refresh for the worker"
        )
        parser.add_argument(
            "--recount", action="store_true", help="also rebuild every counter from the visits"
        )

    def handle(self, *args, schedule: bool = False, recount: bool = False, **options):
        if schedule:
            from minqing.outreach.tasks import refresh_campaigns

            result = refresh_campaigns.enqueue()
            self.stdout.write(f"已排入后台任务：{result.id}")
            return
        with origin("system"):
            done = services.campaigns_refresh(recount=recount)
        names = dict(Campaign.objects.filter(pk__in=done).values_list("pk", "name"))
        for pk, households in done.items():
            self.stdout.write(f"{names[pk]}：在册 {households:,} 户")
        if not done:
            self.stdout.write("没有进行中的走访活动。")
