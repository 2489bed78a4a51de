from django.core.management.base import BaseCommand

from minqing.demo.county import build_demo


class Command(BaseCommand):
    help = "建立演示县（涿州市）：区划、单位、每种角色一个用户。同一 seed 结果相同，可重复执行。"

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, seed, **options):
        logins = build_demo(seed=seed)
        self.stdout.write(self.style.SUCCESS("演示县 涿州市 已就绪。演示账户："))
        for spec, password in logins:
            self.stdout.write(
                f"  {spec.username:<14} {password:<14} {spec.full_name} · {spec.role.label}"
            )
