"""The dashboard: overview, models and training, datasets. Thin views over the plain modules."""

import io
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from training.datasets import EXPORT_FILES, InvalidDataset, export_jsonl, import_jsonl
from training.liveness import recover_stale_runs
from training.models import HEADS, Example, ModelVersion, Source, TrainingRun
from training.promotion import promote_by_hand
from training.registry import ModelFileError, holdout_mistakes
from training.triggers import TrainingBusy, enqueue

from .overview import summary, training_status


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can do this.")
        return view(request, *args, **kwargs)

    return wrapper


@login_required
def overview(request):
    return render(request, "overview.html", summary())


@login_required
def training_progress(request):
    recover_stale_runs()
    run = training_status()
    if request.htmx and not (run and run.is_open):
        # only a page watching an open run polls: it just ended, and the page's models and numbers with it
        return HttpResponseClientRefresh()
    return render(request, "overview.html#training-status", {"run": run})


@staff_required
@require_POST
def retrain(request):
    try:
        enqueue(TrainingRun.Trigger.MANUAL, user=request.user, force=True)
    except TrainingBusy as busy:
        messages.warning(request, str(busy))
    return render(request, "overview.html#training-status", {"run": training_status()})


@login_required
def models(request):
    versions = ModelVersion.objects.prefetch_related("runs").order_by("-number")
    return render(request, "models.html", {"versions": versions, "run": training_status()})


@login_required
def model_mistakes(request, number):
    """The holdout examples the version got wrong: a partial the model page loads after it shows."""
    version = get_object_or_404(ModelVersion, number=number)
    return render(request, "model_detail.html#mistakes", {"version": version, "mistakes": holdout_mistakes(version)})


@login_required
def model_detail(request, number):
    version = get_object_or_404(ModelVersion, number=number)
    per_source = dict.fromkeys(Source.values, 0)
    for source in version.trained_on.values_list("source", flat=True):
        per_source[source] += 1
    holdout = version.metrics.get("holdout")
    head_metrics = (
        [
            {
                "name": head,
                "metrics": holdout[head],
                "rows": zip(holdout[head]["confusion"]["labels"], holdout[head]["confusion"]["matrix"]),
            }
            for head in HEADS
        ]
        if holdout
        else []
    )
    return render(
        request,
        "model_detail.html",
        {
            "version": version,
            "head_metrics": head_metrics,
            "holdout": holdout,
            "active_holdout": version.metrics.get("active_holdout"),
            "per_source": per_source,
            "run": version.runs.first(),
            "promotions": version.promotions.select_related("user", "previous"),
        },
    )


@staff_required
@require_POST
def promote(request, number):
    version = get_object_or_404(ModelVersion, number=number)
    try:
        promote_by_hand(version, request.user, request.POST.get("reason", ""))
        messages.success(request, f"Model v{number} is now active.")
    except (ValueError, ModelFileError) as error:
        messages.error(request, str(error))
    return redirect("model_detail", number=number)


@login_required
def datasets(request, errors=None, status=200):
    per_label = {head: Example.objects.values_list(head).annotate(n=Count("pk")).order_by("-n") for head in HEADS}
    context = {
        "per_source": {source: Example.objects.filter(source=source).count() for source in Source.values},
        "files": EXPORT_FILES,
        "per_label": per_label,
        "heads": HEADS,
        "errors": errors or [],
        "sources": Source.choices,
    }
    return render(request, "datasets.html", context, status=status)


@login_required
def download(request, source):
    if source not in EXPORT_FILES:
        raise PermissionDenied("Unknown source.")
    out = io.StringIO()
    export_jsonl(source, out)
    response = HttpResponse(out.getvalue().encode("utf-8"), content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{EXPORT_FILES[source]}"'
    return response


@staff_required
@require_POST
def upload(request):
    upload_file, source = request.FILES.get("file"), request.POST.get("source")
    if upload_file is None or source not in Source.values:
        messages.error(request, "Choose a JSONL file and the source it belongs to.")
        return redirect("datasets")
    try:
        lines = upload_file.read().decode("utf-8").splitlines()
        result = import_jsonl(lines, source, user=request.user)
    except UnicodeDecodeError:
        messages.error(request, f"{upload_file.name} is not UTF-8 text; nothing was imported.")
        return redirect("datasets")
    except InvalidDataset as invalid:
        messages.error(request, f"{upload_file.name} has {len(invalid.errors)} invalid line(s); nothing was imported.")
        return datasets(request, errors=invalid.errors, status=400)
    messages.success(
        request,
        f"Imported {result.created} {source} example(s) from {upload_file.name}; "
        f"{result.duplicates} were already present.",
    )
    return redirect("datasets")
