"""The demo county's relief: the 2023 flood programme of 涿州市 (seeds.FLOOD_LINES) computed,
posted, approved and partly handed over, its cash paid through a bank batch; a 低保 programme
with monthly cycles; rebuilding projects for the grade C/D houses with their milestones and
township targets; a few hazard sites. Deterministic (each household's progress comes from
``Random(f"{seed}:{id}")``), and a rerun finds the flood programme and changes nothing."""

import datetime
import io
import random
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from minqing.accounts.models import User
from minqing.households.models import Dwelling, Household
from minqing.lib.excel import write_xlsx
from minqing.regions.models import Region, prefix_q
from minqing.relief import services
from minqing.relief.models import (
    DONE_STAGES,
    EntitlementList,
    GrantKind,
    Material,
    Programme,
    ProgrammeKind,
    Project,
    Stage,
)
from minqing.relief.seeds import DIBAO_LINES, DIBAO_MATCH, FLOOD_LINES, FLOOD_MATCH, line_inputs

COUNTY = "130681"
FLOOD_NAME = "涿州市“7·31”洪涝灾害救助"
DIBAO_NAME = "涿州市城乡低保金"
DIBAO_MONTHS = ("2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06")
FLOODED = ("130681107", "130681101", "130681102", "130681001")
STAGES = list(Stage.values)


def _approve(actor, entitlement_list: EntitlementList, notice_from: datetime.date) -> None:
    """Review, post and approve; the notice is dated back to when it ran (a demo's history)."""
    services.list_transition(actor=actor, entitlement_list=entitlement_list, to="reviewed")
    services.list_transition(
        actor=actor, entitlement_list=entitlement_list, to="notice", notice_days=7
    )
    EntitlementList.objects.filter(pk=entitlement_list.pk).update(notice_from=notice_from)
    entitlement_list.notice_from = notice_from
    services.list_transition(actor=actor, entitlement_list=entitlement_list, to="approved")


def _bank_all_paid(actor, entitlement_list: EntitlementList, *, failing: int = 0) -> None:
    if not entitlement_list.entitlements.filter(line__kind=GrantKind.CASH).exists():
        return
    batch = services.bank_batch_create(actor=actor, entitlement_list=entitlement_list)
    payments = list(batch.payments.order_by("id").values_list("pk", flat=True))
    rows = [
        [str(pk), "失败" if i < failing else "成功", "账户已冻结" if i < failing else ""]
        for i, pk in enumerate(payments)
    ]
    buffer = io.BytesIO()
    write_xlsx(buffer, ["流水号", "结果", "失败原因"], rows)
    buffer.seek(0)
    services.bank_result_import(actor=actor, batch=batch, source=buffer, filename="回盘.xlsx")


def _flood(admin, county: Region, seed: int) -> str:
    programme = services.programme_create(
        actor=admin,
        name=FLOOD_NAME,
        kind=ProgrammeKind.ONE_OFF,
        region=county,
        regions=[county],
        starts_on=datetime.date(2023, 10, 1),
        ends_on=datetime.date(2024, 12, 31),
        budget_fen=50_000_000_00,
        exclusive_group="flood2023",
        document="涿政〔2023〕45号",
    )
    services.ruleset_create(
        actor=admin, programme=programme, match=FLOOD_MATCH, lines=line_inputs(FLOOD_LINES)
    )
    entitlement_list = services.list_compute(
        actor=admin, programme=programme, cycle=programme.cycles.get()
    )
    _approve(admin, entitlement_list, datetime.date(2023, 10, 8))
    # Stock enough for every material line, from the province's allocation.
    depot = services.depot_create(actor=admin, name="涿州市救灾物资储备库", region=county)
    needed = (
        entitlement_list.entitlements.filter(line__kind=GrantKind.MATERIAL)
        .values("line__material")
        .annotate(q=Sum("line__quantity"))
    )
    for row in needed:
        services.stock_receive(
            actor=admin,
            depot=depot,
            material=Material.objects.get(pk=row["line__material"]),
            quantity=row["q"] + Decimal(50),
            source="河北省应急管理厅调拨单〔2023〕112号",
        )
    # About two households in three have collected their goods.
    handed = 0
    goods = entitlement_list.entitlements.filter(
        line__kind__in=[GrantKind.MATERIAL, GrantKind.WAIVER]
    ).select_related("household")
    for entitlement in goods.order_by("id"):
        if random.Random(f"{seed}:{entitlement.household_id}").random() < 0.67:
            services.payment_handover(
                actor=admin,
                entitlement=entitlement,
                receiver=entitlement.household.head_name,
                proof="signature",
                depot=depot,
            )
            handed += 1
    _bank_all_paid(admin, entitlement_list, failing=2)
    return f"{entitlement_list.entitlements.count():,} 项（已现场发放 {handed:,} 项）"


