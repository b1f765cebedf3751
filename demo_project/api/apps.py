from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "demo_project.api"
    label = "demo_api"
    default_auto_field = "django.db.models.BigAutoField"
