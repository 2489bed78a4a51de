from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "minqing.demo"
    verbose_name = "演示数据"
