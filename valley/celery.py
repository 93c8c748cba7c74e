"""The Celery app. Tasks are autodiscovered in each installed app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valley.settings")

app = Celery("valley")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
