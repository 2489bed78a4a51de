from django import forms
from django.core.exceptions import ValidationError


class DateInput(forms.DateInput):
    """An ``<input type="date">``. Its value must be an ISO date whatever the language: under
    zh-hans Django would write 2026/08/10, which the browser rejects, and the field would open
    empty. The browser shows the date in the user's own way."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def call_service(form, service, **kwargs):
    """Run a service for a valid form; a refusal becomes a form error instead of a 500.
    Returns the service's result, or None when it refused (the form then has the message).
    A refusal about something the form has no field for (the household of a visit form, say)
    is shown above the form."""
    try:
        return service(**kwargs)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            form.add_error(None, error)
        return None
