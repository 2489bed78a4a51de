from django.core.exceptions import ValidationError


def call_service(form, service, **kwargs):
    """Run a service for a valid form; a refusal becomes a form error instead of a 500.
    Returns the service's result, or None when it refused (the form then has the message)."""
    try:
        return service(**kwargs)
    except ValidationError as error:
        form.add_error(None, error)
        return None
