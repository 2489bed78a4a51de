"""A case's files through the page and the API, and a petition's content as personal data: its
files and the notes about it withheld from readers without the permission, each full view of it
audited."""

from django.core.files.uploadedfile import SimpleUploadedFile

from minqing.audit.models import AuditLog
from minqing.cases import services
from minqing.cases.models import Attachment, Outcome, Rating
from minqing.cases.tests.helpers import accepted_case, village_case

LETTER = "上访信.txt"


def _upload(content=b"letter of 1 March") -> SimpleUploadedFile:
    return SimpleUploadedFile(LETTER, content, content_type="text/plain")


def test_a_file_goes_up_and_comes_back_through_the_api(cast, client_for):
    case = accepted_case(cast)
    client = client_for(cast.village)
    response = client.post(f"/api/cases/{case.pk}/attachments", {"file": _upload(b"photo")})
    assert response.status_code == 201
    item = response.json()
    assert (item["name"], item["size"]) == (LETTER, 5)
    assert Attachment.objects.get(pk=item["id"]).case_id == case.pk
    assert client.get(f"/api/cases/{case.pk}").json()["attachments"][0]["id"] == item["id"]

    download = client.get(f"/api/cases/{case.pk}/attachments/{item['id']}")
    assert b"".join(download.streaming_content) == b"photo"
    assert "attachment" in download["Content-Disposition"]
    assert (
        client_for(cast.outsider).get(f"/api/cases/{case.pk}/attachments/{item['id']}").status_code
        == 404
    )
    refused = client_for(cast.viewer).post(f"/api/cases/{case.pk}/attachments", {"file": _upload()})
    assert refused.status_code == 403
    assert Attachment.objects.filter(case=case).count() == 1


def test_a_petitions_files_and_notes_are_withheld_and_each_full_view_audited(cast, client_for):
    case = accepted_case(cast, text="反映征地补偿款未足额发放", category="petition.visit")
    item = services.case_attach(actor=cast.village, case=case, upload=_upload())
    case = services.case_start(actor=cast.village, case=case)
    case = services.case_answer(
        actor=cast.village, case=case, outcome=Outcome.SOLVED, answer="已补发"
    )
    case = services.case_verify(actor=cast.admin, case=case, passed=True)
    remark = "上访人李某对补偿数额仍有意见"
    services.return_contact_record(
        actor=cast.admin, case=case, rating=Rating.BASIC, method="phone", note=remark
    )

    # The supervisor may not see personal data: no file, no remark, nothing audited.
    supervisor = client_for(cast.supervisor)
    page = supervisor.get(f"/cases/{case.pk}/").content.decode()
    assert LETTER not in page and remark not in page
    answer = supervisor.get(f"/api/cases/{case.pk}").json()
    assert answer["attachments"] == [] and remark not in answer["contacts"][0]["note"]
    assert supervisor.get(f"/cases/{case.pk}/files/{item.pk}/").status_code == 404
    assert not AuditLog.objects.filter(action="view_personal").exists()

    # The admin may: the page shows both, and the view and the download each leave a row.
    admin = client_for(cast.admin)
    page = admin.get(f"/cases/{case.pk}/").content.decode()
    assert LETTER in page and remark in page
    assert admin.get(f"/cases/{case.pk}/files/{item.pk}/").status_code == 200
    rows = AuditLog.objects.filter(action="view_personal", entity="cases.case", entity_id=case.pk)
    assert [r.changes for r in rows.order_by("id")] == [
        {"content": [None, "(已查看)"]},
        {"file": [None, LETTER]},
    ]
    assert {r.actor for r in rows} == {cast.admin}


def test_reading_an_ordinary_case_is_not_a_personal_data_view(cast, client_for):
    case = village_case(cast)
    assert client_for(cast.admin).get(f"/cases/{case.pk}/").status_code == 200
    assert not AuditLog.objects.filter(action="view_personal").exists()
