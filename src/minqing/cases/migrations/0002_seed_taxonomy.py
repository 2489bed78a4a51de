from django.db import migrations


def seed(apps, schema_editor):
    from minqing.cases.taxonomy import seed_taxonomy

    seed_taxonomy(apps.get_model("cases", "CaseCategory"), apps.get_model("cases", "DeadlineRule"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
