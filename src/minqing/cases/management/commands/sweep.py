"""``minqing sweep``: mark overdue cases, escalate by rule, notify; say what was done.

minqing sweep              once, now
minqing sweep --every 300  again and again, every 300 seconds (Ctrl-C stops)
minqing sweep --schedule   start the periodic background task (django-tasks worker)
"""

import time

from django.core.management.base import BaseCommand

from minqing.cases import services


class Command(BaseCommand):
    help = "找出逾期案件：标记逾期、按规则升级、通知包案领导和承办单位。"

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="repeat every N seconds")
        parser.add_argument(
            "--schedule", action="store_true", help="enqueue the periodic sweep task for the worker"
        )

    def handle(self, *args, every: int = 0, schedule: bool = False, **options):
        if schedule:
            from minqing.cases.tasks import sweep_cases

            result = sweep_cases.enqueue()
            self.stdout.write(f"已排入后台任务：{result.id}")
            return
        while True:
            report = services.sweep()
            self.stdout.write(report.summary())
            for number in report.escalated:
                self.stdout.write(f"  升级：{number}")
            for error in report.errors:
                self.stderr.write(f"  出错：{error}")
            if not every:
                return
            time.sleep(every)
