"""What the case ledger adds to the rest of minqing (called from CasesConfig.ready)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from minqing.cases.workflow import MOVES


def register() -> None:
    from minqing.audit.views import register_audit_labels

    register_audit_labels(
        entities={
            "cases.case": pgettext_lazy("audit entity", "案件"),
            "cases.holidayyear": pgettext_lazy("audit entity", "节假日安排"),
        },
        actions={name: move.label for name, move in MOVES.items()}
        | {
            "register": _("登记"),
            "overdue": _("逾期"),
            "holidays": _("录入节假日安排"),
            "export": _("导出"),
        },
    )
