from django.urls import path

from minqing.regions import views

app_name = "regions"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("picker/", views.picker, name="picker"),
    path("<str:code>/", views.browse, name="region"),
]
