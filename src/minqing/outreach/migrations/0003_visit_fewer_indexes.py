"""Drop the single-column indexes Django made for three of a visit's keys: the composite indexes
``visit_campaign_time_idx``, ``visit_household_idx`` and ``visit_author_time_idx`` lead with the
same columns and serve the same lookups, and every visit posted wrote all six. Dropped by name
(Django names them alike on SQLite and PostgreSQL): altering the fields would make SQLite copy
the whole table."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from minqing.lib.migrations import drop_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("households", "0006_household_serial_scans"),
        ("outreach", "0002_tally_visits"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        drop_indexes(
            "outreach_visit",
            ("outreach_visit_author_id_bc6f880e", "author_id"),
            ("outreach_visit_campaign_id_654a4a0c", "campaign_id"),
            ("outreach_visit_household_id_d8eb80db", "household_id"),
            state_operations=[
                migrations.AlterField(
                    model_name="visit",
                    name="author",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="走访干部",
                    ),
                ),
                migrations.AlterField(
                    model_name="visit",
                    name="campaign",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="visits",
                        to="outreach.campaign",
                    ),
                ),
                migrations.AlterField(
                    model_name="visit",
                    name="household",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="households.household",
                    ),
                ),
            ],
        )
    ]
