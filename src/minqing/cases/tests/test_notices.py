"""The sweep's reminders: listed on 我的案件 and the home page while unread, marked read one by one
or all at once through the page or the API, each marking audited; nobody marks another's."""

import datetime

import time_machine

from minqing.audit.models import AuditLog
from minqing.cases import services
from minqing.cases.models import Notification
from minqing.cases.tests.helpers import village_case

TZ = datetime.timezone(datetime.timedelta(hours=8))


def _escalated(cast):
    """A village case left unaccepted until the sweep sends it to 刁窝镇 (whose unit is told)."""
    with time_machine.travel(datetime.datetime(2026, 9, 28, 9, tzinfo=TZ), tick=False):
        case = village_case(cast)
    with time_machine.travel(datetime.datetime(2026, 10, 10, 9, tzinfo=TZ), tick=False):
        services.sweep()
    return case


def test_the_township_reads_its_reminder_on_the_page(cast, diaowo, client_for):
    case = _escalated(cast)
    notice = Notification.objects.get(case=case, unit=diaowo.unit)
    client = client_for(diaowo)
    assert "未读的案件提醒" in client.get("/").content.decode()
    body = client.get("/cases/mine/").content.decode()
    assert notice.text in body and "未读" in body and "全部标为已读" in body

    # Someone outside the unit cannot mark it, whatever id they send.
    client_for(cast.outsider).post("/cases/mine/read/", {"id": notice.pk})
    assert Notification.objects.get(pk=notice.pk).read_at is None

    response = client.post("/cases/mine/read/", {"id": notice.pk})
    assert response.status_code == 302 and response["Location"].endswith("#notifications")
    assert Notification.objects.get(pk=notice.pk).read_at is not None
    row = AuditLog.objects.get(entity="cases.notification", action="read")
    assert row.actor == diaowo and row.changes == {"read": [None, [notice.pk]]}
    assert "未读的案件提醒" not in client.get("/").content.decode()
    assert "全部标为已读" not in client.get("/cases/mine/").content.decode()


def test_the_api_lists_unread_reminders_and_marks_them_all_read(cast, diaowo, client_for):
    case = _escalated(cast)
    client = client_for(diaowo)
    unread = client.get("/api/cases/notifications?unread=true").json()
    assert [(n["case_number"], n["read_at"]) for n in unread] == [(case.number, None)]
    assert client_for(cast.outsider).get("/api/cases/notifications").json() == []

    answer = client.post("/api/cases/notifications/read", {}, content_type="application/json")
    assert answer.json() == {"marked": 1}
    assert client.get("/api/cases/notifications?unread=true").json() == []
    assert client.get("/api/cases/notifications").json()[0]["read_at"] is not None
    again = client.post("/api/cases/notifications/read", {}, content_type="application/json")
    assert again.json() == {"marked": 0}
    assert AuditLog.objects.filter(entity="cases.notification").count() == 1
