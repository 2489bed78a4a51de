"""Drop the single-column index Django made for ``actor``: ``audit_actor_at_idx`` leads with the
same column, and every service's audit row wrote both. Dropped by name (alike on SQLite and
PostgreSQL): altering the field would make SQLite copy the table, and the copy would lose the
append-only triggers of migration 0002."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from minqing.lib.migrations import drop_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_triggers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        drop_indexes(
            "audit_auditlog",
            ("audit_auditlog_actor_id_20e70a27", "actor_id"),
            state_operations=[
                migrations.AlterField(
                    model_name="auditlog",
                    name="actor",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="操作人",
                    ),
                )
            ],
        )
    ]
