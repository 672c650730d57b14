from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_schedules(sender, **kwargs) -> None:
    """The worker's django-q2 schedules, created or updated after every migrate: the weekly retrain,
    every minute the recovery of runs whose worker died (so that nobody has to look for it to happen),
    and every hour a check of the model files against their hashes."""
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
    Schedule.objects.update_or_create(
        name="recover-stale-runs",
        defaults={
            "func": "training.liveness.recover_stale_runs",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name="verify-model-files",
        defaults={"func": "training.registry.verify_model_files", "schedule_type": Schedule.HOURLY, "repeats": -1},
    )


class TrainingConfig(AppConfig):
    name = "training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the settings checks)
        from .encoder import leave_cores_to_torch

        post_migrate.connect(ensure_schedules, sender=self)
        leave_cores_to_torch()
