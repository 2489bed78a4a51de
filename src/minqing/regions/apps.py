from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "minqing.regions"
    verbose_name = "行政区划"
