"""Fewer indexes written for each visit posted, which inserts a visit and rewrites its
household's enrolment (a new version of the row, with an entry in every index of the table,
whenever ``next_due`` changes or the page is full).

- The enrolment's single-column indexes on ``campaign_id`` and ``cadre_id``: the composite
  indexes ``enrolment_campaign_region_idx`` and ``enrolment_cadre_idx`` lead with the same
  columns. Dropped by name, as in 0003.
- On PostgreSQL, the ``varchar_pattern_ops`` copies Django adds beside the indexes of text
  columns, for ``LIKE 'x%'``: the visit's ``client_id`` and ``region_id`` and the enrolment's
  ``region_id``. Client ids are looked up whole, and regions by range (``prefix_q``), which the
  plain indexes serve."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from minqing.lib.migrations import drop_indexes, drop_pattern_ops_indexes

PATTERN_OPS = [
    ("outreach_visit_client_id_9cedabf1_like", "outreach_visit", "client_id"),
    ("outreach_visit_region_id_058cb17f_like", "outreach_visit", "region_id"),
    ("outreach_enrolment_region_id_447bb04d_like", "outreach_enrolment", "region_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0003_visit_fewer_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        drop_indexes(
            "outreach_enrolment",
            ("outreach_enrolment_campaign_id_038e49dd", "campaign_id"),
            ("outreach_enrolment_cadre_id_53b98d18", "cadre_id"),
            state_operations=[
                migrations.AlterField(
                    model_name="enrolment",
                    name="cadre",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="enrolment",
                    name="campaign",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="enrolments",
                        to="outreach.campaign",
                    ),
                ),
            ],
        ),
        drop_pattern_ops_indexes(*PATTERN_OPS),
    ]
