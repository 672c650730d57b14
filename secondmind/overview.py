"""The numbers and chart series of the overview page."""

from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django_q.models import Schedule

from interactions.models import Interaction, Verdict
from interactions.reviews import auto_label_precision, queue
from training.models import HEADS, Example, ModelVersion, Source, TrainingRun
from training.policy import current
from training.registry import active_version
from training.triggers import new_examples_count

CHART_DAYS = 30


def verdict_reasons():
    """{verdict: Counter(reason)} over the chart window."""
    since = timezone.now() - timedelta(days=CHART_DAYS)
    reasons = defaultdict(Counter)
    for verdict, codes in Interaction.objects.filter(created_at__gte=since).values_list("verdict", "reasons"):
        reasons[verdict].update(codes)
    return {verdict: reasons[verdict].most_common() for verdict in Verdict.values}


def interactions_per_day():
    since = timezone.now() - timedelta(days=CHART_DAYS)
    rows = (
        Interaction.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day", "verdict")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    days = sorted({row["day"] for row in rows})
    series = {verdict: [0] * len(days) for verdict in Verdict.values}
    for row in rows:
        series[row["verdict"]][days.index(row["day"])] = row["n"]
    return {"labels": [d.isoformat() for d in days], "series": series}


def dataset_growth():
    """Cumulative examples per source, day by day."""
    rows = (
        Example.objects.annotate(day=TruncDate("created_at"))
        .values("day", "source")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    days = sorted({row["day"] for row in rows})
    added = {source: [0] * len(days) for source in Source.values}
    for row in rows:
        added[row["source"]][days.index(row["day"])] = row["n"]
    cumulative = {s: [sum(values[: i + 1]) for i in range(len(values))] for s, values in added.items()}
    return {"labels": [d.isoformat() for d in days], "series": cumulative}


def learning_curve():
    """Holdout exact-triplet accuracy and mean macro-F1 of every version, oldest first, with the size of
    the holdout each was scored on and which holdout that was (`holdout`: versions scored on the same
    examples share the number; the chart joins only those)."""
    points, holdouts = [], {}
    for version in ModelVersion.objects.order_by("number").prefetch_related("evaluated_on"):
        holdout = version.metrics.get("holdout") or {}
        examples = frozenset(e.pk for e in version.evaluated_on.all())
        points.append(
            {
                "version": version.number,
                "status": version.status,
                "exact": holdout.get("exact"),
                "f1": holdout.get("mean_macro_f1"),
                "size": len(examples),
                "holdout": holdouts.setdefault(examples, len(holdouts)),
            }
        )
    return points


def labelling_heads(model):
    """[(head, certified share)] for the heads the active version labels on their own (not paused)."""
    if model is None:
        return []
    certificate = model.card.certificate
    return [(head, certificate.heads[head].certified_share) for head in HEADS if certificate.labels_alone(head)]


def training_status():
    return TrainingRun.objects.select_related("version").first()


def summary():
    today = timezone.localdate()
    schedule = Schedule.objects.filter(name="weekly-retrain").first()
    model = active_version()
    return {
        "interactions_today": Interaction.objects.filter(created_at__date=today).count(),
        "interactions_total": Interaction.objects.count(),
        "verdict_counts": dict(Interaction.objects.values_list("verdict").annotate(n=Count("pk")).order_by()),
        "verdict_reasons": verdict_reasons(),
        "per_source": {label: Example.objects.filter(source=value).count() for value, label in Source.choices},
        "queue_length": queue().count(),
        "model": model,
        "damaged_versions": ModelVersion.objects.exclude(files_problem="").exclude(status=ModelVersion.Status.REJECTED),
        "labelling_heads": labelling_heads(model),
        "run": training_status(),
        "new_examples": new_examples_count(),
        "threshold": current().training.retrain_threshold,
        "next_scheduled_run": schedule.next_run if schedule else None,
        "auto_label_precision": auto_label_precision(),
        "charts": {"per_day": interactions_per_day(), "growth": dataset_growth(), "curve": learning_curve()},
    }
