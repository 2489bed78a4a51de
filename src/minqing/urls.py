from django.urls import include, path

from minqing.api import api

urlpatterns = [
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
    path("api/", api.urls),
]
