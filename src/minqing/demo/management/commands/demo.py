from django.core.management.base import BaseCommand, CommandError

from minqing.audit.context import origin
from minqing.demo.county import DEMO_HOUSEHOLDS, build_demo, build_demo_households
from minqing.demo.steps import STEPS


class Command(BaseCommand):
    help = (
        "建立演示县（涿州市）：区划、单位、每种角色一个用户，以及生成的户籍台账。"
        "同一 seed 结果相同，可重复执行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--households",
            type=int,
            default=DEMO_HOUSEHOLDS,
            metavar="N",
            help=f"生成的户数（默认 {DEMO_HOUSEHOLDS:,}；0 不生成）",
        )

    def handle(self, *args, seed, households, **options):
        if households < 0:
            raise CommandError("--households 不能为负数")
        with origin("command"):
            logins = build_demo(seed=seed)
            written = build_demo_households(seed=seed, count=households) if households else None
            # Later areas (visits, cases, relief) add their steps from AppConfig.ready().
            reports = [step.build(seed=seed) for step in STEPS] if households else []
        self.stdout.write(self.style.SUCCESS("演示县 涿州市 已就绪。演示账户："))
        for spec, password in logins:
            self.stdout.write(
                f"  {spec.username:<14} {password:<14} {spec.full_name} · {spec.role.label}"
            )
        if written is not None:
            self.stdout.write(
                f"户籍台账：新建 {written.households:,} 户、{written.people:,} 人"
                f"（类别认定 {written.grants:,} 条，房屋鉴定 {written.assessments:,} 条）；"
                f"已存在而跳过 {written.skipped:,} 户。"
            )
        for line in reports:
            if line:
                self.stdout.write(line)
