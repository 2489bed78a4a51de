from django.urls import path

from minqing.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("mine/", views.mine, name="mine"),
    path("mine/read/", views.notices_read, name="notices_read"),
    path("board/", views.board, name="board"),
    path("figures/", views.figures, name="figures"),
    path("export.xlsx", views.export, name="export"),
    path("new/", views.new, name="new"),
    path("similar/", views.similar, name="similar"),
    path("holidays/", views.holidays, name="holidays"),
    path("<int:pk>/", views.detail, name="detail"),
    path("number/<str:number>/", views.by_number, name="by_number"),
    path("<int:pk>/do/<str:name>/", views.move, name="move"),
    path("<int:pk>/files/<int:attachment_id>/", views.attachment, name="attachment"),
]
