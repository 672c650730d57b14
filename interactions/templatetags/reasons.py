from django import template

from interactions.reasons import explain

register = template.Library()


@register.inclusion_tag("reason.html")
def reason(code) -> dict[str, str]:
    label, why = explain(code)
    return {"code": code, "label": label, "why": why}
