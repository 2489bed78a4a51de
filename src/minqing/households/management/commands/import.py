"""``minqing import households FILE [--dry-run] [--user USERNAME] [--partial]``"""

import sys
import time
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from minqing.accounts.models import User
from minqing.audit.context import origin
from minqing.households.importer import RollError, import_roll

SHOWN_REFUSALS = 1000


class Command(BaseCommand):
    help = "导入：minqing import households 花名册.xlsx [--dry-run] [--user 用户名] [--partial]"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        households = sub.add_parser("households", help="导入户籍花名册（.xlsx、.xls、.ods、.csv）")
        households.add_argument("file", type=Path, help="花名册文件")
        households.add_argument(
            "--dry-run", action="store_true", help="只检查，报告将新增、更新和拒绝的行，不写入"
        )
        households.add_argument(
            "--user",
            help="以此用户的身份和管辖范围导入（审计日志记在其名下）；不填则不限范围",
        )
        households.add_argument(
            "--partial", action="store_true", help="只导入无误的行（默认：有一行出错则全部不导入）"
        )

    def handle(self, *args, what, file: Path, dry_run, user, partial, **options):
        actor = None
        if user:
            actor = User.objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"用户“{user}”不存在或已停用")
        if not file.exists():
            raise CommandError(f"文件 {file} 不存在")
        started = time.perf_counter()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= 0.5 or done >= total:
                last[0] = now
                self.stdout.write(f"\r已处理 {done:,} / {max(total, done):,} 行", ending="")
                self.stdout.flush()

        try:
            with origin("import"):
                result = import_roll(
                    actor=actor,
                    source=file,
                    filename=file.name,
                    dry_run=dry_run,
                    partial=partial,
                    progress=progress,
                )
        except PermissionDenied as error:
            raise CommandError(str(error)) from None
        except RollError as error:
            self.stdout.write("")
            raise CommandError(str(error)) from None
        self.stdout.write("")
        seconds = time.perf_counter() - started
        for header in result.ignored_columns:
            self.stdout.write(f"忽略未识别的列：{header}")
        for refusal in result.refusals[:SHOWN_REFUSALS]:
            where = (
                f"{refusal.column}列（{refusal.header}）"
                if refusal.header
                else (f"{refusal.column}列" if refusal.column else "本行")
            )
            value = f"“{refusal.value}”" if refusal.value else ""
            self.stdout.write(f"第 {refusal.row} 行 {where}{value}：{refusal.reason}")
        if len(result.refusals) > SHOWN_REFUSALS:
            self.stdout.write(f"……另有 {len(result.refusals) - SHOWN_REFUSALS:,} 处错误")
        people, households = result.people, result.households
        verb = "将" if not result.applied else ""
        self.stdout.write(
            f"人员：{verb}新增 {people.created:,}，{verb}更新 {people.updated:,}，"
            f"无变化 {people.unchanged:,}，有错误 {people.refused:,}；"
            f"户：{verb}新增 {households.created:,}，{verb}更新 {households.updated:,}，"
            f"无变化 {households.unchanged:,}，整户未导入 {households.refused:,}"
            f"（{result.rows:,} 行，{seconds:.1f} 秒，"
            f"{result.rows / seconds if seconds else 0:,.0f} 行/秒）"
        )
        if result.households_in_part:
            self.stdout.write(
                f"其中 {result.households_in_part:,} 户有成员行出错，"
                + ("只导入了部分成员" if result.applied else "若 --partial 将只导入部分成员")
            )
        if result.refusals and not result.applied:
            raise CommandError(
                f"文件有 {len(result.refusals):,} 处错误，未导入任何数据"
                + (
                    "（--dry-run）"
                    if dry_run
                    else "；改正后重新导入，或用 --partial 只导入无误的行"
                )
            )
        if result.applied:
            self.stdout.write(
                self.style.SUCCESS("导入完成" if not result.refusals else "已导入无误的行")
            )
        elif dry_run:
            self.stdout.write("检查完成（--dry-run，未写入）")
        sys.stdout.flush()
