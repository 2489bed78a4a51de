from django.urls import include, path

from minqing.api import api

urlpatterns = [
    # First: the API takes the most requests (a phone's visits), and a path is matched against
    # every pattern before its own.
    path("api/", api.urls),
    path("", include("minqing.web.urls")),
    path("accounts/", include("minqing.accounts.urls")),
    path("regions/", include("minqing.regions.urls")),
    # Before households/: the roll's import and export pages.
    path("households/roll/", include("minqing.households.roll_urls")),
    path("households/", include("minqing.households.urls")),
    path("outreach/", include("minqing.outreach.urls")),
    path("cases/", include("minqing.cases.urls")),
    path("relief/", include("minqing.relief.urls")),
    path("audit/", include("minqing.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
