import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.module_loading import autodiscover_modules

from minqing.lib.forms import DateInput, call_service


class _Dated(forms.Form):
    on = forms.DateField(widget=DateInput)


def test_a_date_input_writes_an_iso_date_whatever_the_language():
    for language in ("zh-hans", "en"):
        with translation.override(language):
            html = str(_Dated(initial={"on": datetime.date(2026, 8, 10)})["on"])
        assert 'type="date"' in html and 'value="2026-08-10"' in html


def test_a_date_input_reads_back_what_it_wrote():
    with translation.override("zh-hans"):
        form = _Dated({"on": "2026-08-10"})
        assert form.is_valid() and form.cleaned_data["on"] == datetime.date(2026, 8, 10)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_date_input_of_the_app_writes_an_iso_date():
    """A ``type=date`` input shows empty in Chromium unless its value is 2026-08-10, and
    zh-hans would write 2026/08/10: every such field of every app goes through DateInput."""
    autodiscover_modules("forms", "views")
    found = []
    for form in _subclasses(forms.BaseForm):
        if not form.__module__.startswith("minqing."):
            continue
        for name, field in form.base_fields.items():
            widget = field.widget
            if getattr(widget, "input_type", None) == "date" or widget.attrs.get("type") == "date":
                found.append(f"{form.__module__}.{form.__qualname__}.{name}")
                assert isinstance(widget, DateInput), found[-1]
    assert len(found) > 20  # the sweep did reach the apps' forms


def test_a_refusal_about_a_field_the_form_lacks_is_shown_above_it():
    def refuse(**_kwargs):
        raise ValidationError({"on": ["日期不对"], "household": ["该户已销户"]})

    form = _Dated({"on": "2026-08-10"})
    assert form.is_valid()
    assert call_service(form, refuse) is None
    assert form.errors["on"] == ["日期不对"]
    assert form.non_field_errors() == ["该户已销户"]
