from django.urls import reverse

from minqing.regions.models import Region

WANQUANZHUANG = "130681107228"
OTHER_WANQUANZHUANG = "131023103202"
SHUANGTA = "130681001000"
DIAOWO = "130681107000"


def browse(client, **params):
    return client.get(reverse("regions:browse"), params)


def region_page(client, code):
    return client.get(reverse("regions:region", args=[code]))


def search_results(response) -> str:
    """The results partial only, so that the children list cannot satisfy an assertion."""
    html = response.content.decode()
    start = html.index('id="region-results"')
    return html[start : html.index("</div>", start)]


# The browse page


def test_the_browse_page_starts_at_the_users_reach_and_lists_its_townships(cast, client_for):
    response = browse(client_for(cast.admin))

    assert response.status_code == 200
    html = response.content.decode()
    assert "涿州市" in html
    assert "双塔街道" in html and "刁窝镇" in html
    assert "别古庄镇" not in html


def test_a_township_page_lists_its_villages_and_its_path(cast, client_for):
    response = region_page(client_for(cast.admin), DIAOWO)

    html = response.content.decode()
    assert "万全庄村" in html and WANQUANZHUANG in html
    # The path shows the ancestors above the reach as plain names, links from the reach down.
    assert f'href="{reverse("regions:region", args=["130681000000"])}"' in html
    assert f'href="{reverse("regions:region", args=["130600000000"])}"' not in html
    assert "保定市" in html


def test_a_village_cadre_opens_on_their_own_village(cast, client_for):
    response = browse(client_for(cast.village))

    html = response.content.decode()
    assert "万全庄村村民委员会" in html
    assert "没有下级区划" in html


def test_the_browse_page_needs_a_signed_in_user(cast, client):
    response = browse(client)

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_the_browse_page_refuses_post(cast, client_for):
    client = client_for(cast.admin)

    assert client.post(reverse("regions:browse")).status_code == 405
    assert client.post(reverse("regions:region", args=[DIAOWO])).status_code == 405


def test_a_region_out_of_reach_is_not_found(cast, client_for):
    village = client_for(cast.village)

    assert region_page(village, SHUANGTA).status_code == 404
    assert region_page(village, OTHER_WANQUANZHUANG).status_code == 404
    # Ancestors are named in the path but cannot be opened.
    assert region_page(village, DIAOWO).status_code == 404
    assert region_page(client_for(cast.outsider), WANQUANZHUANG).status_code == 404


def test_a_missing_or_malformed_code_is_not_found(cast, client_for):
    admin = client_for(cast.admin)

    assert region_page(admin, "130681999999").status_code == 404
    assert region_page(admin, "13068110722X").status_code == 404


def test_the_browse_page_costs_the_same_few_queries_however_many_children(
    cast, client_for, django_assert_max_num_queries
):
    client = client_for(cast.admin)
    # 刁窝镇 has some 35 villages, 涿州市 17 townships: neither may cost a query per row.
    # Session, user, region, path, children.
    for code in ("130681000000", DIAOWO, WANQUANZHUANG):
        with django_assert_max_num_queries(5):
            response = region_page(client, code)
        assert response.status_code == 200
    with django_assert_max_num_queries(6):
        response = browse(client, q="村")
    assert search_results(response).count("<li>") == 50


# Search


def test_a_village_cadre_searching_their_village_finds_only_their_own(cast, client_for):
    response = browse(client_for(cast.village), q="万全庄")

    results = search_results(response)
    assert WANQUANZHUANG in results
    assert OTHER_WANQUANZHUANG not in response.content.decode()
    assert results.count("<li>") == 1


def test_the_outsider_searching_万全庄_finds_only_their_own(cast, client_for):
    response = browse(client_for(cast.outsider), q="万全庄")

    results = search_results(response)
    assert OTHER_WANQUANZHUANG in results
    assert WANQUANZHUANG not in response.content.decode()
    assert results.count("<li>") == 1


