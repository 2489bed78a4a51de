import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from pypdf import PdfReader

from minqing.audit.models import AuditLog
from minqing.regions.models import Region
from minqing.relief import services
from minqing.relief.card import card_pdf
from minqing.relief.selectors import completion_rates, project_received
from minqing.testing import WANQUANZHUANG

from .conftest import WENXINGJIE, approved_list, make_household

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 64


def test_a_project_follows_its_milestones_and_shows_what_it_received(cast, village):
    project = services.project_create(
        actor=cast.village, household=village.d, kind="rebuild_in_place"
    )
    services.milestone_record(
        actor=cast.village,
        project=project,
        stage="started",
        on=datetime.date(2026, 3, 1),
        photo=JPEG,
    )
    services.milestone_record(
        actor=cast.village, project=project, stage="roof", on=datetime.date(2026, 5, 1)
    )
    services.milestone_record(
        actor=cast.village, project=project, stage="foundation", on=datetime.date(2026, 3, 20)
    )
    project.refresh_from_db()
    assert (project.stage, project.stage_on) == ("roof", datetime.date(2026, 5, 1))
    started = project.milestones.get(stage="started")
    assert started.recorded_by == cast.village and started.photo.endswith(".jpg")
    with pytest.raises(ValidationError, match="“开工”已登记"):
        services.milestone_record(
            actor=cast.village, project=project, stage="started", on=datetime.date(2026, 3, 2)
        )
    with pytest.raises(ValidationError, match="日期不能晚于今天"):
        services.milestone_record(
            actor=cast.village, project=project, stage="finished", on=datetime.date(2026, 7, 1)
        )
    with pytest.raises(ValidationError, match="照片只能是 JPG 或 PNG 格式"):
        services.milestone_record(
            actor=cast.village,
            project=project,
            stage="finished",
            on=datetime.date(2026, 6, 1),
            photo=b"GIF89a",
        )
    entitlement_list = approved_list(cast.admin, village.flood)
    for code in ("d_rebar", "d_sand", "winter_cash"):
        services.payment_handover(
            actor=cast.village,
            entitlement=entitlement_list.entitlements.get(household=village.d, line__code=code),
            receiver="王大山",
            proof="signature",
            depot=village.depot,
        )
    received = project_received(project)
    assert received["cash_fen"] == 100000
    assert [(m["name"], m["quantity"]) for m in received["materials"]] == [
        ("沙子", 20),
        ("钢筋", 2),
    ]
    assert AuditLog.objects.filter(entity="relief.project", action="milestone").count() == 3


def test_projects_only_for_damaged_dwellings_in_reach(cast, village):
    with pytest.raises(ValidationError, match="D 级危房应拆除重建"):
        services.project_create(actor=cast.village, household=village.d, kind="repair")
    with pytest.raises(ValidationError, match="只有 C 级、D 级危房"):
        services.project_create(actor=cast.township, household=village.b, kind="repair")
    with pytest.raises(PermissionDenied):
        services.project_create(actor=cast.township, household=village.c, kind="repair")


def test_completion_rates_by_township_with_finished_and_veto(cast, village, time_machine):
    diaowo = Region.objects.get(code="130681107000")
    shuangta = Region.objects.get(code="130681001000")
    done = services.project_create(actor=cast.admin, household=village.d, kind="rebuild_elsewhere")
    services.project_create(actor=cast.admin, household=village.c, kind="repair")
    services.milestone_record(
        actor=cast.admin, project=done, stage="finished", on=datetime.date(2026, 6, 1)
    )
    d2 = make_household(WENXINGJIE, "钱重建", 9, grade="D", hit=True)
    finished = services.project_create(actor=cast.admin, household=d2, kind="rebuild_in_place")
    services.milestone_record(
        actor=cast.admin, project=finished, stage="accepted", on=datetime.date(2026, 6, 2)
    )
    services.target_set(
        actor=cast.admin, township=diaowo, target_percent=80, deadline=datetime.date(2026, 6, 30)
    )
    services.target_set(
        actor=cast.admin, township=shuangta, target_percent=80, deadline=datetime.date(2026, 6, 30)
    )
    rows = {r["name"]: r for r in completion_rates(cast.admin, level=4)}
    assert (rows["刁窝镇"]["projects"], rows["刁窝镇"]["done"], rows["刁窝镇"]["rate"]) == (
        2,
        1,
        50.0,
    )
    assert rows["双塔街道"]["finished"] and not rows["刁窝镇"]["finished"]
    assert not rows["刁窝镇"]["veto"]  # not yet at the deadline
    time_machine.move_to(datetime.datetime(2026, 7, 1, 9, 0), tick=False)
    rows = {r["name"]: r for r in completion_rates(cast.admin, level=4)}
    assert rows["刁窝镇"]["veto"] and not rows["双塔街道"]["veto"]
    villages = {r["code"]: r for r in completion_rates(cast.village, level=5)}
    assert list(villages) == [WANQUANZHUANG]  # the village cadre sees their village only


def _site(cast, village, **changes):
    values = {
        "code": "ZZ-DW-001",
        "name": "万全庄村北坡滑坡",
        "kind": "landslide",
        "location": "万全庄村北",
        "scale": "small",
        "volume_m3": 12000,
        "trigger": "强降雨",
        "danger_zone": "坡脚下5户",
        "monitor_name": "陈监测",
        "monitor_phone": "13900001111",
        "warning_signal": "鸣锣、手摇报警器",
        "warning_by": "陈立军",
        "warning_phone": "13900002222",
        "evacuation_route": "沿村道向东至村委会",
        "shelter": "万全庄村委会院内",
        "decision": "relocate",
        "progress": 40,
    } | changes
    return services.hazard_site_save(
        actor=cast.village,
        region=Region.objects.get(code=WANQUANZHUANG),
        values=values,
        households=[village.d, village.c],
    )


def test_hazard_sites_keep_their_fields_and_threatened_households(cast, village):
    site = _site(cast, village)
    assert set(site.households.values_list("head_name", flat=True)) == {"王大山", "李二河"}
    with pytest.raises(ValidationError, match="隐患点编号已存在"):
        services.hazard_site_save(
            actor=cast.admin, region=site.region, values={"code": "ZZ-DW-001"}, households=[]
        )
    with pytest.raises(ValidationError, match="不在该乡镇"):
        services.hazard_site_save(
            actor=cast.admin,
            region=site.region,
            values={"code": "ZZ-DW-003"},
            households=[village.b],
        )
    audit = AuditLog.objects.get(
        entity="relief.hazard_site", action="create", entity_id=str(site.pk)
    )
    assert audit.changes["monitor_name"] == [None, "陈监测"]


def test_the_card_pdf_has_three_copies_with_the_fields_in_chinese(cast, village):
    site = _site(cast, village)
    pdf = card_pdf(site, village.d, issuer="刁窝镇人民政府")
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 3
    texts = [page.extract_text() for page in pages]
    for text, copy in zip(texts, ("住户留存", "村（居）委会留存", "发卡单位留存"), strict=True):
        assert "地质灾害防灾避险明白卡" in text and copy in text
    for value in (
        "王大山",
        "滑坡",
        "陈监测",
        "13900001111",
        "鸣锣",
        "沿村道向东至村委会",
        "万全庄村委会院内",
        "搬迁避让",
        "刁窝镇人民政府",
        "D级",
    ):
        assert value in texts[0], value
