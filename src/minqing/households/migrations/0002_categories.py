"""The categories named in DOMAIN.md. They are data: a county adds its own on the admin
page (a later issue) without a code change."""

from django.db import migrations

from minqing.households.categories import seed_categories

def seed(apps, schema_editor):
    seed_categories(apps.get_model("households", "Category"))


class Migration(migrations.Migration):
    dependencies = [("households", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
