from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


def security_headers(get_response):
    """Content-Security-Policy and Permissions-Policy on every response (Django 5.2 has no
    CSP of its own). Pages carry no inline script or style, so the policy needs no nonce."""

    def middleware(request):
        response = get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
        return response

    return middleware


def chosen_language(get_response):
    """The interface is Chinese unless the user picked another language (the cookie set by
    /i18n/setlang/). Unlike Django's LocaleMiddleware it ignores the browser's
    Accept-Language: a county office's English-language browser must still show Chinese."""

    def middleware(request):
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if code not in dict(settings.LANGUAGES):
            code = settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = code
        response = get_response(request)
        patch_vary_headers(response, ["Cookie"])
        response.headers.setdefault("Content-Language", code)
        return response

    return middleware
