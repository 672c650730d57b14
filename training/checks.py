"""Settings that would silently switch a safeguard off (the certified gate, the promotion rule) or stop
the worker from taking trainings."""

from django.conf import settings
from django.core.checks import Warning, register

from .policy import current


@register()
def certification_can_pass(app_configs, **kwargs) -> list[Warning]:
    from .calibration import precision_lower_bound  # here, so that loading the apps does not load torch

    rules = current().certification
    step, confidence, target = rules.step, rules.confidence, rules.precision_target
    if precision_lower_bound(step, step, confidence) >= target:
        return []
    return [
        Warning(
            f"SECONDMIND_CERTIFY_STEP={step} can never be certified: even {step} right out of {step} has a "
            f"{confidence:.0%} lower bound below the {target:.0%} target, so nothing is auto-accepted or "
            "auto-labelled.",
            hint="Raise SECONDMIND_CERTIFY_STEP or lower SECONDMIND_CERTIFY_CONFIDENCE.",
            id="secondmind.W001",
        )
    ]


@register()
def promotion_confidence_is_a_probability_to_beat(app_configs, **kwargs) -> list[Warning]:
    confidence = current().promotion.confidence
    if 0.5 <= confidence < 1:
        return []
    effect = "promotes candidates that are more likely worse" if confidence < 0.5 else "never promotes anything"
    return [
        Warning(
            f"SECONDMIND_PROMOTION_CONFIDENCE={confidence} {effect}.",
            hint="Set it between 0.5 (any lower holdout log-loss) and 1; the default is 0.95.",
            id="secondmind.W002",
        )
    ]


@register()
def machines_sharing_a_database_share_the_secret_key(app_configs, **kwargs) -> list[Warning]:
    """django-q2 signs queued tasks with SECRET_KEY: a worker whose key differs drops them as badly signed."""
    shared = settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
    generated = settings.DATA_DIR / "secret_key"
    if not shared or not generated.exists() or generated.read_text().strip() != settings.SECRET_KEY:
        return []
    return [
        Warning(
            f"SECRET_KEY was generated in this machine's data directory ({generated}) while the database is "
            "shared: a worker on another machine, with another key, drops the trainings queued here.",
            hint="Set the same SECRET_KEY in the environment of every web server and worker.",
            id="secondmind.W003",
        )
    ]