def test_the_county_admin_finds_the_village_by_name(cast, client_for):
    response = browse(client_for(cast.admin), q="万全庄")

    results = search_results(response)
    assert WANQUANZHUANG in results
    assert OTHER_WANQUANZHUANG not in results


def test_a_search_that_finds_nothing_says_so(cast, client_for):
    response = browse(client_for(cast.village), q="刁窝")

    assert "管辖范围内没有名称含“刁窝”的区划" in search_results(response)


def test_a_search_marks_retired_regions(cast, client_for):
    Region.objects.filter(code="130681107229").update(retired_in=2024)

    response = browse(client_for(cast.admin), q="北务")

    assert "130681107229 · 已撤销" in search_results(response)


def test_an_htmx_search_returns_only_the_results(cast, client_for):
    client = client_for(cast.admin)

    response = client.get(reverse("regions:browse"), {"q": "万全庄"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "搜索结果" in html and WANQUANZHUANG in html
    assert "<html" not in html
    assert "下级区划" not in html
    assert "HX-Request" in response["Vary"]


def test_the_full_page_also_varies_on_htmx(cast, client_for):
    response = browse(client_for(cast.admin), q="万全庄")

    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


# The picker


def picker(client, **params):
    return client.get(reverse("regions:picker"), params)


def select_for(html: str, label: str) -> str:
    start = html.index(f'aria-label="{label}"')
    return html[start : html.index("</select>", start)]


def test_the_picker_lists_the_villages_of_the_chosen_township(cast, client_for):
    response = picker(client_for(cast.admin), field="region", max=5, region=DIAOWO)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{DIAOWO}" selected>刁窝镇</option>' in select_for(html, "乡级")
    villages = select_for(html, "村级")
    assert f'<option value="{WANQUANZHUANG}">万全庄村</option>' in villages
    assert "双塔街道" not in villages
    assert 'type="hidden"' not in html


def test_the_picker_takes_the_deepest_choice(cast, client_for):
    response = client_for(cast.admin).get(
        f"{reverse('regions:picker')}?field=region&max=5&region={DIAOWO}&region={WANQUANZHUANG}"
    )

    villages = select_for(response.content.decode(), "村级")
    assert f'<option value="{WANQUANZHUANG}" selected>万全庄村</option>' in villages


def test_the_picker_for_a_village_cadre_is_fixed_to_their_village(cast, client_for):
    response = picker(client_for(cast.village), field="region", max=5)

    html = response.content.decode()
    assert "<select" not in html
    assert f'<input type="hidden" name="region" value="{WANQUANZHUANG}">' in html
    assert "万全庄村" in html


def test_the_picker_ignores_a_region_out_of_reach(cast, client_for):
    response = picker(client_for(cast.admin), field="region", max=5, region=OTHER_WANQUANZHUANG)

    html = response.content.decode()
    assert response.status_code == 200
    assert "selected" not in html
    assert "131023" not in html


def test_the_picker_refuses_post(cast, client_for):
    assert client_for(cast.admin).post(reverse("regions:picker")).status_code == 405


def test_the_picker_refuses_a_malformed_depth(cast, client_for):
    assert picker(client_for(cast.admin), max="village").status_code == 404


def test_choosing_nothing_in_the_village_select_falls_back_to_its_township(cast, client_for):
    # The picker sends only the select that changed, with its parent for "请选择".
    response = client_for(cast.admin).get(
        "/regions/picker/", {"field": "reach", "max": "5", "reach": "", "parent": "130681107000"}
    )
    html = response.content.decode()
    assert '<option value="130681107000" selected>' in html
    assert "万全庄村" in html
    assert '<option value="130681107228" selected>' not in html


def test_the_picker_ignores_a_parent_out_of_reach(cast, client_for):
    response = client_for(cast.township).get(
        "/regions/picker/", {"field": "reach", "max": "5", "reach": "", "parent": "130681107000"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "万全庄村" not in html
    assert "刁窝镇" not in html
