from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "minqing.web"
    verbose_name = "页面框架"
