"""The case categories and deadline rules as first seeded (migration 0002); a county edits
the rows afterwards. Categories follow DOMAIN.md's dispute kinds (pollution, safety hazards,
property, forest and land transfer, demolition, public order) and the needs the texts name
(housing, relief, utilities, employment ...)."""

# (code, name, default kind, [(code, name), ...])
CATEGORIES = [
    (
        "pollution",
        "环境污染",
        "dispute",
        [
            ("pollution.water", "水污染"),
            ("pollution.air", "大气污染"),
            ("pollution.noise", "噪声扰民"),
            ("pollution.waste", "垃圾与废弃物"),
        ],
    ),
    (
        "safety",
        "安全隐患",
        "hazard",
        [
            ("safety.life", "危及生命财产安全"),
            ("safety.house", "危房"),
            ("safety.geo", "地质灾害隐患"),
            ("safety.fire", "消防隐患"),
            ("safety.road", "道路交通隐患"),
        ],
    ),
    (
        "property",
        "财产权益",
        "dispute",
        [
            ("property.debt", "债务纠纷"),
            ("property.neighbour", "相邻关系"),
            ("property.family", "婚姻家庭与继承"),
            ("property.wage", "拖欠工资"),
        ],
    ),
    (
        "land",
        "林地与土地流转",
        "dispute",
        [
            ("land.contract", "土地承包经营"),
            ("land.transfer", "土地流转"),
            ("land.forest", "林地林权"),
            ("land.homestead", "宅基地"),
        ],
    ),
    (
        "demolition",
        "征地拆迁",
        "dispute",
        [
            ("demolition.compensation", "补偿安置"),
            ("demolition.resettlement", "移民安置"),
        ],
    ),
    (
        "order",
        "治安秩序",
        "dispute",
        [
            ("order.fight", "打架斗殴"),
            ("order.fraud", "电信诈骗"),
            ("order.public", "公共秩序"),
        ],
    ),
    (
        "housing",
        "住房保障",
        "need",
        [
            ("housing.repair", "房屋维修加固"),
            ("housing.rebuild", "灾后重建"),
            ("housing.heating", "冬季取暖"),
        ],
    ),
    (
        "relief",
        "社会救助",
        "need",
        [
            ("relief.dibao", "低保与特困"),
            ("relief.temporary", "临时救助"),
            ("relief.disabled", "残疾人帮扶"),
            ("relief.elderly", "留守老人与儿童"),
        ],
    ),
    (
        "utilities",
        "水电气暖",
        "need",
        [
            ("utilities.water", "饮水"),
            ("utilities.power", "供电"),
            ("utilities.gas", "燃气与供暖"),
            ("utilities.road", "道路与桥梁"),
        ],
    ),
    (
        "employment",
        "就业创业",
        "need",
        [
            ("employment.job", "就业岗位"),
            ("employment.training", "技能培训"),
            ("employment.loan", "创业贷款"),
        ],
    ),
    (
        "public_service",
        "教育医疗",
        "need",
        [
            ("public_service.school", "上学"),
            ("public_service.medical", "看病就医"),
            ("public_service.insurance", "医保社保"),
        ],
    ),
    (
        "petition",
        "信访事项",
        "petition",
        [
            ("petition.letter", "来信"),
            ("petition.visit", "来访"),
            ("petition.repeat", "重复信访"),
        ],
    ),
]

# (category code or None, kind or "", level or "",
#  accept limit, accept unit, answer workdays, send-back workdays, escalate after workdays)
RULES = [
    (None, "", "", 1, "workdays", 15, 1, 3),
    (None, "", "county", 1, "workdays", 15, 1, None),
    (None, "dispute", "", 1, "workdays", 10, 1, 3),
    (None, "petition", "", 1, "workdays", 15, 1, 5),
    ("safety", "", "", 1, "workdays", 5, 1, 1),
    # Threats to life or property: accept within 15 minutes, answer the next working day.
    ("safety.life", "", "", 15, "minutes", 1, 1, 1),
]


def seed_taxonomy(CaseCategory, DeadlineRule) -> None:
    """Create or update the seeded rows; the models are the historical ones in migrations."""
    order = 0
    for code, name, kind, children in CATEGORIES:
        order += 1
        parent, _ = CaseCategory.objects.update_or_create(
            code=code, defaults={"name": name, "kind": kind, "order": order, "parent": None}
        )
        for child_code, child_name in children:
            order += 1
            CaseCategory.objects.update_or_create(
                code=child_code,
                defaults={"name": child_name, "kind": kind, "order": order, "parent": parent},
            )
    for code, kind, level, accept, unit, answer, sendback, escalate in RULES:
        category = CaseCategory.objects.get(code=code) if code else None
        DeadlineRule.objects.update_or_create(
            category=category,
            kind=kind,
            level=level,
            defaults={
                "accept_limit": accept,
                "accept_unit": unit,
                "answer_workdays": answer,
                "sendback_workdays": sendback,
                "escalate_after_workdays": escalate,
            },
        )
