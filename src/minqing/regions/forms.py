"""The region picker (county -> township -> village) as a form field. The widget and the htmx
endpoint that refreshes it share ``picker_context``, so both always show the same choices."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

from minqing.regions.codes import is_code, level_of, pad
from minqing.regions.models import Level, Region
from minqing.regions.selectors import region_children, region_path


def picker_context(user, *, name: str, code: str, max_level: int) -> dict:
    reach = Region.objects.get(code=pad(user.reach))
    chosen = (
        Region.objects.filter(code=code).first() if is_code(code) and user.reaches(code) else None
    )
    path = {r.level: r for r in region_path(chosen)} if chosen else {}
    selects, parent = [], reach
    for level in range(reach.level + 1, max_level + 1):
        selected = path.get(level)
        selects.append(
            {
                "level": level,
                "label": Level(level).label,
                "options": list(region_children(user, parent)) if parent else [],
                "selected": selected.code if selected else "",
                # What an empty choice at this level falls back to.
                "parent": parent.code if parent else "",
            }
        )
        parent = selected
    return {
        "name": name,
        "max_level": max_level,
        "fixed": region_path(reach),
        "selects": selects,
        "value": chosen.code if chosen else (reach.code if reach.level == max_level else ""),
    }


def deepest_choice(values: list[str]) -> str:
    """One select per level, all with the field's name: the deepest level chosen wins (a
    malformed value is kept so that the field can say what is wrong with it)."""
    chosen = [v.strip() for v in values if v and v.strip()]
    if not chosen:
        return ""
    return max(chosen, key=lambda v: level_of(v) if is_code(v) else 9)


class RegionPicker(forms.Widget):
    template_name = "regions/picker.html"

    def __init__(self, *, user, max_level: int, attrs=None):
        super().__init__(attrs)
        self.user, self.max_level = user, max_level

    def get_context(self, name, value, attrs):
        code = value.code if isinstance(value, Region) else (value or "")
        return {"picker": picker_context(self.user, name=name, code=code, max_level=self.max_level)}

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name, "")]
        return deepest_choice(values)


class RegionField(forms.Field):
    """A region within the user's reach, at one of ``levels``; cleaned to a Region."""

    def __init__(self, *, user, levels=(5,), **kwargs):
        self.user, self.levels = user, tuple(levels)
        kwargs.setdefault("label", gettext_lazy("所属区划"))
        super().__init__(widget=RegionPicker(user=user, max_level=max(levels)), **kwargs)

    def to_python(self, value):
        if isinstance(value, Region):
            return value
        value = (value or "").strip()
        if not value:
            return None
        if not is_code(value):
            raise ValidationError(
                gettext("区划代码“%(code)s”格式不正确，应为12位数字") % {"code": value}
            )
        region = Region.objects.filter(code=value).first()
        if region is None:
            raise ValidationError(gettext("区划代码“%(code)s”不存在") % {"code": value})
        if not self.user.reaches(region.code):
            raise ValidationError(
                gettext("“%(name)s”（%(code)s）不在您的管辖范围内")
                % {"name": region.name, "code": region.code}
            )
        if region.retired_in:
            raise ValidationError(
                gettext("“%(name)s”已于 %(year)s 年版撤销，请选择现行区划")
                % {"name": region.name, "year": region.retired_in}
            )
        if level_of(region.code) not in self.levels:
            # Translators: joins the wanted levels, as in "乡级或村级".
            wanted = gettext("或").join(str(Level(level).label) for level in self.levels)
            raise ValidationError(
                gettext("请选择到%(levels)s区划，“%(name)s”是%(level)s")
                % {"levels": wanted, "name": region.name, "level": Level(region.level).label}
            )
        return region
