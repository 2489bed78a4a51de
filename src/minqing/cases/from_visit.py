"""Visits and cases: "立案" on a need raised on a visit opens the ledger's registration form
filled from the need (household, region, text; the similar open cases show there), and
registering the case links the need to it, once."""

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.urls import reverse
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


def wire() -> None:
    from minqing.outreach import hooks

    hooks.case_form_url = case_form_url
    hooks.case_url = case_url
    register_source(NEED, SourceKind(on_register=_link_need, page=_visit_page))