def _dibao(admin, county: Region) -> str:
    programme = services.programme_create(
        actor=admin,
        name=DIBAO_NAME,
        kind=ProgrammeKind.MONTHLY,
        region=county,
        regions=[county],
        starts_on=datetime.date(2024, 1, 1),
        budget_fen=8_000_000_00,
        document="涿民〔2024〕1号",
    )
    services.ruleset_create(
        actor=admin, programme=programme, match=DIBAO_MATCH, lines=line_inputs(DIBAO_LINES)
    )
    for i, label in enumerate(DIBAO_MONTHS):
        year, month = map(int, label.split("-"))
        cycle = services.cycle_create(
            actor=admin, programme=programme, label=label, on=datetime.date(year, month, 1)
        )
        entitlement_list = services.list_compute(actor=admin, programme=programme, cycle=cycle)
        if i < len(DIBAO_MONTHS) - 1:  # the last month is still being posted
            _approve(admin, entitlement_list, datetime.date(year, month, 1))
            _bank_all_paid(admin, entitlement_list)
            services.list_reconcile(actor=admin, entitlement_list=entitlement_list)
        else:
            services.list_transition(actor=admin, entitlement_list=entitlement_list, to="reviewed")
    return f"{len(DIBAO_MONTHS)} 个月"


def _rebuild(admin, seed: int) -> str:
    dwellings = Dwelling.objects.filter(
        prefix_q("region_id", COUNTY), grade__in=["C", "D"]
    ).select_related("household")
    projects = 0
    for dwelling in dwellings.order_by("household_id"):
        rng = random.Random(f"{seed}:rebuild:{dwelling.household_id}")
        if dwelling.grade == "C":
            kind = "repair"
        else:
            kind = rng.choice(["rebuild_in_place", "rebuild_in_place", "rebuild_elsewhere"])
        project = services.project_create(actor=admin, household=dwelling.household, kind=kind)
        projects += 1
        # Most are finished; a township or two lags behind.
        lagging = dwelling.region_id.startswith("130681102")
        reached = rng.randint(2, 5) if lagging and rng.random() < 0.5 else rng.randint(5, 7)
        day = datetime.date(2023, 10, 1) + datetime.timedelta(days=rng.randint(0, 30))
        for stage in STAGES[: reached + 1]:
            services.milestone_record(actor=admin, project=project, stage=stage, on=day)
            day += datetime.timedelta(days=rng.randint(10, 40))
            day = min(day, datetime.date(2024, 6, 30))
    for code in sorted({d.region_id[:9] for d in dwellings}):
        services.target_set(
            actor=admin,
            township=Region.objects.get(code=code.ljust(12, "0")),
            target_percent=80,
            deadline=datetime.date(2024, 6, 30),
        )
    done = Project.objects.filter(stage__in=DONE_STAGES).count()
    return f"{projects:,} 个（已竣工 {done:,} 个）"


SITES = [
    (
        "ZZ-HZ-001",
        "刁窝镇北拒马河堤岸崩塌",
        "130681107",
        "collapse",
        "small",
        3000,
        "河水冲刷、强降雨",
    ),
    (
        "ZZ-HZ-002",
        "东城坊镇采坑边坡滑坡",
        "130681102",
        "landslide",
        "medium",
        45000,
        "强降雨、采挖",
    ),
    ("ZZ-HZ-003", "码头镇地面塌陷区", "130681101", "subsidence", "small", 800, "地下水位变化"),
]


def _hazards(admin) -> str:
    made = 0
    for code, name, township, kind, scale, volume, trigger in SITES:
        households = list(
            Household.objects.filter(prefix_q("region_id", township)).order_by("region_id", "id")[
                :6
            ]
        )
        if not households:
            continue
        village = households[0].region
        services.hazard_site_save(
            actor=admin,
            region=village,
            households=[h for h in households if h.region_id == village.code],
            values={
                "code": code,
                "name": name,
                "kind": kind,
                "location": f"{village.short_name}北侧",
                "scale": scale,
                "volume_m3": volume,
                "trigger": trigger,
                "danger_zone": f"{village.short_name}北侧坡下住户",
                "monitor_name": "田守望",
                "monitor_phone": "13931200001",
                "warning_signal": "鸣锣三声、手摇报警器",
                "warning_by": f"{village.short_name}村委会主任",
                "warning_phone": "13931200002",
                "evacuation_route": f"沿村道向南撤至{village.short_name}小学操场",
                "shelter": f"{village.short_name}小学",
                "decision": "relocate" if scale == "medium" else "monitor",
                "progress": 60 if scale == "medium" else 100,
            },
        )
        made += 1
    return f"{made} 处"


@transaction.atomic
def build_demo_relief(*, seed: int = 1) -> str:
    if Programme.objects.filter(name=FLOOD_NAME).exists():
        return ""
    admin = User.objects.get(username="admin")
    county = Region.objects.get(code=COUNTY.ljust(12, "0"))
    flood = _flood(admin, county, seed)
    dibao = _dibao(admin, county)
    rebuild = _rebuild(admin, seed)
    hazards = _hazards(admin)
    return f"救助与重建：洪灾救助 {flood}；低保 {dibao}；重建项目 {rebuild}；隐患点 {hazards}。"
