from django.conf import settings


def security_headers(get_response):
    """Content-Security-Policy and Permissions-Policy on every response (Django 5.2 has no
    CSP of its own). Pages carry no inline script or style, so the policy needs no nonce."""

    def middleware(request):
        response = get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
        return response

    return middleware
