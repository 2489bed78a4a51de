import csv
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from minqing.regions.codes import pad
from minqing.regions.services import (
    PACKAGED_EDITION,
    PACKAGED_FILE,
    read_region_file,
    regions_load,
)


class Command(BaseCommand):
    help = "行政区划：minqing regions load [--within 130681] [--file F --edition Y --successors S]"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="载入或更新区划（可重复执行）")
        load.add_argument(
            "--file",
            type=Path,
            default=PACKAGED_FILE,
            help="code<TAB>name 文件（可为 .gz），默认随软件发布的2023年版",
        )
        load.add_argument("--edition", type=int, default=PACKAGED_EDITION, help="版本年份")
        load.add_argument("--within", default="", help="只载入此代码前缀的区划及其上级，如 130681")
        load.add_argument(
            "--successors", type=Path, help="CSV：原代码,现代码（新版本撤销、合并的区划去向）"
        )

    def handle(self, *args, action, **options):
        within = options["within"]
        if within and (not within.isdigit() or len(within) not in (2, 4, 6, 9, 12)):
            raise CommandError(f"--within “{within}” 应为2、4、6、9或12位区划代码前缀")
        successors = []
        if options["successors"]:
            with options["successors"].open(encoding="utf-8-sig") as handle:
                for lineno, row in enumerate(csv.reader(handle), start=1):
                    if len(row) != 2 or not all(c.strip().isdigit() for c in row):
                        raise CommandError(
                            f"{options['successors']} 第 {lineno} 行应为“原代码,现代码”"
                        )
                    successors.append((pad(row[0].strip()), pad(row[1].strip())))
        started = time.perf_counter()
        try:
            result = regions_load(
                rows=read_region_file(options["file"]),
                edition=options["edition"],
                within=within,
                successors=successors,
            )
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        seconds = time.perf_counter() - started
        if not result.changed:
            self.stdout.write(
                f"区划已是 {result.edition} 年版最新：文件中 {result.total:,} 个区划，无变化（{seconds:.1f} 秒）"
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"已载入 {result.edition} 年版区划：文件中 {result.total:,} 个，新增 {result.created:,}，"
                f"更名 {result.renamed:,}，撤销 {result.retired:,}，恢复 {result.revived:,}，"
                f"沿革 {result.successors:,}（{seconds:.1f} 秒）"
            )
        )
        for code, old, new in result.renames[:20]:
            self.stdout.write(f"  更名 {code}：{old} → {new}")
