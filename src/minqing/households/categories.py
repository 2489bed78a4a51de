"""The categories named in DOMAIN.md, seeded by migration 0002."""

from django.utils.translation import gettext as _

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


def grade_refusal(name: str, has_grade: bool, grade: str) -> str | None:
    """Why ``grade`` may not go with the category ``name``, or None: the service's rule, and
    the import's (which writes its grants itself). A missing grade each words its own way."""
    if grade and not has_grade:
        # It would export as “低保二级”, which no import reads back.
        return _("“%(name)s”不分等级，请不要填写等级") % {"name": name}
    if grade and grade not in GRADES:
        return _("等级“%(grade)s”不是可选值，应为%(grades)s") % {
            "grade": grade,
            "grades": "、".join(GRADES),
        }
    return None


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
