import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from minqing.regions.forms import RegionField, RegionPicker
from minqing.regions.models import Region

WANQUANZHUANG = "130681107228"
DIAOWO = "130681107000"


def refusal(field: RegionField, value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        field.clean(value)
    [message] = caught.value.messages
    return message


@pytest.fixture
def village_field(cast):
    return RegionField(user=cast.admin, levels=(5,))


def test_a_malformed_code_is_refused(village_field):
    assert (
        refusal(village_field, "13068110722X") == "区划代码“13068110722X”格式不正确，应为12位数字"
    )


def test_an_unknown_code_is_refused(village_field):
    assert refusal(village_field, "999999999999") == "区划代码“999999999999”不存在"


def test_a_region_out_of_reach_is_refused(village_field):
    assert (
        refusal(village_field, "131023103202")
        == "“万全庄村村民委员会”（131023103202）不在您的管辖范围内"
    )


def test_a_retired_region_is_refused(village_field):
    Region.objects.filter(code="130681107229").update(retired_in=2024)

    assert (
        refusal(village_field, "130681107229")
        == "“北务村村民委员会”已于 2024 年版撤销，请选择现行区划"
    )


def test_a_township_is_refused_where_a_village_is_required(village_field):
    assert refusal(village_field, DIAOWO) == "请选择到村级区划，“刁窝镇”是乡级"


def test_an_empty_value_is_required(village_field):
    assert refusal(village_field, "") == "这个字段是必填项。"


def test_a_village_in_reach_is_accepted_as_its_region(village_field):
    region = village_field.clean(f" {WANQUANZHUANG} ")

    assert isinstance(region, Region)
    assert region.code == WANQUANZHUANG


def test_a_field_for_two_levels_accepts_either(cast):
    field = RegionField(user=cast.admin, levels=(4, 5))

    assert field.clean("130681001000").code == "130681001000"
    assert field.clean("130681001001").code == "130681001001"
    assert refusal(field, "130681000000") == "请选择到乡级或村级区划，“涿州市”是县级"


def test_a_village_cadre_cannot_pick_a_neighbouring_village(cast):
    field = RegionField(user=cast.village, levels=(5,))

    assert field.clean(WANQUANZHUANG).code == WANQUANZHUANG
    assert refusal(field, "130681107229") == "“北务村村民委员会”（130681107229）不在您的管辖范围内"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"region={DIAOWO}&region={WANQUANZHUANG}", WANQUANZHUANG),
        # htmx sends the changed select first: order does not decide, depth does.
        (f"region={WANQUANZHUANG}&region={DIAOWO}", WANQUANZHUANG),
        (f"region={DIAOWO}&region=", DIAOWO),
        ("region=&region=", ""),
        ("other=1", ""),
    ],
)
def test_the_picker_reads_the_deepest_choice(cast, query, expected):
    picker = RegionPicker(user=cast.admin, max_level=5)

    assert picker.value_from_datadict(QueryDict(query), {}, "region") == expected


def test_the_picker_reads_a_plain_dict(cast):
    picker = RegionPicker(user=cast.admin, max_level=5)

    assert picker.value_from_datadict({"region": WANQUANZHUANG}, {}, "region") == WANQUANZHUANG


class UnitForm(forms.Form):
    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = RegionField(user=user, levels=(5,))


def test_a_form_posted_from_the_picker_cleans_to_the_chosen_village(cast):
    form = UnitForm(QueryDict(f"region={DIAOWO}&region={WANQUANZHUANG}"), user=cast.admin)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["region"].code == WANQUANZHUANG


def test_a_form_posted_with_only_the_township_says_to_choose_a_village(cast):
    form = UnitForm(QueryDict(f"region={DIAOWO}&region="), user=cast.admin)

    assert not form.is_valid()
    assert form.errors["region"] == ["请选择到村级区划，“刁窝镇”是乡级"]


def test_the_field_renders_the_picker_at_the_chosen_village(cast):
    form = UnitForm(initial={"region": WANQUANZHUANG}, user=cast.admin)

    html = str(form["region"])

    assert f'<option value="{WANQUANZHUANG}" selected>万全庄村</option>' in html
    assert f'<option value="{DIAOWO}" selected>刁窝镇</option>' in html
