from django.urls import path

from minqing.outreach import views

app_name = "outreach"
urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
    path("new/", views.campaign_new, name="campaign_new"),
    path("mine/", views.mine, name="mine"),
    path("<int:pk>/", views.coverage_view, name="coverage"),
    path("<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<int:pk>/households/", views.enrolment_list, name="enrolments"),
    path("<int:pk>/cadres/", views.cadre_list, name="cadres"),
    path("<int:pk>/rollup.xlsx", views.rollup, name="rollup"),
    path("<int:pk>/pairings/", views.pairing_page, name="pairings"),
    path("<int:pk>/pairings/new/", views.pairing_new, name="pairing_new"),
    path("<int:pk>/pairings/handover/", views.handover, name="handover"),
    path("<int:pk>/pairings/import/", views.pairing_import_view, name="pairing_import"),
    path("pairings/<int:pk>/end/", views.pairing_end, name="pairing_end"),
    path("<int:pk>/visit/<int:household>/", views.visit_new, name="visit_new"),
    path("visits/", views.visit_list, name="visits"),
    path("visits/<int:pk>/", views.visit_detail, name="visit"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("visits/<int:pk>/amend/", views.visit_amend, name="visit_amend"),
    path("visits/<int:pk>/code/", views.visit_code, name="visit_code"),
    path("visits/<int:pk>/confirm/", views.visit_confirm, name="visit_confirm"),
    path("visits/<int:pk>/sign/", views.visit_sign, name="visit_sign"),
    path("visits/<int:pk>/signature/", views.signature, name="signature"),
    path("visits/<int:pk>/flag/", views.visit_flag, name="visit_flag"),
    path("flags/<int:pk>/clear/", views.flag_clear, name="flag_clear"),
    path("photos/<int:pk>/", views.photo, name="photo"),
]
