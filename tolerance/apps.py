from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ToleranceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tolerance"
    verbose_name = _("Failure tolerance")

    def ready(self):
        # No track_models(): every write of the portfolio records its own audit entry (portfolio.py,
        # services.py), including the exemption determinations the compliance check writes in bulk.
        from tolerance import api, demo, exports, generate, worklist
        from tolerance.selectors import last_compliance_check_age_seconds
        from valley.exports.engine import register
        from valley.observability.metrics import register_gauge
        from valley.ops.generator import register_step
        from valley.ops.seeds import register_seed
        from valley.web.api_router import register_routes
        from valley.web.worklist import register_task_source

        register(*exports.EXPORTS)
        register_routes(api.ROUTES)
        register_gauge(
            "valley_compliance_check_age_seconds",
            "Seconds since the latest failure-tolerance compliance check was computed.",
            last_compliance_check_age_seconds,
        )
        register_seed(self.label, demo.seed)
        register_task_source(worklist.task_queues)
        register_step(self.label, generate.generate, empties=self.get_models(include_auto_created=True))
