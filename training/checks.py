"""Settings that would silently switch the certified gate off."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def certification_can_pass(app_configs, **kwargs):
    from .calibration import precision_lower_bound  # here, so that loading the apps does not load torch

    step, confidence = settings.SECONDMIND_CERTIFY_STEP, settings.SECONDMIND_CERTIFY_CONFIDENCE
    target = settings.SECONDMIND_AUTO_PRECISION_TARGET
    if precision_lower_bound(step, step, confidence) >= target:
        return []
    return [Warning(
        f"SECONDMIND_CERTIFY_STEP={step} can never be certified: even {step} right out of {step} has a "
        f"{confidence:.0%} lower bound below the {target:.0%} target, so nothing is auto-accepted or auto-labelled.",
        hint="Raise SECONDMIND_CERTIFY_STEP or lower SECONDMIND_CERTIFY_CONFIDENCE.",
        id="secondmind.W001",
    )]
