from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from minqing.accounts.models import OrgUnit, UnitKind
from minqing.audit.models import AuditLog
from minqing.regions.models import Edition, NameChange, Region, Successor, prefix_q
from minqing.regions.services import read_region_file, regions_load

PROVINCE, CITY, COUNTY = "130000000000", "130600000000", "130681000000"
TOWNSHIP = "130681107000"
WANQUANZHUANG, BEIWU = "130681107228", "130681107229"
OTHER_COUNTY, OTHER_TOWNSHIP, OTHER_VILLAGE = "131023000000", "131023103000", "131023103202"

EDITION_2023 = [
    (PROVINCE, "河北省"),
    (CITY, "保定市"),
    (COUNTY, "涿州市"),
    (TOWNSHIP, "刁窝镇"),
    (WANQUANZHUANG, "万全庄村村民委员会"),
    (BEIWU, "北务村村民委员会"),
]
# 2024: 北务村 merges into 万全庄村, which takes a new name.
EDITION_2024 = [
    (PROVINCE, "河北省"),
    (CITY, "保定市"),
    (COUNTY, "涿州市"),
    (TOWNSHIP, "刁窝镇"),
    (WANQUANZHUANG, "万全北务村村民委员会"),
]


def load_2023():
    return regions_load(rows=EDITION_2023, edition=2023)


def load_2024():
    return regions_load(rows=EDITION_2024, edition=2024, successors=[(BEIWU, WANQUANZHUANG)])


def edition_audit_rows():
    return AuditLog.objects.filter(entity="regions.edition").order_by("id")


def test_loading_an_edition_creates_each_region_under_its_parent(db):
    result = load_2023()

    assert result.created == 6
    regions = {r.code: r for r in Region.objects.all()}
    assert set(regions) == {code for code, _ in EDITION_2023}
    village = regions[WANQUANZHUANG]
    assert (village.level, village.parent_id) == (5, TOWNSHIP)
    assert (village.name, village.short_name) == ("万全庄村村民委员会", "万全庄村")
    assert (village.since, village.retired_in) == (2023, None)
    assert regions[TOWNSHIP].parent_id == COUNTY
    assert regions[COUNTY].parent_id == CITY
    assert (regions[PROVINCE].level, regions[PROVINCE].parent_id) == (1, None)
    assert Edition.objects.get(year=2023).region_count == 6


def test_loading_an_edition_writes_one_audit_row(db):
    load_2023()

    [row] = edition_audit_rows()
    assert (row.action, row.entity_id, row.region_code) == ("load", "2023", "")
    assert row.changes["created"] == [None, 6]
    assert row.actor is None


def test_loading_the_same_edition_again_changes_nothing(db):
    load_2023()

    result = load_2023()

    assert result.changed is False
    assert (result.total, result.created) == (6, 0)
    assert edition_audit_rows().count() == 1
    assert Region.objects.count() == 6


def test_a_renamed_village_keeps_its_old_name_in_the_history(db):
    load_2023()

    result = load_2024()

    assert result.renamed == 1
    village = Region.objects.get(code=WANQUANZHUANG)
    assert (village.name, village.short_name) == ("万全北务村村民委员会", "万全北务村")
    [change] = NameChange.objects.filter(region=village)
    assert (change.old_name, change.new_name, change.edition) == (
        "万全庄村村民委员会",
        "万全北务村村民委员会",
        2024,
    )


def test_a_merged_village_is_retired_not_deleted_and_points_to_its_successor(db):
    load_2023()

    result = load_2024()

    assert (result.retired, result.successors) == (1, 1)
    merged = Region.objects.get(code=BEIWU)
    assert (merged.retired_in, merged.name) == (2024, "北务村村民委员会")
    [successor] = Successor.objects.all()
    assert (successor.old_id, successor.new_id, successor.edition) == (BEIWU, WANQUANZHUANG, 2024)
    assert Edition.objects.get(year=2024).region_count == 5
    [_, row] = edition_audit_rows()
    assert (row.entity_id, row.changes["retired"], row.changes["renamed"]) == (
        "2024",
        [None, 1],
        [None, 1],
    )


def test_a_record_in_a_retired_village_still_loads_within_its_township(db):
    load_2023()
    unit = OrgUnit.objects.create(
        name="北务村两委", kind=UnitKind.VILLAGE, region=Region.objects.get(code=BEIWU)
    )

    load_2024()

    unit = OrgUnit.objects.select_related("region").get(pk=unit.pk)
    assert unit.region.retired_in == 2024
    in_township = OrgUnit.objects.filter(prefix_q("region_id", "130681107"))
    assert list(in_township) == [unit]


