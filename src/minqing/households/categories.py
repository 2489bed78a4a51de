"""The categories named in DOMAIN.md, seeded by migration 0002."""

# (code, name, scope, has_grade, must_visit (五必访), sensitive (health, petitions))
CATEGORIES = [
    ("dibao", "低保", "household", False, False, False),
    ("tekun", "特困（五保）", "household", False, True, False),
    ("dibao_edge", "低保边缘", "household", False, False, False),
    ("disabled", "残疾", "person", True, False, True),
    ("elderly_alone", "独居老人", "person", False, False, False),
    ("elderly_left_behind", "留守老人", "person", False, False, False),
    ("child_left_behind", "留守儿童", "person", False, False, False),
    ("petitioner", "信访户", "household", False, True, True),
    ("land_taken", "征地拆迁户", "household", False, False, False),
    ("migrant", "移民", "household", False, False, False),
    ("disaster_hit", "受灾户", "household", False, False, False),
    ("geo_hazard", "地质灾害隐患户", "household", False, False, False),
    ("party_rep", "党员代表", "person", False, True, False),
    ("able_earner", "致富能手", "person", False, True, False),
    ("retired_cadre", "老干部", "person", False, True, False),
]

# The grades of a graded category (残疾, as on the 残疾人证: 一级, the most severe, to 四级).
GRADES = ("一级", "二级", "三级", "四级")


def seed_categories(Category) -> None:
    """Create or update the categories; ``Category`` is the model (historical in migrations)."""
    for order, (code, name, scope, has_grade, must_visit, sensitive) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "scope": scope,
                "has_grade": has_grade,
                "must_visit": must_visit,
                "sensitive": sensitive,
                "order": order,
            },
        )
