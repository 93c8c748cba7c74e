from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ToleranceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tolerance"
    verbose_name = _("Failure tolerance")

    def ready(self):
        from tolerance import api, demo, exports, generate
        from valley.audit.chain import track_models
        from valley.exports.engine import register
        from valley.ops.generator import register_step
        from valley.ops.seeds import register_seed
        from valley.web.api_router import register_routes

        register(*exports.EXPORTS)
        register_routes(api.ROUTES)
        register_seed(self.label, demo.seed)
        register_step(self.label, generate.generate, empties=self.get_models(include_auto_created=True))
        track_models(
            {
                "tolerance.Fund": "tolerance.fund",
                "tolerance.Investment": "tolerance.investment",
                "tolerance.InvestmentParty": "tolerance.party",
                # Each compliance run's verdict and figures; its exemption rows are written in bulk from the
                # report (INSERT … SELECT) and are traced through the report they name.
                "tolerance.ComplianceReport": "tolerance.report",
            }
        )
