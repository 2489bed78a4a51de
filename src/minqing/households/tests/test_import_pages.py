"""The roll import's pages: upload → (column mapping) → dry run → run → progress → result,
with tasks run inline (the test settings' ImmediateBackend)."""

import io
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from minqing.audit.models import AuditLog
from minqing.households import jobs
from minqing.households.models import ImportJob, Person
from minqing.households.roll import HEADERS, REASON_HEADER
from minqing.households.tests.rolls import roll, xlsx_bytes
from minqing.lib.excel import read_rows
from minqing.lib.masking import mask_id_number, mask_phone

UPLOAD = reverse("roll:upload")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _file(rows, header=HEADERS, name="花名册.xlsx"):
    return SimpleUploadedFile(name, xlsx_bytes(rows, header), content_type=XLSX)


def _upload(client, rows, **kwargs):
    return client.post(UPLOAD, {"file": _file(rows, **kwargs)})


def _job() -> ImportJob:
    return ImportJob.objects.latest("id")


# The flow


def test_upload_page_lists_the_roll_columns(cast, client_for):
    response = client_for(cast.village).get(UPLOAD)

    assert response.status_code == 200
    html = response.content.decode()
    assert "导入花名册" in html
    assert "户主身份证号" in html and "首层进水" in html
    assert 'style="' not in html and "<script>" not in html


def test_upload_checks_the_file_and_shows_the_dry_run(cast, client_for, today):
    client = client_for(cast.admin)

    response = _upload(client, roll(4))

    job = _job()
    assert response.status_code == 302
    assert response["Location"] == reverse("roll:job", args=[job.pk])
    assert job.status == ImportJob.Status.CHECKED
    assert job.counts["people"]["created"] == 12
    assert (job.rows_done, job.rows_total) == (12, 12)
    assert jobs.job_file(job).exists()
    html = client.get(response["Location"]).content.decode()
    assert "检查结果（尚未导入）" in html
    assert "将新增" in html and ">12<" in html
    assert "开始导入" in html
    assert Person.objects.count() == 0


def test_running_the_job_imports_and_shows_the_result(cast, client_for, today):
    client = client_for(cast.admin)
    _upload(client, roll(4))
    job = _job()

    response = client.post(reverse("roll:run", args=[job.pk]))

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.started_by == cast.admin
    assert job.counts["people"]["created"] == 12
    assert Person.objects.count() == 12
    assert not jobs.job_file(job).exists()  # the upload, full of ID numbers, is gone
    audit = AuditLog.objects.get(entity="households.import")
    assert (audit.entity_id, audit.source) == (str(job.pk), "import")
    html = client.get(reverse("roll:job", args=[job.pk])).content.decode()
    assert "导入完成" in html and "开始导入" not in html


def test_a_job_runs_once(cast, client_for, today):
    client = client_for(cast.admin)
    _upload(client, roll(1))
    job = _job()
    client.post(reverse("roll:run", args=[job.pk]))

    response = client.post(reverse("roll:run", args=[job.pk]), follow=True)

    assert "该导入已在进行或已完成" in response.content.decode()
    assert AuditLog.objects.filter(entity="households.import").count() == 1


def test_the_progress_is_polled_with_htmx_while_the_job_runs(cast, client_for, today):
    client = client_for(cast.admin)
    _upload(client, roll(2))
    job = _job()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, rows_done=2, rows_total=6
    )
    url = reverse("roll:job", args=[job.pk])

    page = client.get(url).content.decode()
    part = client.get(url, headers={"HX-Request": "true"})

    assert f'hx-get="{url}" hx-trigger="every 1s"' in page
    assert '<progress class="progress" max="6" value="2">' in page
    assert "已处理 2 / 6 行" in page
    html = part.content.decode()
    assert "<html" not in html and 'id="job-status"' in html
    assert "HX-Request" in part["Vary"]
    assert 'style="' not in page

    ImportJob.objects.filter(pk=job.pk).update(rows_done=6)
    assert "正在写入数据库" in client.get(url, headers={"HX-Request": "true"}).content.decode()

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE)
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done and "导入完成" in done


def test_a_broken_roll_shows_the_refusals_and_cannot_be_run_whole(cast, client_for, today):
    rows = roll(3)
    rows[1][2] = ""  # a name
    rows[4][3] = rows[4][3][:17] + ("1" if rows[4][3][17] == "0" else "0")
    client = client_for(cast.admin)
    _upload(client, rows)
    job = _job()

    html = client.get(reverse("roll:job", args=[job.pk])).content.decode()

    assert job.refused_total == 2
    assert "文件有 2 处错误" in html
    assert "姓名不能为空" in html and "校验位错误" in html
    assert rows[4][3] not in html  # shown masked
    assert "开始导入" not in html and "只导入无误的行" in html
    assert job.refusals[0] == {
        "row": 3,
        "column": "C",
        "header": "姓名",
        "value": "",
        "reason": "姓名不能为空",
    }


