"""Visits and cases: "立案" on a need raised on a visit opens the ledger's registration form
filled from the need (household, region, text; the similar open cases show there), and
registering the case links the need to it, once."""

import datetime
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.cases.models import Source
from minqing.cases.sources import SourceKind, register_source

NEED = "outreach.need"


def case_form_url(need) -> str:
    query = {
        "source": Source.VISIT,
        "household": need.household_id,
        "region": need.region_id,
        "text": need.text,
        "source_ref": f"{NEED}:{need.pk}",
    }
    return f"{reverse('cases:new')}?{urlencode(query)}"


def case_url(number: str) -> str:
    return reverse("cases:by_number", args=[number])


def _link_need(actor, case, need_id: int) -> None:
    from minqing.outreach.models import Need
    from minqing.outreach.services import need_link_case

    household = Need.objects.filter(pk=need_id).values_list("household_id", flat=True).first()
    if household is not None and household != case.household_id:
        raise ValidationError({"household": _("案件所涉户与走访诉求的户不一致")})
    need_link_case(actor=actor, need_id=need_id, case_number=case.number)


def _visit_page(key: str) -> str:
    from minqing.outreach.models import Need

    visit = Need.objects.filter(pk=key).values_list("visit_id", flat=True).first()
    return reverse("outreach:visit", args=[visit]) if visit else ""


# The demo's visit needs and the category a cadre would pick for each.
DEMO_CATEGORIES = {
    "申请临时救助": "relief.temporary",
    "维修取暖设备": "housing.heating",
    "修缮房屋": "housing.repair",
    "办理低保": "relief.dibao",
    "协调就医": "public_service.medical",
    "申请危房改造": "housing.repair",
}


def build_demo_visit_cases(*, seed: int = 1) -> str:
    """Half of the needs raised on the demo's visits of the last fortnight become cases, the
    way a cadre raises them (through case_register, so each need is linked to its case)."""
    from minqing.accounts.models import User
    from minqing.cases.services import case_register
    from minqing.outreach.models import Need

    admin = User.objects.filter(username="admin").first()
    if admin is None:
        return ""
    since = timezone.now() - datetime.timedelta(days=14)
    needs = (
        Need.objects.filter(case_number="", visit__visited_at__gte=since)
        .select_related("household", "region")
        .order_by("pk")
    )
    raised = 0
    for need in needs:
        if (need.pk + seed) % 2:
            continue
        case_register(
            admin,
            source=Source.VISIT,
            source_ref=f"{NEED}:{need.pk}",
            household=need.household,
            region=need.region,
            text=need.text,
            category_code=DEMO_CATEGORIES.get(need.text, "relief.temporary"),
        )
        raised += 1
    return f"走访诉求立案：近两周的走访诉求转为案件 {raised:,} 件（待派单）。"


def wire() -> None:
    from minqing.demo.steps import register_step
    from minqing.outreach import hooks

    hooks.case_form_url = case_form_url
    hooks.case_url = case_url
    register_source(NEED, SourceKind(on_register=_link_need, page=_visit_page))
    register_step(order=35, build=build_demo_visit_cases)
