from django.core.management.base import BaseCommand

from minqing.households.services import personal_data_rotate


class Command(BaseCommand):
    help = "用当前密钥重新加密个人信息；--rehash 同时按当前哈希密钥重算检索哈希（见 docs/personal-data.md）"

    def add_arguments(self, parser):
        parser.add_argument("--rehash", action="store_true", help="哈希密钥更换后使用")

    def handle(self, *args, rehash, **options):
        counts = personal_data_rotate(rehash=rehash)
        self.stdout.write(
            f"已检查 {counts['checked']:,} 人，重新加密 {counts['reencrypted']:,} 人"
            + ("，并重算检索哈希" if rehash else "")
        )