def test_the_refusals_download_is_the_bad_rows_annotated(cast, client_for, today):
    rows = roll(3)
    rows[1][2] = ""
    client = client_for(cast.admin)
    _upload(client, rows)
    job = _job()

    response = client.get(reverse("roll:errors", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    sheet = list(read_rows(io.BytesIO(b"".join(response.streaming_content)), "errors.xlsx"))
    header = sheet[0][1]
    assert header[-1] == REASON_HEADER and header[-2] == "原行号"
    assert len(sheet) == 2
    assert sheet[1][1][-2] == "3"
    assert "C列（姓名）：姓名不能为空" in sheet[1][1][-1]
    assert sheet[1][1][3] == rows[1][3]  # the row as it was


def test_the_refusals_download_is_for_the_uploader_or_personal_data_users(cast, client_for, today):
    rows = roll(1)
    rows[1][2] = ""
    _upload(client_for(cast.village), rows)
    url = reverse("roll:errors", args=[_job().pk])

    assert client_for(cast.village).get(url).status_code == 200
    assert client_for(cast.admin).get(url).status_code == 200  # may see personal data
    assert client_for(cast.paired).get(url).status_code == 403  # same reach, neither
    assert (
        url
        not in client_for(cast.paired).get(reverse("roll:job", args=[_job().pk])).content.decode()
    )


def _sheet(response) -> list[list[str]]:
    content = b"".join(response.streaming_content)
    return [cells for _number, cells in read_rows(io.BytesIO(content), "errors.xlsx")]


def test_the_refusals_download_is_masked_for_a_user_without_the_personal_data_permission(
    cast, client_for, today
):
    rows = roll(2)
    rows[1][2] = ""  # a member without a name
    rows[1][11] = f"原号码 {rows[0][3]}，电话 {rows[0][7]}"  # numbers in another column, too
    rows[4][2] = ""
    village = client_for(cast.village)  # the uploader, who may not see personal data
    _upload(village, rows)
    url = reverse("roll:errors", args=[_job().pk])

    masked = village.get(url)
    full = client_for(cast.admin).get(url)

    assert masked.status_code == full.status_code == 200
    sheet = _sheet(masked)
    assert [row[-2] for row in sheet[1:]] == ["3", "6"]
    for refused, original in zip(sheet[1:], (rows[1], rows[4]), strict=True):
        assert refused[1] == mask_id_number(original[1])  # 户主身份证号
        assert refused[3] == mask_id_number(original[3])  # 身份证号
        assert refused[7] == mask_phone(original[7])  # 联系电话
    assert sheet[1][11] == f"原号码 {mask_id_number(rows[0][3])}，电话 {mask_phone(rows[0][7])}"
    text = str(sheet)
    for row in rows:
        for number in (row[1], row[3], row[7]):
            assert not number or number not in text
    assert "错误（已脱敏）.xlsx" in unquote(masked["Content-Disposition"])
    assert _sheet(full)[1][3] == rows[1][3]  # in full for a user who may see it

    village.post(reverse("roll:run", args=[_job().pk]), {"partial": "on"})  # stored again

    assert _job().status == ImportJob.Status.DONE
    assert rows[1][3] not in str(_sheet(village.get(url)))


def test_partial_run_from_the_page(cast, client_for, today):
    rows = roll(3)
    rows[1][2] = ""
    client = client_for(cast.admin)
    _upload(client, rows)
    job = _job()
    checked = client.get(reverse("roll:job", args=[job.pk])).content.decode()
    assert "若“只导入无误的行”，其中 1 户将只导入部分成员（这些户有成员行出错）。" in checked

    client.post(reverse("roll:run", args=[job.pk]), {"partial": "on"})

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.partial
    assert Person.objects.count() == 8
    done = client.get(reverse("roll:job", args=[job.pk])).content.decode()
    assert "已导入无误的行" in done
    assert "其中 1 户只导入了部分成员：这些户有成员行出错未导入，请改正后再导入一次。" in done


def test_unknown_headers_ask_for_a_mapping(cast, client_for, today):
    header = list(HEADERS)
    header[7] = "电话号码（手机）"
    client = client_for(cast.admin)

    response = _upload(client, roll(2), header=header)

    job = _job()
    assert job.status == ImportJob.Status.MAPPING
    assert response["Location"] == reverse("roll:mapping", args=[job.pk])
    html = client.get(response["Location"]).content.decode()
    assert "电话号码（手机）" in html
    assert "139****0001" in html and "13900000001" not in html  # samples, masked

    data = {f"col_{i}": key for i, key in job.mapping.items()}
    data["col_8"] = "phone"
    response = client.post(reverse("roll:mapping", args=[job.pk]), data)

    job.refresh_from_db()
    assert response.status_code == 302
    assert job.status == ImportJob.Status.CHECKED
    assert job.counts["people"]["created"] == 6
    assert job.mapping["8"] == "phone"


def test_a_mapping_without_a_required_column_is_refused(cast, client_for, today):
    header = list(HEADERS)
    header[7] = "电话号码（手机）"
    client = client_for(cast.admin)
    _upload(client, roll(1), header=header)
    job = _job()

    data = {f"col_{i}": key for i, key in job.mapping.items()} | {"col_4": ""}
    html = client.post(reverse("roll:mapping", args=[job.pk]), data).content.decode()

    assert "缺少必填列“身份证号”" in html
    job.refresh_from_db()
    assert job.status == ImportJob.Status.MAPPING


def test_a_file_that_is_not_a_roll_is_refused_at_upload(cast, client_for):
    client = client_for(cast.admin)

    html = client.post(
        UPLOAD, {"file": SimpleUploadedFile("x.docx", b"PK", content_type="application/zip")}
    ).content.decode()

    assert "不支持的文件类型“.docx”" in html
    assert not ImportJob.objects.exists()


def test_a_damaged_file_is_refused_at_upload_in_chinese(cast, client_for):
    good = xlsx_bytes(roll(1))
    damaged = SimpleUploadedFile("b.xlsx", good[: len(good) // 2], content_type=XLSX)

    html = client_for(cast.admin).post(UPLOAD, {"file": damaged}).content.decode()

    assert "无法读取文件“b.xlsx”：不是有效的 .xlsx、.xls、.ods 或 .csv 文件，或文件已损坏" in html
    assert "EOCD" not in html and "Zip" not in html
    assert not ImportJob.objects.exists()


# Access


def test_a_read_only_user_gets_403_on_upload(cast, client_for):
    client = client_for(cast.viewer)

    assert client.get(UPLOAD).status_code == 403
    assert client.post(UPLOAD, {"file": _file(roll(1))}).status_code == 403
    assert not ImportJob.objects.exists()


def test_upload_needs_login(db, client):
    response = client.get(UPLOAD)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_job_out_of_reach_is_404(cast, client_for, today):
    _upload(client_for(cast.village), roll(1))
    job = _job()

    for user in (cast.outsider, cast.township):
        client = client_for(user)
        for name in ("roll:job", "roll:errors", "roll:mapping"):
            assert client.get(reverse(name, args=[job.pk])).status_code == 404
        assert client.post(reverse("roll:run", args=[job.pk])).status_code == 404
    assert client_for(cast.admin).get(reverse("roll:job", args=[job.pk])).status_code == 200


def test_run_is_post_only(cast, client_for, today):
    client = client_for(cast.admin)
    _upload(client, roll(1))

    assert client.get(reverse("roll:run", args=[_job().pk])).status_code == 405


def test_recent_jobs_are_listed_within_reach(cast, client_for, today):
    _upload(client_for(cast.village), roll(1), name="万全庄村.xlsx")

    assert "万全庄村.xlsx" in client_for(cast.admin).get(UPLOAD).content.decode()
    assert "万全庄村.xlsx" not in client_for(cast.township).get(UPLOAD).content.decode()


def test_a_file_that_only_moves_a_household_to_another_village_offers_the_import(
    cast, client_for, today
):
    rows = roll(2)
    client = client_for(cast.admin)
    _upload(client, rows)
    client.post(reverse("roll:run", args=[_job().pk]))
    village = HEADERS.index("所属村（社区）")
    moved = [list(row) for row in rows]
    for row in moved[:3]:  # the first household's three rows
        row[village] = "130681001001"  # 文兴街社区, in 双塔街道

    _upload(client, moved)

    job = _job()
    html = client.get(reverse("roll:job", args=[job.pk])).content.decode()
    assert job.counts["households"]["updated"] == 1 and job.counts["people"]["updated"] == 0
    assert "开始导入" in html and "无需导入" not in html


def test_the_check_counts_the_households_left_out_whole(cast, client_for, today):
    rows = roll(3)
    rows[0][HEADERS.index("姓名")] = ""  # the first household's head row
    client = client_for(cast.admin)
    _upload(client, rows)

    html = client.get(reverse("roll:job", args=[_job().pk])).content.decode()

    assert "另有 1 户整户未导入（户主行有错误，或该户已销户）。" in html
