from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from interactions.models import Interaction, Verdict
from training.models import Example, Source
from training.registry import active_version


@login_required
def overview(request):
    return render(request, "overview.html", {
        "model": active_version(),
        "interactions": Interaction.objects.count(),
        "review_queue": Interaction.objects.filter(verdict=Verdict.REVIEW, reviews__isnull=True).count(),
        "per_source": {label: Example.objects.filter(source=value).count() for value, label in Source.choices},
    })