def test_a_code_that_comes_back_is_revived(db):
    load_2023()
    load_2024()

    result = regions_load(rows=EDITION_2023, edition=2025)

    assert (result.revived, result.created) == (1, 0)
    assert Region.objects.get(code=BEIWU).retired_in is None
    # The name history and the successor stay: they record what happened in 2024.
    assert Successor.objects.filter(old_id=BEIWU).exists()


def test_loading_within_a_county_never_retires_another_county(db):
    other = [
        ("131000000000", "廊坊市"),
        (OTHER_COUNTY, "永清县"),
        (OTHER_TOWNSHIP, "别古庄镇"),
        (OTHER_VILLAGE, "万全庄村村民委员会"),
    ]
    regions_load(rows=EDITION_2023 + other, edition=2023)

    result = regions_load(rows=EDITION_2024, edition=2024, within="130681")

    assert result.retired == 1
    assert Region.objects.get(code=BEIWU).retired_in == 2024
    assert not Region.objects.filter(code__startswith="1310", retired_in__isnull=False).exists()
    [_, row] = edition_audit_rows()
    assert row.region_code == COUNTY


def test_loading_within_a_county_ignores_rows_outside_it(db):
    other = [(OTHER_COUNTY, "永清县"), (OTHER_TOWNSHIP, "别古庄镇")]

    result = regions_load(rows=EDITION_2023 + other, edition=2023, within="130681")

    assert result.total == 6
    assert not Region.objects.filter(code__startswith="1310").exists()


def test_the_command_reports_no_change_when_the_county_is_already_loaded(cast):
    # The cast already loaded 涿州市 from the packaged file, so even the first run is a no-op.
    audit_rows = edition_audit_rows().count()
    for _ in range(2):
        out = StringIO()
        call_command("regions", "load", "--within", "130681", stdout=out)
        assert "2023 年版最新" in out.getvalue()
        assert "无变化" in out.getvalue()
    assert edition_audit_rows().count() == audit_rows


def test_the_command_loads_a_new_edition_from_a_file(cast, tmp_path):
    source = tmp_path / "regions-2024.tsv"
    source.write_text(
        "# 2024年版（节选）\n13\t河北省\n1306\t保定市\n130681\t涿州市\n"
        "130681107\t刁窝镇\n130681107228\t万全北务村村民委员会\n",
        encoding="utf-8",
    )
    successors = tmp_path / "successors.csv"
    successors.write_text("130681107229,130681107228\n", encoding="utf-8")
    out = StringIO()

    call_command(
        "regions",
        "load",
        "--within",
        "130681107",
        "--file",
        str(source),
        "--edition",
        "2024",
        "--successors",
        str(successors),
        stdout=out,
    )

    assert "已载入 2024 年版区划" in out.getvalue()
    assert "更名 130681107228：万全庄村村民委员会 → 万全北务村村民委员会" in out.getvalue()
    assert Region.objects.get(code=BEIWU).retired_in == 2024
    assert Successor.objects.filter(old_id=BEIWU, new_id=WANQUANZHUANG).exists()
    # Only 刁窝镇 was in scope: 双塔街道 and 永清县 keep their codes.
    assert Region.objects.get(code="130681001000").retired_in is None
    assert Region.objects.get(code=OTHER_VILLAGE).retired_in is None


def test_the_command_refuses_a_malformed_prefix_in_chinese(db):
    with pytest.raises(CommandError, match="应为2、4、6、9或12位区划代码前缀"):
        call_command("regions", "load", "--within", "12x")


def test_the_command_refuses_a_malformed_successor_line(db, tmp_path):
    successors = tmp_path / "successors.csv"
    successors.write_text("130681107229,130681107228\n130681107230\n", encoding="utf-8")

    with pytest.raises(CommandError, match="第 2 行应为“原代码,现代码”"):
        call_command("regions", "load", "--successors", str(successors))


def test_a_malformed_line_in_a_region_file_names_its_line(tmp_path):
    source = tmp_path / "regions.tsv"
    source.write_text("13\t河北省\n\n13068X\t涿州市\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"regions\.tsv 第 3 行格式不正确"):
        list(read_region_file(source))


def test_the_command_reports_a_malformed_file_as_a_command_error(db, tmp_path):
    source = tmp_path / "regions.tsv"
    source.write_text("13\t河北省\n1306\n", encoding="utf-8")

    with pytest.raises(CommandError, match="第 2 行格式不正确"):
        call_command("regions", "load", "--file", str(source))
    assert not Region.objects.exists()
