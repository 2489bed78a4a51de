import datetime
import io

import pytest
from django.urls import reverse

from minqing.audit.models import AuditLog
from minqing.households.models import (
    Category,
    CategoryGrant,
    Household,
    Membership,
    Person,
    PersonStatus,
    Relation,
)
from minqing.households.people import PersonInput
from minqing.households.services import category_grant, household_create, person_move
from minqing.households.tests.conftest import (
    LI_ID,
    LIU_ID,
    ZHANG_ID,
    ZHANG_PHONE,
    assert_no_personal_data,
)
from minqing.lib.excel import read_rows
from minqing.lib.idcard import make_id_number
from minqing.regions.models import Region
from minqing.testing import DIAOWO, SHUANGTA, WANQUANZHUANG, set_status

LIST = reverse("households:list")
# Session, user, the page of households, their village names, their categories; for the
# whole page also the filter's regions and categories, and the category of a filter; with a
# category or a search, how common they are (selectors.SPARSE).
LIST_QUERIES = 9
# The household page: 11 of its own; the sections of outreach, cases and relief add theirs.
DETAIL_QUERIES = 19


def detail(household) -> str:
    return reverse("households:detail", args=[household.pk])


def _saved(response):
    return io.BytesIO(b"".join(response.streaming_content))


def _results(response) -> str:
    """The result block, without the filter form that echoes the query."""
    html = response.content.decode()
    start = html.index('<tbody id="household-rows">')
    return html[start : html.index("</tbody>", start)]


GIVEN = "春夏秋冬梅兰竹菊松柏"


