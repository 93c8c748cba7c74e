from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeamsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "teams"
    verbose_name = _("Teams and startups")

    def ready(self):
        # What the registry contributes to the ground floor's engines (which never import this app).
        from teams import (
            api,
            demo,
            exports,
            generate,
            residency_request_api,
            selectors,
            service_api,
            service_exports,
            service_selectors,
            worklist,
        )
        from teams import privacy as teams_privacy
        from valley import selectors as valley_selectors
        from valley.exports.engine import register
        from valley.ops.generator import register_step
        from valley.ops.seeds import register_seed
        from valley.privacy.registry import register_provider
        from valley.web.api_router import register_routes
        from valley.web.worklist import register_task_source

        register(*exports.EXPORTS, *service_exports.EXPORTS)
        register_routes(api.ROUTES)
        register_routes(service_api.ROUTES)
        register_routes(residency_request_api.ROUTES)
        register_seed(self.label, demo.seed)
        register_task_source(worklist.task_queues)
        register_step(self.label, generate.generate, empties=self.get_models(include_auto_created=True))
        valley_selectors.register_entity_counts(selectors.entity_counts_for_home)
        valley_selectors.register_service_counts(service_selectors.service_counts_for_home)
        register_provider(
            self.label, export=teams_privacy.export, files=teams_privacy.files, anonymise=teams_privacy.anonymise
        )
        # No track_models(): teams.services records its own audit entries, where each change is made.
