from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles_after_migrate(sender, using="default", **kwargs):
    # Every app's post_migrate fires this; permissions of apps migrated later are picked up
    # on their turn, so after the last app every role holds exactly what ROLES says.
    from valley.core.roles import sync_roles

    sync_roles()


def _ensure_guides(sender, **kwargs):
    from valley.guides.content import ensure_guides

    ensure_guides()


class ValleyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "valley"
    verbose_name = _("Valley")

    def ready(self):
        from valley import api, demo
        from valley.audit import chain as audit
        from valley.audit import exports as audit_exports
        from valley.audit import guard as audit_guard
        from valley.audit import tasks as audit_tasks  # noqa: F401  (registers beat's seal)
        from valley.exports.engine import register
        from valley.messaging import tasks as messaging_tasks  # noqa: F401  (registers the tasks)
        from valley.ops import tasks as ops_tasks  # noqa: F401
        from valley.ops.seeds import register_seed
        from valley.privacy import services as privacy
        from valley.privacy import tasks as privacy_tasks  # noqa: F401  (registers beat's anonymisation)
        from valley.web.api_router import register_routes

        # Before any connection is opened: SQLite's audit triggers call valley's function on every write.
        connection_created.connect(audit_guard.register_sqlite_function, dispatch_uid="valley.audit_guard")
        post_migrate.connect(_sync_roles_after_migrate, dispatch_uid="valley.sync_roles")
        post_migrate.connect(audit.ensure_chain_head, sender=self, dispatch_uid="valley.audit_head")
        post_migrate.connect(_ensure_guides, sender=self, dispatch_uid="valley.ensure_guides")
        # Not a data migration, so that a flushed test database gets its notice back too.
        post_migrate.connect(privacy.notice_ensure_default, sender=self, dispatch_uid="valley.privacy_notice")
        audit.connect_signals()
        register(*audit_exports.EXPORTS)
        register_routes(api.ROUTES)
        register_seed(self.label, demo.seed)
