from django.urls import path

from minqing.households import roll_views

app_name = "roll"
urlpatterns = [
    path("import/", roll_views.upload, name="upload"),
    path("import/<int:pk>/", roll_views.job_detail, name="job"),
    path("import/<int:pk>/mapping/", roll_views.mapping, name="mapping"),
    path("import/<int:pk>/run/", roll_views.job_run, name="run"),
    path("import/<int:pk>/errors.xlsx", roll_views.job_errors, name="errors"),
    path("export.xlsx", roll_views.export, name="export"),
]
