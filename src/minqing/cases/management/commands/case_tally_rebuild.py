"""``minqing case_tally_rebuild``: recompute the figures' flags and monthly tally from the
cases (after a bulk load or a restore, or to repair). Service writes wait while it runs."""

from django.core.management.base import BaseCommand

from minqing.cases.figures import figures_rebuild


class Command(BaseCommand):
    help = "按案件重新计算统计标记和月度汇总表（批量导入、恢复数据后或修复时使用）。"

    def handle(self, *args, **options):
        rows = figures_rebuild()
        self.stdout.write(f"案件统计汇总表已重建：{rows} 行。")
