app_name = "relief"

urlpatterns: list = []
