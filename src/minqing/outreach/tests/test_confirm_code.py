"""A confirmation code cannot be guessed: wrong codes are counted (and audited) even though
each is refused, five void the code, and a visit takes five codes at most."""

import pytest
from django.core.exceptions import ValidationError

from minqing.audit.models import AuditLog
from minqing.outreach import hooks
from minqing.outreach.models import Visit
from minqing.outreach.services import visit_code_send, visit_confirm, visit_log
from minqing.outreach.tests.conftest import visit_input


@pytest.fixture
def sms(monkeypatch):
    sent = []
    monkeypatch.setattr(hooks, "sms_sender", lambda phone, text: sent.append(text))
    return sent


def _refused(call) -> str:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict["code"][0]


def test_five_wrong_codes_void_the_code_and_each_is_counted(
    world, cast, sms, django_capture_on_commit_callbacks
):
    visit, _ = visit_log(
        actor=cast.paired, campaign=world.campaign, household=world.zhang, data=visit_input()
    )
    with django_capture_on_commit_callbacks(execute=True):
        visit_code_send(actor=cast.paired, visit=visit)
    code = sms[-1].split("验证码 ")[1][:6]
    wrong = "000000" if code != "000000" else "111111"
    messages = [
        _refused(lambda: visit_confirm(actor=cast.paired, visit=visit, code=wrong))
        for _try in range(5)
    ]
    assert messages == [
        "验证码不正确，还可输入 4 次",
        "验证码不正确，还可输入 3 次",
        "验证码不正确，还可输入 2 次",
        "验证码不正确，还可输入 1 次",
        "验证码已输错 5 次，已作废，请重新发送或改用当面签名确认",
    ]
    # The right code no longer works: the code is void.
    assert _refused(lambda: visit_confirm(actor=cast.paired, visit=visit, code=code)) == (
        "请先发送验证码"
    )
    stored = Visit.objects.get(pk=visit.pk)
    assert (stored.confirmed_at, stored.confirm_tries) == (None, 5)
    assert AuditLog.objects.filter(action="wrong_code", entity_id=str(visit.pk)).count() == 5

    # A new code starts the count again and is accepted.
    with django_capture_on_commit_callbacks(execute=True):
        visit_code_send(actor=cast.paired, visit=visit)
    visit_confirm(
        actor=cast.paired,
        visit=Visit.objects.get(pk=visit.pk),
        code=sms[-1].split("验证码 ")[1][:6],
    )
    assert Visit.objects.get(pk=visit.pk).confirm_method == "code"


def test_a_visit_takes_five_codes_at_most(world, cast, sms, django_capture_on_commit_callbacks):
    visit, _ = visit_log(
        actor=cast.paired, campaign=world.campaign, household=world.zhang, data=visit_input()
    )
    for _n in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            visit_code_send(actor=cast.paired, visit=visit)
    with pytest.raises(ValidationError) as refused:
        visit_code_send(actor=cast.paired, visit=visit)
    assert refused.value.messages == ["该走访已发送 5 次验证码，不能再发送，请改用当面签名确认"]
    assert len(sms) == 5
