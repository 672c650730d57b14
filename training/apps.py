from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_weekly_schedule(sender, **kwargs):
    """The weekly retrain as a django-q2 cron schedule, created or updated after every migrate."""
    from django.conf import settings
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="weekly-retrain",
        defaults={
            "func": "training.tasks.scheduled_retrain",
            "schedule_type": Schedule.CRON,
            "cron": settings.SECONDMIND_RETRAIN_CRON,
            "repeats": -1,
        },
    )


class TrainingConfig(AppConfig):
    name = "training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the settings checks)
        from .encoder import leave_cores_to_torch

        post_migrate.connect(ensure_weekly_schedule, sender=self)
        leave_cores_to_torch()