def _name(i: int) -> str:
    """王春春, 王春夏 … (names may not contain digits)."""
    return "王" + GIVEN[i // 10] + GIVEN[i % 10]


def _more_households(n: int, region=WANQUANZHUANG, start=100) -> list[Household]:
    village = Region.objects.get(code=region)
    return [
        household_create(
            actor=None,
            region=village,
            address=f"万全庄村西街{i}号",
            head=PersonInput(
                name=_name(i),
                id_number=make_id_number("130681", datetime.date(1970, 1, 1), start + i),
            ),
        )
        for i in range(n)
    ]


# The list


def test_every_role_finds_the_registry_in_the_navigation(cast, client_for):
    for user in (cast.village, cast.viewer, cast.supervisor, cast.admin):
        html = client_for(user).get(reverse("web:home")).content.decode()
        assert f'href="{LIST}"' in html
        assert "户籍台账" in html


def test_village_cadre_lists_only_the_households_of_their_village(registry, cast, client_for):
    response = client_for(cast.village).get(LIST)

    assert response.status_code == 200
    rows = _results(response)
    assert "张三" in rows
    assert "万全庄村" in rows
    assert "万全庄村东街8号" in rows
    assert "刘芳" not in rows
    assert "永清县万全庄村" not in rows  # the outsider's 张三
    assert rows.count('href="/households/') == 1


def test_township_officer_lists_only_their_township(registry, cast, client_for):
    rows = _results(client_for(cast.township).get(LIST))

    assert "刘芳" in rows
    assert "文兴街社区" in rows
    assert "张三" not in rows


def test_the_list_shows_members_grade_and_current_categories(registry, cast, client_for):
    rows = _results(client_for(cast.admin).get(LIST))

    zhang = rows[rows.index("张三") :]
    zhang = zhang[: zhang.index("</tr>")]
    assert ">3<" in zhang  # three people
    assert "grade-C" in zhang
    assert "低保" not in zhang  # ended on 2026-02-15
    liu = rows[rows.index("刘芳") :]
    assert "低保" in liu[: liu.index("</tr>")]


def test_the_list_hides_sensitive_categories_from_users_without_the_permission(
    registry, cast, client_for
):
    category_grant(
        actor=None,
        category=Category.objects.get(code="disabled"),
        person=registry.li,
        start=datetime.date(2024, 5, 1),
        grade="二级",
    )

    assert "残疾" in _results(client_for(cast.admin).get(LIST))
    page = client_for(cast.village).get(LIST).content.decode()
    assert "残疾" not in page  # neither in the rows nor in the category filter
    assert "信访户" not in page


@pytest.mark.parametrize(
    "query",
    [
        "张",  # name prefix
        "张三",
        "zs",  # pinyin initials
        "ZS",
        "lS",  # 李四, a member, finds her household
        ZHANG_ID[-4:],  # last four of the ID, ending in X
        ZHANG_ID[-4:].lower(),
        ZHANG_PHONE[-4:],  # last four of the phone
        LI_ID,  # a whole ID number
        ZHANG_PHONE,  # a whole phone
    ],
)
def test_search_finds_the_household(registry, cast, client_for, query):
    rows = _results(client_for(cast.admin).get(LIST, {"q": query}))

    assert "张三" in rows, query
    assert "刘芳" not in rows


@pytest.mark.parametrize("query", ["刘", "lf", LIU_ID[-4:], LIU_ID])
def test_search_of_another_township_finds_nothing_for_the_village_cadre(
    registry, cast, client_for, query
):
    rows = _results(client_for(cast.village).get(LIST, {"q": query}))

    assert "刘芳" not in rows
    assert "没有符合条件的户" in rows


def test_search_by_name_stays_within_reach(registry, cast, client_for):
    admin_rows = _results(client_for(cast.admin).get(LIST, {"q": "张三"}))
    outsider_rows = _results(client_for(cast.outsider).get(LIST, {"q": "张三"}))

    assert admin_rows.count('href="/households/') == 1
    assert "万全庄村东街8号" in admin_rows
    assert outsider_rows.count('href="/households/') == 1
    assert "永清县万全庄村" in outsider_rows


def test_who_was_on_dibao_on_the_first_of_march(registry, cast, client_for):
    client = client_for(cast.admin)

    march = _results(client.get(LIST, {"category": "dibao", "on": "2026-03-01"}))
    january = _results(client.get(LIST, {"category": "dibao", "on": "2026-01-10"}))
    today = _results(client.get(LIST, {"category": "dibao"}))

    assert "刘芳" in march and "张三" not in march
    assert "张三" in january and "刘芳" not in january
    assert "低保" in january  # the category column follows the chosen day
    assert "刘芳" in today and "张三" not in today


def test_filters_by_region_grade_and_member_count(registry, cast, client_for):
    client = client_for(cast.admin)

    by_township = _results(client.get(LIST, {"region": SHUANGTA.ljust(12, "0")}))
    by_village = _results(client.get(LIST, {"region": WANQUANZHUANG}))
    by_grade = _results(client.get(LIST, {"grade": "C"}))
    by_size = _results(client.get(LIST, {"members_min": "2", "members_max": "5"}))
    singles = _results(client.get(LIST, {"members_max": "1"}))

    assert "刘芳" in by_township and "张三" not in by_township
    assert "张三" in by_village and "刘芳" not in by_village
    assert "张三" in by_grade and "刘芳" not in by_grade
    assert "张三" in by_size and "刘芳" not in by_size
    assert "刘芳" in singles and "张三" not in singles


def test_the_region_filter_offers_the_townships_and_villages_in_reach(registry, cast, client_for):
    county = client_for(cast.admin).get(LIST).content.decode()
    township = client_for(cast.paired).get(LIST).content.decode()

    assert 'label="刁窝镇"' in county
    assert f'value="{WANQUANZHUANG}"' in county
    assert "别古庄镇" not in county  # the outsider's
    assert f'value="{WANQUANZHUANG}"' in township
    assert f'value="{SHUANGTA.ljust(12, "0")}"' not in township


def test_wrong_filters_are_explained_in_chinese(registry, cast, client_for):
    response = client_for(cast.village).get(
        LIST,
        {
            "grade": "Z",
            "members_min": "many",
            "on": "2026-02-30",
            "category": "petitioner",  # sensitive: unknown to the village cadre
            "region": SHUANGTA.ljust(12, "0"),
        },
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "危房等级“Z”不存在" in html
    assert "最少人口“many”应为 0 到 99 之间的整数" in html
    assert "日期“2026-02-30”格式不正确" in html
    assert "人员类别“petitioner”不存在" in html
    assert "不在您的管辖范围内" in html
    assert "张三" in _results(response)  # the rest of the list still shows


def test_htmx_search_answers_with_the_results_only(registry, cast, client_for):
    response = client_for(cast.admin).get(LIST, {"q": "zs"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert '<tbody id="household-rows">' in html
    assert "张三" in html
    assert "HX-Request" in response["Vary"]


EXPORT = reverse("roll:export")


def test_a_filter_answers_with_export_links_for_it_and_puts_it_in_the_address(
    registry, cast, client_for
):
    client = client_for(cast.admin)
    # What the filter form sends: every field, the day at today, the grade picked.
    form = {"q": "", "category": "", "on": "2026-06-15", "grade": "C", "state": ""}

    response = client.get(LIST, form, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html and "万全庄村东街8号" in html and "文兴街" not in html
    assert f'<a id="export-roll" class="button" href="{EXPORT}?grade=C" hx-swap-oob="true">' in html
    assert f'id="export-roll-full" class="button" href="{EXPORT}?grade=C&amp;full=1"' in html
    assert response["HX-Push-Url"] == f"{LIST}?grade=C"
    # The link exports what is on screen.
    rows = list(read_rows(_saved(client.get(f"{EXPORT}?grade=C")), "r.xlsx"))
    at = rows[0][1].index("家庭住址")
    assert {cells[at] for _n, cells in rows[1:]} == {"万全庄村东街8号"}


def test_the_list_loaded_with_filters_exports_them_and_leaves_out_a_wrong_one(
    registry, cast, client_for
):
    html = client_for(cast.village).get(LIST, {"state": "closed", "grade": "E"}).content.decode()

    assert f'<a id="export-roll" class="button" href="{EXPORT}?state=closed">' in html
    assert "export-roll-full" not in html  # the cadre may not see personal data in full
    assert "hx-swap-oob" not in html


def test_going_back_to_a_filtered_list_gets_the_whole_page(registry, cast, client_for):
    response = client_for(cast.admin).get(
        LIST,
        {"grade": "C"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )

    html = response.content.decode()
    assert "<html" in html and 'name="grade"' in html
    assert f'href="{EXPORT}?grade=C"' in html
    assert "HX-Push-Url" not in response
    assert "HX-History-Restore-Request" in response["Vary"]


def test_the_list_pages_by_fifty_with_more(registry, cast, client_for):
    _more_households(52)
    client = client_for(cast.village)

    first = client.get(LIST)
    rows = _results(first)
    assert rows.count('href="/households/') == 50
    assert "更多" in rows
    # The roll's order: village by village, then as registered.
    assert "张三" in rows and _name(0) in rows and _name(48) in rows and _name(49) not in rows

    next_url = first.context["page"].next_url
    more = client.get(LIST + next_url, HTTP_HX_REQUEST="true").content.decode()
    assert "<table" not in more  # rows for the table that is there
    assert more.count('href="/households/') == 3
    assert _name(49) in more and _name(50) in more and _name(51) in more
    assert "张三" not in more and _name(48) not in more
    assert "更多" not in more
    assert "export-roll" not in more


def test_the_list_costs_the_same_for_more_households(
    registry, cast, client_for, django_assert_max_num_queries
):
    households = _more_households(30)
    dibao = Category.objects.get(code="dibao")
    for household in households[:10]:
        category_grant(
            actor=None, category=dibao, household=household, start=datetime.date(2026, 1, 1)
        )
    client = client_for(cast.admin)

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(LIST, {"category": "dibao", "q": "王"})
    with django_assert_max_num_queries(LIST_QUERIES):
        client.get(LIST, {"members_min": "1"}, HTTP_HX_REQUEST="true")

    assert _results(response).count("低保") == 10


def test_the_list_refuses_post(cast, client_for):
    assert client_for(cast.admin).post(LIST).status_code == 405


def test_the_list_needs_a_login(db, client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# The household page


def test_household_page_shows_members_masked_categories_dwelling_and_history(
    registry, cast, client_for
):
    response = client_for(cast.admin).get(detail(registry.zhang))

    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        "张三户",
        "涿州市",
        "刁窝镇",
        "万全庄村",
        "万全庄村东街8号",
        "李四",
        "配偶",
        "张小明",
        "子女",
        "1985-06-15",
        "41岁",
        "在家居住",
        ZHANG_ID[:6] + "********" + ZHANG_ID[-4:],
        "138****5678",
        "低保",
        "2025-01-01",
        "2026-02-15",
        "涿民〔2025〕3号",
        "C级：局部危险，需维修加固",
        "涿州市房屋安全鉴定站",
        "洪涝",
        "户籍变动",
        "2020-01-01",
        "修改记录",
        "显示完整信息",
    ]:
        assert text in html, text
    assert_no_personal_data(html)


def test_household_page_for_a_village_cadre_has_forms_but_no_reveal_nor_audit(
    registry, cast, client_for
):
    html = client_for(cast.village).get(detail(registry.zhang)).content.decode()

    assert "添加成员" in html
    assert "显示完整信息" not in html
    assert "修改记录" not in html
    assert_no_personal_data(html)


def test_household_page_for_a_read_only_user_has_no_forms(registry, cast, client_for):
    html = client_for(cast.viewer).get(detail(registry.zhang)).content.decode()

    assert "李四" in html
    for action in ["添加成员", "修改住址", "认定类别", "记录房屋鉴定", "修改", "迁移", "终止"]:
        assert f">{action}</a>" not in html
    assert_no_personal_data(html)


@pytest.mark.parametrize(
    ("who", "whose"),
    [("village", "liu"), ("village", "other"), ("township", "zhang"), ("outsider", "zhang")],
)
def test_household_page_out_of_reach_is_404(registry, cast, client_for, who, whose):
    response = client_for(getattr(cast, who)).get(detail(getattr(registry, whose)))

    assert response.status_code == 404


def test_household_page_refuses_post(registry, cast, client_for):
    assert client_for(cast.admin).post(detail(registry.zhang)).status_code == 405


def test_household_page_hides_sensitive_categories_and_their_audit_rows(registry, cast, client_for):
    category_grant(
        actor=cast.admin,
        category=Category.objects.get(code="disabled"),
        person=registry.li,
        start=datetime.date(2024, 5, 1),
        grade="二级",
        document="残疾人证 1306812024",
    )

    admin = client_for(cast.admin).get(detail(registry.zhang)).content.decode()
    supervisor = client_for(cast.supervisor).get(detail(registry.zhang)).content.decode()

    assert "残疾" in admin and "二级" in admin
    assert "修改记录" in supervisor  # may read the audit log …
    assert "残疾" not in supervisor  # … but not the sensitive category, nor its audit row
    assert "1306812024" not in supervisor


def test_household_page_shows_the_audit_trail_of_its_people(registry, cast, client_for):
    client = client_for(cast.admin)
    client.post(
        reverse("households:person_edit", args=[registry.ming.pk]),
        {"name": "张晓明", "relation": Relation.CHILD, "status": PersonStatus.AWAY},
    )

    html = client.get(detail(registry.zhang)).content.decode()

    trail = html[html.index("修改记录") :]
    assert "张建国" in trail
    assert "姓名：张小明 → 张晓明" in trail
    assert "人员状态：在家居住 → 外出务工" in trail


def test_household_page_costs_the_same_for_more_members(
    registry, cast, client_for, django_assert_max_num_queries
):
    for i in range(6):
        client_for(cast.admin).post(
            reverse("households:person_new", args=[registry.zhang.pk]),
            {
                "name": "张孙" + GIVEN[i],
                "id_number": make_id_number("130681", datetime.date(2010, 1, 1), 200 + i),
                "relation": Relation.GRANDCHILD,
                "status": PersonStatus.RESIDENT,
            },
        )
    client = client_for(cast.admin)

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(detail(registry.zhang))

    assert "张孙" + GIVEN[5] in response.content.decode()


# Revealing personal data


def test_reveal_gives_the_full_values_and_writes_an_audit_row(registry, cast, client_for):
    url = reverse("households:reveal", args=[registry.head.pk])

    response = client_for(cast.admin).post(url, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert ZHANG_ID in html and ZHANG_PHONE in html
    assert "<html" not in html
    assert 'hx-swap-oob="true"' in html
    assert "no-store" in response["Cache-Control"]
    row = AuditLog.objects.get(action="view_personal")
    assert (row.actor, row.entity_id, row.source) == (cast.admin, str(registry.head.pk), "web")
    assert ZHANG_ID not in str(row.changes)


def test_reveal_without_javascript_is_a_page(registry, cast, client_for):
    response = client_for(cast.admin).post(reverse("households:reveal", args=[registry.head.pk]))

    html = response.content.decode()
    assert "<html" in html
    assert ZHANG_ID in html
    assert "已记入审计日志" in html


def test_reveal_is_refused_without_the_personal_data_permission(registry, cast, client_for):
    url = reverse("households:reveal", args=[registry.head.pk])

    for user in (cast.village, cast.viewer, cast.supervisor):
        response = client_for(user).post(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 403
        assert_no_personal_data(response.content)
    assert not AuditLog.objects.filter(action="view_personal").exists()


def test_reveal_out_of_reach_is_404_and_get_is_405(registry, cast, client_for):
    url = reverse("households:reveal", args=[registry.head.pk])

    assert client_for(cast.outsider).post(url).status_code == 404
    assert client_for(cast.admin).get(url).status_code == 405


# Creating and editing


def _new_household(**overrides) -> dict:
    data = {
        "region": [DIAOWO.ljust(12, "0"), WANQUANZHUANG],
        "address": "万全庄村南街1号",
        "name": "赵大勇",
        "id_number": make_id_number("130681", datetime.date(1975, 3, 3), 71),
        "phone": "13600001234",
        "sex": "",
        "birth_date": "",
    }
    data.update(overrides)
    return data


def test_creating_a_household_through_the_page(registry, cast, client_for):
    response = client_for(cast.paired).post(reverse("households:new"), _new_household())

    household = Household.objects.get(head_name="赵大勇")
    assert response.status_code == 302
    assert response["Location"] == detail(household)
    assert household.region_id == WANQUANZHUANG
    assert household.member_count == 1
    assert household.head.sex == "M"
    row = AuditLog.objects.get(entity="households.household", entity_id=str(household.pk))
    assert row.actor == cast.paired and row.source == "web"


def test_the_village_cadre_needs_no_region_choice(registry, cast, client_for):
    client = client_for(cast.village)

    form = client.get(reverse("households:new")).content.decode()
    response = client.post(reverse("households:new"), _new_household(region=WANQUANZHUANG))

    assert f'value="{WANQUANZHUANG}"' in form
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"id_number": ZHANG_ID[:-1] + "1"}, "校验位错误"),
        ({"id_number": ZHANG_ID}, "已登记在另一户"),
        ({"sex": "F"}, "性别“女”与身份证号不符"),
        ({"birth_date": "1975-03-04"}, "出生日期 1975-03-04 与身份证号不符"),
        ({"region": SHUANGTA.ljust(12, "0")}, "请选择到村级区划"),
        ({"name": ""}, "这个字段是必填项"),
    ],
)
def test_creating_a_household_refuses_bad_data_with_a_clear_message(
    registry, cast, client_for, overrides, message
):
    response = client_for(cast.admin).post(reverse("households:new"), _new_household(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Household.objects.filter(address="万全庄村南街1号").exists()


def test_a_bad_number_is_masked_in_the_message_but_kept_in_the_field(registry, cast, client_for):
    typed_id, typed_phone = ZHANG_ID[:-1] + "1", "1381234567"  # a bad check digit; 10 digits

    response = client_for(cast.village).post(
        reverse("households:new"), _new_household(id_number=typed_id, phone=typed_phone)
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert f"身份证号“{typed_id[:6]}********{typed_id[-4:]}”校验位错误" in html
    assert "联系电话“138***4567”不是有效的中国大陆电话号码" in html
    # What the cadre typed stays in the inputs, and only there.
    assert html.count(typed_id) == 1 and f'value="{typed_id}"' in html
    assert html.count(typed_phone) == 1 and f'value="{typed_phone}"' in html


def test_creating_out_of_reach_is_refused(registry, cast, client_for):
    response = client_for(cast.village).post(
        reverse("households:new"), _new_household(region="130681001001")
    )

    assert response.status_code == 200
    assert "不在您的管辖范围内" in response.content.decode()
    assert not Household.objects.filter(address="万全庄村南街1号").exists()


def test_read_only_users_cannot_open_any_form(registry, cast, client_for):
    client = client_for(cast.viewer)
    urls = [
        reverse("households:new"),
        reverse("households:edit", args=[registry.zhang.pk]),
        reverse("households:person_new", args=[registry.zhang.pk]),
        reverse("households:grant_new", args=[registry.zhang.pk]),
        reverse("households:assess", args=[registry.zhang.pk]),
        reverse("households:person_edit", args=[registry.li.pk]),
        reverse("households:person_move", args=[registry.li.pk]),
        reverse("households:grant_end", args=[registry.liu.categories.get().pk]),
        reverse("households:head_change", args=[registry.zhang.pk]),
    ]

    for url in urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {}).status_code == 403, url
    assert client_for(cast.supervisor).get(urls[1]).status_code == 403


def test_forms_out_of_reach_are_404(registry, cast, client_for):
    client = client_for(cast.village)
    urls = [
        reverse("households:edit", args=[registry.liu.pk]),
        reverse("households:person_new", args=[registry.other.pk]),
        reverse("households:grant_new", args=[registry.liu.pk]),
        reverse("households:assess", args=[registry.other.pk]),
        reverse("households:person_edit", args=[registry.liu.head_id]),
        reverse("households:person_move", args=[registry.other.head_id]),
        reverse("households:grant_end", args=[registry.liu.categories.get().pk]),
        reverse("households:head_change", args=[registry.liu.pk]),
    ]

    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code == 404, url


def test_forms_refuse_other_methods(registry, cast, client_for):
    client = client_for(cast.admin)

    assert client.put(reverse("households:edit", args=[registry.zhang.pk])).status_code == 405
    assert (
        client.delete(reverse("households:person_edit", args=[registry.li.pk])).status_code == 405
    )
    assert client.put(reverse("households:new")).status_code == 405


def test_editing_the_address(registry, cast, client_for):
    url = reverse("households:edit", args=[registry.zhang.pk])
    client = client_for(cast.village)

    assert "万全庄村东街8号" in client.get(url).content.decode()
    response = client.post(url, {"address": "万全庄村东街10号"})

    assert response.status_code == 302
    registry.zhang.refresh_from_db()
    assert registry.zhang.address == "万全庄村东街10号"
    row = AuditLog.objects.filter(entity="households.household", action="update").get()
    assert row.changes == {"address": ["万全庄村东街8号", "万全庄村东街10号"]}


def test_moving_a_household_to_another_village(registry, cast, client_for):
    url = reverse("households:edit", args=[registry.zhang.pk])
    # A village officer may not move it out of their village.
    refused = client_for(cast.village).post(url, {"region": "130681001001", "address": "x"})
    assert refused.status_code == 200
    assert "不在您的管辖范围内" in refused.content.decode()
    assert Household.objects.get(pk=registry.zhang.pk).region_id == "130681107228"

    client = client_for(cast.admin)
    assert 'value="130681107228"' in client.get(url).content.decode()  # its village, chosen
    response = client.post(url, {"region": "130681001001", "address": "文兴街3号"})

    assert response.status_code == 302
    household = Household.objects.get(pk=registry.zhang.pk)
    assert (household.region_id, household.address) == ("130681001001", "文兴街3号")
    assert set(household.members.values_list("region_id", flat=True)) == {"130681001001"}
    row = AuditLog.objects.filter(entity="households.household", action="update").get()
    assert row.changes["region"] == ["130681107228", "130681001001"]


def test_adding_a_member(registry, cast, client_for):
    url = reverse("households:person_new", args=[registry.zhang.pk])
    client = client_for(cast.village)

    form = client.get(url).content.decode()
    response = client.post(
        url,
        {
            "name": "张丽",
            "id_number": make_id_number("130681", datetime.date(2012, 8, 8), 82),
            "relation": Relation.GRANDCHILD,
            "phone": "",
            "status": PersonStatus.RESIDENT,
        },
    )

    assert 'value="head"' not in form  # the household has its head
    assert response.status_code == 302
    registry.zhang.refresh_from_db()
    assert registry.zhang.member_count == 4
    assert Person.objects.get(name="张丽").sex == "F"


def test_adding_a_member_with_a_bad_phone_says_so(registry, cast, client_for):
    response = client_for(cast.village).post(
        reverse("households:person_new", args=[registry.zhang.pk]),
        {
            "name": "张丽",
            "id_number": make_id_number("130681", datetime.date(2012, 8, 8), 82),
            "relation": Relation.GRANDCHILD,
            "phone": "12345",
            "status": PersonStatus.RESIDENT,
        },
    )

    assert response.status_code == 200
    assert "联系电话“12345”不是有效" in response.content.decode()


def test_the_person_form_never_shows_the_full_id_or_phone(registry, cast, client_for):
    url = reverse("households:person_edit", args=[registry.head.pk])

    html = client_for(cast.admin).get(url).content.decode()  # not even to the admin

    assert ZHANG_ID[:6] + "********" + ZHANG_ID[-4:] in html
    assert "138****5678" in html
    assert_no_personal_data(html)


def test_editing_a_person_keeps_what_is_left_empty(registry, cast, client_for):
    url = reverse("households:person_edit", args=[registry.li.pk])

    response = client_for(cast.village).post(
        url,
        {
            "name": "李四",
            "id_number": "",
            "phone": "",
            "relation": Relation.SPOUSE,
            "status": PersonStatus.AWAY,
        },
    )

    assert response.status_code == 302
    registry.li.refresh_from_db()
    assert registry.li.status == PersonStatus.AWAY
    assert registry.li.id_number == LI_ID
    assert registry.li.phone == "13987654321"
    registry.zhang.refresh_from_db()
    assert registry.zhang.member_count == 3  # working away still counts


def test_editing_a_person_corrects_the_id_number_and_removes_the_phone(registry, cast, client_for):
    corrected = make_id_number("130681", datetime.date(1960, 2, 4), 22)

    response = client_for(cast.village).post(
        reverse("households:person_edit", args=[registry.li.pk]),
        {
            "name": "李四",
            "id_number": corrected,
            "clear_phone": "on",
            "relation": Relation.SPOUSE,
            "status": PersonStatus.RESIDENT,
        },
    )

    assert response.status_code == 302
    registry.li.refresh_from_db()
    assert (registry.li.id_number, registry.li.phone) == (corrected, "")
    assert registry.li.birth_date == datetime.date(1960, 2, 4)


def test_a_member_cannot_be_made_head_by_editing(registry, cast, client_for):
    url = reverse("households:person_edit", args=[registry.li.pk])

    response = client_for(cast.village).post(
        url, {"name": "李四", "relation": Relation.HEAD, "status": PersonStatus.RESIDENT}
    )

    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()


def test_moving_a_member_to_another_household(registry, cast, client_for):
    url = reverse("households:person_move", args=[registry.ming.pk])
    client = client_for(cast.admin)

    by_name = client.get(url, {"q": "刘"}, HTTP_HX_REQUEST="true").content.decode()
    by_id = client.get(url, {"q": LIU_ID}).content.decode()
    response = client.post(
        url,
        {
            "household": registry.liu.pk,
            "relation": Relation.OTHER,
            "on": "2026-06-01",
            "reason": "租住",
        },
    )

    assert "刘芳户" in by_name and "<html" not in by_name
    assert "刘芳户" in by_id
    assert response.status_code == 302
    assert response["Location"] == detail(registry.liu)
    registry.zhang.refresh_from_db()
    registry.liu.refresh_from_db()
    assert (registry.zhang.member_count, registry.liu.member_count) == (2, 2)
    left = Membership.objects.get(person=registry.ming, household=registry.zhang)
    assert left.left_on == datetime.date(2026, 6, 1) and left.reason == "租住"
    liu_page = client.get(detail(registry.liu)).content.decode()
    assert "张小明" in liu_page and "2026-06-01" in liu_page


@pytest.mark.parametrize(
    ("on", "message"),
    [
        ("2027-06-01", "迁移日期 2027-06-01 晚于今天"),
        ("2005-01-01", "迁移日期 2005-01-01 早于张小明在现户的迁入日期 2020-01-01"),
    ],
)
def test_a_move_dated_in_the_future_or_before_joining_is_refused_on_the_date(
    registry, cast, client_for, on, message
):
    response = client_for(cast.admin).post(
        reverse("households:person_move", args=[registry.ming.pk]),
        {"household": registry.liu.pk, "relation": Relation.OTHER, "on": on},
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"on": [message]}
    assert message in response.content.decode()
    registry.ming.refresh_from_db()
    assert registry.ming.household_id == registry.zhang.pk


def test_moving_the_head_out_leads_to_the_household_asking_for_a_new_head(
    registry, cast, client_for
):
    url = reverse("households:person_move", args=[registry.head.pk])
    client = client_for(cast.admin)

    form = client.get(url).content.decode()
    member_form = client.get(
        reverse("households:person_move", args=[registry.ming.pk])
    ).content.decode()
    response = client.post(
        url,
        {"household": registry.liu.pk, "relation": Relation.SPOUSE, "on": "2026-06-01"},
    )

    assert "原户新户主" in form and "原户新户主" not in member_form
    assert response.status_code == 302
    assert response["Location"] == detail(registry.zhang)  # the household left behind
    page = client.get(detail(registry.zhang)).content.decode()
    assert "<h1>万全庄村东街8号（无户主）</h1>" in page
    assert "—户" not in page
    assert "该户暂无户主，请办理户主变更。" in page
    assert f'href="{reverse("households:head_change", args=[registry.zhang.pk])}"' in page


def test_naming_the_new_head_in_the_move_shows_the_members_relations_to_them(
    registry, cast, client_for
):
    url = reverse("households:person_move", args=[registry.head.pk])
    client = client_for(cast.admin)
    field = f"relation_{registry.li.pk}"

    page = client.get(url).content.decode()
    part = client.get(url, {"successor": registry.ming.pk}, headers={"HX-Request": "true"})
    nobody = client.get(url, {"successor": ""}, headers={"HX-Request": "true"})

    assert f'hx-get="{url}"' in page and 'hx-target="#successor-relations"' in page
    assert field not in page  # no successor yet: no relations to ask for
    html = part.content.decode()
    assert "<form" not in html and "其他成员与新户主的关系" in html
    assert _selected(html, field) == Relation.PARENT  # the new head's mother
    assert f'name="relations_for" value="{registry.ming.pk}"' in html
    assert field not in nobody.content.decode()


def test_a_move_naming_the_new_head_asks_for_the_relations_before_saving(
    registry, cast, client_for
):
    url = reverse("households:person_move", args=[registry.head.pk])
    client = client_for(cast.admin)
    field = f"relation_{registry.li.pk}"
    data = {
        "household": registry.liu.pk,
        "relation": Relation.SPOUSE,
        "on": "2026-06-01",
        "successor": registry.ming.pk,
    }

    # Without the selects on the form sent (no JavaScript): shown, filled in, nothing moved.
    first = client.post(url, data)

    assert first.status_code == 200
    html = first.content.decode()
    assert "请确认原户其他成员与新户主张小明的关系，再点“迁移”" in html
    assert _selected(html, field) == Relation.PARENT
    assert Person.objects.get(pk=registry.head.pk).household_id == registry.zhang.pk

    second = client.post(url, data | {"relations_for": registry.ming.pk, field: Relation.OTHER})

    assert second.status_code == 302
    assert second["Location"] == detail(registry.liu)
    zhang = Household.objects.get(pk=registry.zhang.pk)
    assert (zhang.head_id, zhang.head_name) == (registry.ming.pk, "张小明")
    assert Person.objects.get(pk=registry.li.pk).relation == Relation.OTHER


def test_a_move_naming_a_new_head_who_stays_alone_needs_no_confirmation(registry, cast, client_for):
    person_move(  # 张三 and 李四 stay
        actor=None, person=registry.ming, household=registry.liu, relation=Relation.OTHER
    )
    response = client_for(cast.admin).post(
        reverse("households:person_move", args=[registry.head.pk]),
        {
            "household": registry.liu.pk,
            "relation": Relation.SPOUSE,
            "on": "2026-06-01",
            "successor": registry.li.pk,
        },
    )

    assert response.status_code == 302
    zhang = Household.objects.get(pk=registry.zhang.pk)
    assert (zhang.head_id, zhang.head_name) == (registry.li.pk, "李四")


def test_changing_the_head_on_the_household_page(registry, cast, client_for):
    url = reverse("households:head_change", args=[registry.zhang.pk])
    client = client_for(cast.village)

    page = client.get(detail(registry.zhang)).content.decode()
    form = client.get(url).content.decode()
    response = client.post(
        url, {"person": registry.ming.pk, "old_head_relation": Relation.PARENT, "on": "2026-06-15"}
    )

    assert f'href="{url}"' in page
    assert "张小明（子女）" in form and "张三（户主）" not in form
    assert "原户主张三改为" in form
    assert response.status_code == 302
    assert response["Location"] == detail(registry.zhang)
    after = client.get(detail(registry.zhang)).content.decode()
    assert "<h1>张小明户</h1>" in after
    # Closed and opened, each: 张三's, 张小明's and 李四's (now the new head's mother).
    assert after.count('<td data-label="原因">户主变更</td>') == 6
    assert Person.objects.get(name="张三", household=registry.zhang).relation == Relation.PARENT


def test_the_head_change_page_refuses_with_the_services_message(registry, cast, client_for):
    response = client_for(cast.village).post(
        reverse("households:head_change", args=[registry.zhang.pk]),
        {"person": registry.ming.pk, "old_head_relation": Relation.PARENT, "on": "2019-05-01"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "on": ["变更日期 2019-05-01 早于张小明在现户的迁入日期 2020-01-01"]
    }
    assert Household.objects.get(pk=registry.zhang.pk).head_name == "张三"


def _selected(html: str, name: str) -> str:
    """The value selected in the select ``name`` of a page."""
    start = html.index(f'name="{name}"')
    select = html[start : html.index("</select>", start)]
    return select.split('" selected>')[0].rsplit('value="', 1)[1]


def test_choosing_the_new_head_suggests_each_members_relation_to_them(registry, cast, client_for):
    url = reverse("households:head_change", args=[registry.zhang.pk])
    client = client_for(cast.village)

    page = client.get(url, {"person": registry.ming.pk}).content.decode()
    part = client.get(url, {"person": registry.ming.pk}, headers={"HX-Request": "true"})

    field = f"relation_{registry.li.pk}"
    assert f'<label for="id_{field}">李四</label>' in page
    assert "现登记为“配偶”" in page
    assert _selected(page, field) == Relation.PARENT  # the new head's mother
    assert _selected(page, "old_head_relation") == Relation.PARENT
    assert f'hx-get="{url}"' in page and 'hx-target="#head-relations"' in page
    assert part.status_code == 200
    assert "<form" not in part.content.decode()
    assert _selected(part.content.decode(), field) == Relation.PARENT


def test_the_head_change_page_asks_the_relation_of_members_no_longer_living_there(
    registry, cast, client_for
):
    set_status(registry.li, PersonStatus.DECEASED)
    url = reverse("households:head_change", args=[registry.zhang.pk])
    client = client_for(cast.village)
    field = f"relation_{registry.li.pk}"

    page = client.get(url, {"person": registry.ming.pk}).content.decode()
    response = client.post(
        url,
        {
            "person": registry.ming.pk,
            "old_head_relation": Relation.PARENT,
            field: Relation.PARENT,
            "on": "2026-06-15",
        },
    )

    assert f'<label for="id_{field}">李四（已故）</label>' in page
    assert _selected(page, field) == Relation.PARENT
    assert response.status_code == 302
    assert Person.objects.get(pk=registry.li.pk).relation == Relation.PARENT


def test_changing_the_head_sets_the_relations_chosen_for_the_members(registry, cast, client_for):
    url = reverse("households:head_change", args=[registry.zhang.pk])
    client = client_for(cast.village)

    response = client.post(
        url,
        {
            "person": registry.ming.pk,
            "old_head_relation": Relation.PARENT,
            f"relation_{registry.li.pk}": Relation.OTHER,
            "on": "2026-06-15",
        },
    )

    assert response.status_code == 302
    assert Person.objects.get(pk=registry.li.pk).relation == Relation.OTHER
    assert Membership.objects.filter(person=registry.li, reason="户主变更").count() == 2
    after = client_for(cast.admin).get(detail(registry.zhang)).content.decode()
    assert '<td class="title">李四</td>\n        <td class="relation">其他</td>' in after
    assert "李四（配偶）" in after and "李四（其他）" in after  # the audit row, old and new


def test_a_member_left_to_the_suggestion_gets_it(registry, cast, client_for):
    response = client_for(cast.village).post(
        reverse("households:head_change", args=[registry.zhang.pk]),
        {"person": registry.ming.pk, "old_head_relation": Relation.PARENT, "on": "2026-06-15"},
    )

    assert response.status_code == 302
    assert Person.objects.get(pk=registry.li.pk).relation == Relation.PARENT


def test_the_head_change_page_refuses_a_second_head_on_that_members_field(
    registry, cast, client_for
):
    field = f"relation_{registry.li.pk}"
    response = client_for(cast.village).post(
        reverse("households:head_change", args=[registry.zhang.pk]),
        {
            "person": registry.ming.pk,
            "old_head_relation": Relation.PARENT,
            field: Relation.HEAD,
            "on": "2026-06-15",
        },
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert "选择一个有效的选项" in response.content.decode()
    assert Household.objects.get(pk=registry.zhang.pk).head_name == "张三"


def test_the_move_search_stays_within_reach(registry, cast, client_for):
    url = reverse("households:person_move", args=[registry.ming.pk])
    client = client_for(cast.village)

    found = client.get(url, {"q": "刘"}).content.decode()
    response = client.post(
        url, {"household": registry.liu.pk, "relation": Relation.OTHER, "on": "2026-06-01"}
    )

    assert "刘芳户" not in found
    assert response.status_code == 200
    assert "迁入户不存在，或不在您的管辖范围内" in response.content.decode()
    registry.ming.refresh_from_db()
    assert registry.ming.household_id == registry.zhang.pk


def test_granting_a_person_category_with_its_grade(registry, cast, client_for):
    url = reverse("households:grant_new", args=[registry.zhang.pk])
    client = client_for(cast.admin)

    form = client.get(url).content.decode()
    response = client.post(
        url,
        {
            "category": "disabled",
            "target": str(registry.li.pk),
            "grade": "二级",
            "start": "2026-05-01",
            "document": "残疾人证",
        },
    )

    assert "残疾" in form and "李四" in form
    assert response.status_code == 302
    grant = CategoryGrant.objects.get(category__code="disabled")
    assert (grant.person, grant.grade, grant.household) == (registry.li, "二级", None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"category": "disabled", "start": "2026-05-01"}, "“残疾”是人员类别，应认定给人"),
        ({"category": "dibao", "start": "2026-01-01"}, "该时段已认定为“低保”"),
        ({"category": "dibao", "start": "2026-07-01"}, "起始日期 2026-07-01 晚于今天"),
        (
            {"category": "dibao", "start": "2026-05-01", "grade": "二级"},
            "“低保”不分等级，请不要填写等级",
        ),
        (
            {"category": "dibao", "start": "2026-05-01", "end": "2026-04-01"},
            "终止日期不能早于起始日期",
        ),
    ],
)
def test_granting_refuses_with_the_services_message(registry, cast, client_for, data, message):
    response = client_for(cast.admin).post(
        reverse("households:grant_new", args=[registry.zhang.pk]), data
    )

    assert response.status_code == 200
    assert message in response.content.decode()


def test_the_village_cadre_cannot_grant_a_sensitive_category(registry, cast, client_for):
    url = reverse("households:grant_new", args=[registry.zhang.pk])
    client = client_for(cast.village)

    form = client.get(url).content.decode()
    response = client.post(url, {"category": "petitioner", "start": "2026-05-01"})

    assert "信访户" not in form
    assert response.status_code == 200
    assert not CategoryGrant.objects.filter(category__code="petitioner").exists()


def test_ending_a_category(registry, cast, client_for):
    grant = registry.liu.categories.get()
    url = reverse("households:grant_end", args=[grant.pk])
    client = client_for(cast.township)

    response = client.post(url, {"end": "2026-06-10", "reason": "收入超标"})
    again = client.post(url, {"end": "2026-06-11"})

    assert response.status_code == 302
    grant.refresh_from_db()
    assert (grant.end, grant.end_reason) == (datetime.date(2026, 6, 10), "收入超标")
    assert again.status_code == 200
    assert "该认定已经终止" in again.content.decode()


def test_a_sensitive_grant_is_404_to_a_user_without_the_permission(registry, cast, client_for):
    grant = category_grant(
        actor=None,
        category=Category.objects.get(code="petitioner"),
        household=registry.zhang,
        start=datetime.date(2026, 3, 1),
    )
    url = reverse("households:grant_end", args=[grant.pk])

    assert client_for(cast.village).get(url).status_code == 404
    assert client_for(cast.admin).get(url).status_code == 200


def test_recording_a_dwelling_assessment(registry, cast, client_for):
    url = reverse("households:assess", args=[registry.zhang.pk])
    client = client_for(cast.village)

    response = client.post(
        url,
        {"grade": "D", "assessed_on": "2026-06-10", "appraiser": "鉴定站", "cause": "flood"},
    )
    future = client.post(url, {"grade": "A", "assessed_on": "2026-07-01"})

    assert response.status_code == 302
    html = client.get(detail(registry.zhang)).content.decode()
    assert "D级：整体危险，需拆除重建" in html
    assert html.count("grade-C") >= 1  # the earlier assessment stays in the history
    assert future.status_code == 200
    assert "鉴定日期 2026-07-01 晚于今天" in future.content.decode()
