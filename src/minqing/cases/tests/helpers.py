"""Cases in a given state, made through the services as a user would."""

from minqing.cases import services
from minqing.cases.models import Case, Outcome, Rating
from minqing.regions.models import Region
from minqing.testing import WANQUANZHUANG


def village_case(
    cast, *, text="村东头的路灯坏了，晚上出行不便", category="utilities.power", **kwargs
) -> Case:
    return services.case_register(
        cast.village,
        source=kwargs.pop("source", "visit"),
        region=Region.objects.get(code=WANQUANZHUANG),
        text=text,
        category_code=category,
        **kwargs,
    )


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def accepted_case(cast, **kwargs) -> Case:
    case = village_case(cast, **kwargs)
    case = services.case_assign(actor=cast.village, case=case, handler=cast.village)
    return services.case_accept(actor=cast.village, case=case)


def answered_case(cast, **kwargs) -> Case:
    case = accepted_case(cast, **kwargs)
    return services.case_answer(
        actor=cast.village, case=case, outcome=Outcome.SOLVED, answer="已更换路灯"
    )


def ready_to_close(cast, **kwargs) -> Case:
    """Answered by the village cadre, verified by the county admin, resident satisfied."""
    case = answered_case(cast, **kwargs)
    case = services.case_verify(actor=cast.admin, case=case, passed=True, note="现场查看")
    services.return_contact_record(
        actor=cast.admin, case=case, rating=Rating.SATISFIED, method="phone", note="满意"
    )
    return fresh(case)
