from django.urls import path

from minqing.households import views

app_name = "households"
urlpatterns = [
    path("", views.household_list_view, name="list"),
    path("new/", views.household_new, name="new"),
    path("<int:pk>/", views.household_detail, name="detail"),
    path("<int:pk>/edit/", views.household_edit, name="edit"),
    path("<int:pk>/head/", views.head_change, name="head_change"),
    path("<int:pk>/close/", views.household_close, name="close"),
    path("<int:pk>/members/new/", views.person_new, name="person_new"),
    path("<int:pk>/categories/new/", views.grant_new, name="grant_new"),
    path("<int:pk>/dwelling/assess/", views.dwelling_assess, name="assess"),
    path("people/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("people/<int:pk>/move/", views.person_move, name="person_move"),
    path("people/<int:pk>/reveal/", views.person_reveal, name="reveal"),
    path("categories/<int:pk>/end/", views.grant_end, name="grant_end"),
]
