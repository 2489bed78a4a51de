"""The rules named in DOMAIN.md, written as data: the same dicts a clerk enters on the set-up
page or posts to the API. The demo, the tests and the benchmark load them from here."""

from decimal import Decimal

from minqing.relief.models import GrantKind, MatchMode
from minqing.relief.services import LineInput, material_create

MATERIALS = {"rebar": ("钢筋", "吨"), "sand": ("沙子", "吨")}

# 涿州市 after the 2023 flood (text 001): D → 2 t rebar + 20 t sand, C → 5 t sand, every
# affected household 1,000 yuan for the winter, ground floor flooded → fees waived.
FLOOD_MATCH = MatchMode.ALL
FLOOD_LINES = [
    {
        "code": "d_rebar",
        "label": "D级危房 钢筋2吨",
        "kind": GrantKind.MATERIAL,
        "condition": {"grades": ["D"]},
        "material": "rebar",
        "quantity": "2",
    },
    {
        "code": "d_sand",
        "label": "D级危房 沙子20吨",
        "kind": GrantKind.MATERIAL,
        "condition": {"grades": ["D"]},
        "material": "sand",
        "quantity": "20",
    },
    {
        "code": "c_sand",
        "label": "C级危房 沙子5吨",
        "kind": GrantKind.MATERIAL,
        "condition": {"grades": ["C"]},
        "material": "sand",
        "quantity": "5",
    },
    {
        "code": "winter_cash",
        "label": "受灾户过冬补助1000元",
        "kind": GrantKind.CASH,
        "condition": {"categories": ["disaster_hit"]},
        "amount_fen": 100000,
    },
    {
        "code": "property_fee",
        "label": "首层进水 免3年物业费",
        "kind": GrantKind.WAIVER,
        "condition": {"ground_floor_flooded": True},
        "waiver": "物业费",
        "waiver_months": 36,
    },
    {
        "code": "heating_fee",
        "label": "首层进水 免当年采暖费",
        "kind": GrantKind.WAIVER,
        "condition": {"ground_floor_flooded": True},
        "waiver": "采暖费",
        "waiver_months": 12,
    },
]

# 低保 (text 002): 395 yuan a month for each household holding 低保 on the month's day.
DIBAO_MATCH = MatchMode.FIRST
DIBAO_LINES = [
    {
        "code": "dibao_monthly",
        "label": "低保金每户每月395元",
        "kind": GrantKind.CASH,
        "condition": {"categories": ["dibao"]},
        "amount_fen": 39500,
    }
]


def line_inputs(rows: list[dict]) -> list[LineInput]:
    """LineInputs for rows of the form above (materials named by their MATERIALS key)."""
    lines = []
    for row in rows:
        material = None
        if row.get("material"):
            name, unit = MATERIALS[row["material"]]
            material = material_create(actor=None, name=name, unit=unit)
        lines.append(
            LineInput(
                code=row["code"],
                label=row["label"],
                kind=row["kind"],
                condition=dict(row.get("condition", {})),
                amount_fen=row.get("amount_fen", 0),
                material=material,
                quantity=Decimal(row.get("quantity", "0")),
                waiver=row.get("waiver", ""),
                waiver_months=row.get("waiver_months", 0),
            )
        )
    return lines
