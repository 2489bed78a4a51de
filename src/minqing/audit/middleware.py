from minqing.audit.context import client_ip, origin


def web_audit_context(get_response):
    """Mark every write made while serving a request as coming from a page or the API."""

    def middleware(request):
        source = "api" if request.path.startswith("/api/") else "web"
        with origin(source, client_ip(request)):
            return get_response(request)

    return middleware
