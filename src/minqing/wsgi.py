import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
application = get_wsgi_application()
# Import the URLconf, and with it every view, now rather than in a worker's first request;
# then take all that was loaded out of the garbage collector's generations, so that its full
# collections do not walk the application's long-lived objects in the middle of a request.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
