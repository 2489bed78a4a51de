from django.urls import path

from minqing.relief import views

app_name = "relief"
urlpatterns = [
    path("", views.programme_list, name="programmes"),
    path("programmes/<int:pk>/", views.programme_detail, name="programme"),
    path("programmes/<int:pk>/rules/", views.rules_edit, name="rules"),
    path("programmes/<int:pk>/rules/preview/", views.rules_preview, name="rules_preview"),
    path("programmes/<int:pk>/cycles/new/", views.cycle_new, name="cycle_new"),
    path("programmes/<int:pk>/lists/new/", views.list_new, name="list_new"),
    path("lists/<int:pk>/", views.list_detail, name="list"),
    path("lists/<int:pk>/transition/", views.list_transition, name="list_transition"),
    path("lists/<int:pk>/objections/new/", views.objection_new, name="objection_new"),
    path(
        "lists/<int:pk>/objections/<int:objection_pk>/decide/",
        views.objection_decide,
        name="objection_decide",
    ),
    path("lists/<int:pk>/notice/", views.notice_sheet, name="notice"),
    path("lists/<int:pk>/export/", views.list_export, name="list_export"),
    path("lists/<int:pk>/distribute/", views.distribute, name="distribute"),
    path("lists/<int:pk>/bank/new/", views.bank_batch_new, name="bank_new"),
    path("entitlements/<int:pk>/handover/", views.handover, name="handover"),
    path("bank/<int:pk>/file/", views.bank_batch_file, name="bank_file"),
    path("bank/<int:pk>/result/", views.bank_result, name="bank_result"),
    path("stock/", views.stock, name="stock"),
    path("rebuild/", views.rebuild_board, name="rebuild"),
    path("rebuild/<int:pk>/", views.project_detail, name="project"),
    path("hazards/", views.hazard_list, name="hazards"),
    path("hazards/new/", views.hazard_new, name="hazard_new"),
    path("hazards/<int:pk>/", views.hazard_detail, name="hazard"),
    path("hazards/<int:pk>/card/<int:household_pk>/", views.hazard_card, name="card"),
    path("photos/<str:kind>/<int:pk>/", views.photo, name="photo"),
]
