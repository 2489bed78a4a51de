from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from minqing.lib.rows import insert_rows


def test_insert_rows_writes_every_row_with_the_shared_values(db):
    insert_rows(ContentType, ("model",), [("alpha",), ("beta",)], app_label="bulk")
    assert sorted(ContentType.objects.filter(app_label="bulk").values_list("model", flat=True)) == [
        "alpha",
        "beta",
    ]


def test_insert_rows_of_nothing_writes_nothing(db):
    insert_rows(Group, ("name",), [("村两委",), ("乡镇",)])
    insert_rows(Group, ("name",), [])
    assert sorted(Group.objects.values_list("name", flat=True)) == ["乡镇", "村两委"]
