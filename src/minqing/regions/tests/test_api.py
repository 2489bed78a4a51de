import pytest

from minqing.regions.models import Region

WANQUANZHUANG = "130681107228"
OTHER_WANQUANZHUANG = "131023103202"
SHUANGTA = "130681001000"
DIAOWO = "130681107000"
NOT_FOUND = "未找到该资源，或不在您的管辖范围内"


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["code"] for r in response.json()]


def assert_not_found(response):
    assert response.status_code == 404
    assert response.json() == {"detail": NOT_FOUND}


# GET /api/regions


def test_listing_without_parent_gives_the_users_own_region(cast, client_for):
    assert codes(client_for(cast.admin).get("/api/regions")) == ["130681000000"]
    assert codes(client_for(cast.village).get("/api/regions")) == [WANQUANZHUANG]
    assert codes(client_for(cast.outsider).get("/api/regions")) == ["131023000000"]


def test_the_top_of_the_list_can_be_opened(cast, client_for):
    client = client_for(cast.township)
    [top] = codes(client.get("/api/regions"))

    villages = codes(client.get("/api/regions", {"parent": top}))

    assert "130681001001" in villages
    assert all(code.startswith("130681001") for code in villages)


def test_listing_a_townships_children_gives_its_active_villages(cast, client_for):
    Region.objects.filter(code="130681107229").update(retired_in=2024)

    response = client_for(cast.admin).get("/api/regions", {"parent": DIAOWO})

    villages = codes(response)
    assert WANQUANZHUANG in villages
    assert "130681107229" not in villages
    assert villages == sorted(villages)
    [wanquanzhuang] = [r for r in response.json() if r["code"] == WANQUANZHUANG]
    assert wanquanzhuang == {
        "code": WANQUANZHUANG,
        "name": "万全庄村村民委员会",
        "short_name": "万全庄村",
        "level": 5,
        "parent_id": DIAOWO,
        "retired_in": None,
    }


def test_listing_the_children_of_a_region_out_of_reach_is_not_found(cast, client_for):
    village = client_for(cast.village)

    assert_not_found(village.get("/api/regions", {"parent": SHUANGTA}))
    assert_not_found(village.get("/api/regions", {"parent": DIAOWO}))
    assert_not_found(client_for(cast.outsider).get("/api/regions", {"parent": DIAOWO}))


# GET /api/regions/search


def test_a_village_cadre_searching_万全庄_finds_only_their_own(cast, client_for):
    response = client_for(cast.village).get("/api/regions/search", {"q": "万全庄"})

    assert codes(response) == [WANQUANZHUANG]


def test_the_outsider_searching_万全庄_finds_only_theirs(cast, client_for):
    response = client_for(cast.outsider).get("/api/regions/search", {"q": "万全庄"})

    assert codes(response) == [OTHER_WANQUANZHUANG]


def test_the_county_admin_searching_万全庄_finds_the_village_in_the_county(cast, client_for):
    response = client_for(cast.admin).get("/api/regions/search", {"q": "万全庄"})

    assert codes(response) == [WANQUANZHUANG]


def test_search_lists_townships_before_villages(cast, client_for):
    response = client_for(cast.admin).get("/api/regions/search", {"q": "刁窝"})

    found = codes(response)
    assert found[0] == DIAOWO
    assert "130681107201" in found  # 刁窝第一村


def test_search_needs_a_query(cast, client_for):
    response = client_for(cast.admin).get("/api/regions/search")

    assert response.status_code == 422
    assert response.json()["detail"] == "请求数据格式不正确：q"


# GET /api/regions/{code}


def test_a_region_in_reach_comes_with_its_path(cast, client_for):
    response = client_for(cast.village).get(f"/api/regions/{WANQUANZHUANG}")

    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["short_name"], body["level"]) == (WANQUANZHUANG, "万全庄村", 5)
    assert [r["short_name"] for r in body["path"]] == [
        "河北省",
        "保定市",
        "涿州市",
        "刁窝镇",
        "万全庄村",
    ]


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("village", SHUANGTA),
        ("village", OTHER_WANQUANZHUANG),
        ("village", DIAOWO),
        ("outsider", WANQUANZHUANG),
        ("admin", "130681999999"),
        ("admin", "13068110722X"),
    ],
)
def test_a_region_out_of_reach_or_missing_is_not_found(cast, client_for, who, code):
    assert_not_found(client_for(getattr(cast, who)).get(f"/api/regions/{code}"))


# Every endpoint


@pytest.mark.parametrize(
    "url",
    [
        "/api/regions",
        f"/api/regions?parent={DIAOWO}",
        "/api/regions/search?q=万全庄",
        f"/api/regions/{WANQUANZHUANG}",
    ],
)
def test_the_region_endpoints_are_read_only(cast, client_for, url):
    client = client_for(cast.admin)

    assert client.post(url).status_code == 405
    assert client.delete(url).status_code == 405


@pytest.mark.parametrize(
    "url", ["/api/regions", "/api/regions/search?q=万全庄", f"/api/regions/{WANQUANZHUANG}"]
)
def test_the_region_endpoints_need_a_signed_in_user(cast, client, url):
    response = client.get(url)

    assert response.status_code == 401
    assert response.json() == {"detail": "未登录，或访问令牌无效、已吊销"}
