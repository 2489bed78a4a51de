from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def render_page(request, template: str, partial: str, context: dict, **kwargs):
    """The whole page, or only its named partial when htmx asks for it. The two differ for
    the same URL, so caches must key on HX-Request."""
    name = f"{template}#{partial}" if getattr(request, "htmx", False) else template
    response = render(request, name, context, **kwargs)
    patch_vary_headers(response, ["HX-Request"])
    return response
