from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_policy(sender, **kwargs):
    # post_migrate (not a data migration) so that a flushed test database gets its policy back too.
    from funding.services import policy_ensure_default

    policy_ensure_default()


def notice_columns_check() -> None:
    """PRIVACY_PUBLIC_NOTICE_FIELDS names only columns the public notice knows (a typo stops start-up)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from funding.selectors import NOTICE_COLUMNS

    unknown = [name for name in settings.PRIVACY_PUBLIC_NOTICE_FIELDS if name not in NOTICE_COLUMNS]
    if unknown:
        raise ImproperlyConfigured(
            f"PRIVACY_PUBLIC_NOTICE_FIELDS names unknown fields {unknown}; known: {', '.join(NOTICE_COLUMNS)}."
        )


class FundingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "funding"
    verbose_name = _("Start-up fund")

    def ready(self):
        from funding import api, demo, exports, generate, selectors, worklist
        from funding import privacy as funding_privacy
        from funding.models import FundPolicy
        from valley import guides
        from valley.exports.engine import register
        from valley.ops.generator import register_step
        from valley.ops.seeds import register_seed
        from valley.privacy.registry import register_provider
        from valley.web.api_router import register_routes
        from valley.web.worklist import register_task_source

        post_migrate.connect(_ensure_policy, sender=self, dispatch_uid="funding.ensure_policy")
        register(*exports.EXPORTS)
        register_routes(api.ROUTES)
        register_seed(self.label, demo.seed)
        register_task_source(worklist.task_queues)
        guides.register_precheck(guides.FUND, selectors.guide_precheck)
        register_provider(self.label, export=funding_privacy.export)
        notice_columns_check()
        # The policy stays when the province is generated again: the fund always has one.
        register_step(
            self.label,
            generate.generate,
            empties=[model for model in self.get_models(include_auto_created=True) if model is not FundPolicy],
        )
