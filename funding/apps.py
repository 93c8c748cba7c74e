from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_policy(sender, **kwargs):
    # The fund always has a policy: the defaults of DOMAIN.md until staff add a new version.
    # post_migrate (not a data migration) so that a flushed test database gets it back too.
    from funding.models import FundPolicy

    if not FundPolicy.objects.exists():
        FundPolicy.objects.create(reason="Policy defaults: 300,000–1,000,000 yuan, at most 50% of paid-in capital.")


class FundingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "funding"
    verbose_name = _("Start-up fund")

    def ready(self):
        from funding import api, demo, exports, generate
        from funding.models import FundPolicy
        from valley.audit.chain import track_models
        from valley.exports.engine import register
        from valley.ops.generator import register_step
        from valley.ops.seeds import register_seed
        from valley.web.api_router import register_routes

        post_migrate.connect(_ensure_policy, sender=self, dispatch_uid="funding.ensure_policy")
        register(*exports.EXPORTS)
        register_routes(api.ROUTES)
        register_seed(self.label, demo.seed)
        # The policy stays when the province is generated again: the fund always has one.
        register_step(
            self.label,
            generate.generate,
            empties=[model for model in self.get_models(include_auto_created=True) if model is not FundPolicy],
        )
        track_models(
            {
                "funding.FundPolicy": "funding.policy",
                "funding.SubVenueBudget": "funding.budget",
                "funding.Application": "funding.application",
                "funding.ExpertReview": "funding.review",
                "funding.Disbursement": "funding.disbursement",
            },
            transitions={"funding.ApplicationEvent": "funding.application"},
        )
