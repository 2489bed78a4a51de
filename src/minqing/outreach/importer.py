"""包联表 import: an Excel sheet of (户编号, 干部账号, 起始日期) rows pairs households with
cadres. Every row is checked first; one bad row refuses the whole sheet, each refusal naming
its row and column, and nothing is written."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from minqing.accounts.models import User
from minqing.households.models import Household
from minqing.lib.excel import SpreadsheetError, column_letter, read_rows
from minqing.outreach.models import Campaign, Pairing, PairingKind
from minqing.outreach.services import check_cadre, pairings_assign
from minqing.regions.models import prefix_q

COLUMNS = ["户编号", "干部账号", "起始日期"]
MAX_ROWS = 20_000


@dataclass
class Refusal:
    row: int
    column: int
    reason: str

    def __str__(self):
        return _("第 %(row)d 行 %(col)s 列（%(header)s）：%(reason)s") % {
            "row": self.row,
            "col": column_letter(self.column),
            "header": COLUMNS[self.column - 1],
            "reason": self.reason,
        }


def _date(text: str, campaign: Campaign) -> datetime.date:
    text = text.strip()[:10].replace("/", "-").replace(".", "-")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("日期“%(text)s”应写成 2026-06-01") % {"text": text}) from None


def pairings_import(*, actor, campaign: Campaign, source, filename: str) -> int:
    """Pair the sheet's households; returns how many. ValidationError lists every refusal."""
    try:
        rows = list(read_rows(source, filename))
    except SpreadsheetError as error:
        raise ValidationError(str(error)) from None
    if not rows:
        raise ValidationError(_("表格是空的"))
    header = [c.strip() for c in rows[0][1]]
    if header[:2] != COLUMNS[:2]:
        raise ValidationError(_("第 1 行应为表头：%(cols)s") % {"cols": "、".join(COLUMNS)})
    body = [(n, cells + [""] * 3) for n, cells in rows[1:] if any(c.strip() for c in cells)]
    if len(body) > MAX_ROWS:
        raise ValidationError(_("一次最多导入 %(n)d 行") % {"n": MAX_ROWS})
    ids = {int(c[0]) for _n, c in body if c[0].strip().isdigit()}
    households = {
        h.pk: h for h in Household.objects.filter(prefix_q("region_id", actor.reach), pk__in=ids)
    }
    names = {c[1].strip() for _n, c in body}
    cadres = {u.username: u for u in User.objects.filter(username__in=names)}
    paired = set(
        Pairing.objects.filter(
            campaign=campaign,
            household_id__in=ids,
            kind=PairingKind.CADRE_HOUSEHOLD,
            end__isnull=True,
        ).values_list("household_id", flat=True)
    )
    refusals, seen, checked = [], set(), {}
    plan: dict[tuple[int, datetime.date], list] = defaultdict(list)
    for number, cells in body:
        raw_id, username, raw_start = (c.strip() for c in cells[:3])
        household = households.get(int(raw_id)) if raw_id.isdigit() else None
        if household is None:
            refusals.append(
                Refusal(number, 1, _("没有户编号 %(id)s，或不在您的管辖范围内") % {"id": raw_id})
            )
        elif not campaign.covers(household.region_id):
            refusals.append(Refusal(number, 1, _("该户不在活动范围内")))
        elif household.pk in paired:
            refusals.append(Refusal(number, 1, _("该户已有包联干部，请用“移交”办理")))
        elif household.pk in seen:
            refusals.append(Refusal(number, 1, _("该户在表中重复出现")))
        cadre = cadres.get(username)
        if cadre is None:
            refusals.append(Refusal(number, 2, _("没有账号“%(name)s”") % {"name": username}))
        elif (refused := _cadre_refusal(actor, cadre, campaign, checked)) is not None:
            refusals.append(Refusal(number, 2, refused))
            cadre = None
        elif household is not None and not cadre.reaches(household.region_id):
            refusals.append(
                Refusal(
                    number,
                    2,
                    _("%(cadre)s的管辖范围不含该户，包联后无法走访")
                    % {"cadre": cadre.display_name},
                )
            )
            cadre = None
        start = campaign.start
        if raw_start:
            try:
                start = _date(raw_start, campaign)
            except ValueError as error:
                refusals.append(Refusal(number, 3, str(error)))
        if not campaign.start <= start <= campaign.end:
            refusals.append(Refusal(number, 3, _("起始日期应在活动期间内")))
        if household is not None and cadre is not None:
            seen.add(household.pk)
            plan[(cadre.pk, start)].append(household)
    if refusals:
        raise ValidationError([str(r) for r in refusals[:200]])
    by_pk = {u.pk: u for u in cadres.values()}
    with transaction.atomic():
        for (cadre_pk, start), group in plan.items():
            pairings_assign(
                actor=actor, campaign=campaign, households=group, cadre=by_pk[cadre_pk], start=start
            )
    return sum(len(g) for g in plan.values())


def _cadre_refusal(actor, cadre: User, campaign: Campaign, checked: dict) -> str | None:
    """Why ``cadre`` may not be paired (the service's own check), once per account."""
    if cadre.pk not in checked:
        try:
            check_cadre(actor, cadre, campaign)
            checked[cadre.pk] = None
        except ValidationError as error:
            checked[cadre.pk] = "；".join(error.messages)
    return checked[cadre.pk]
