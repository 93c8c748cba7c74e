from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ToleranceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tolerance"
    verbose_name = _("Failure tolerance")
