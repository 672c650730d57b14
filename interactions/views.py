"""The review queue pages: one template, each item a partial that htmx swaps after a decision."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from training.models import HEADS, Example
from training.policy import current

from .models import Guidelines, Interaction, Review
from .reasons import reason_choices
from .reviews import (
    QUEUE_ORDERS,
    AlreadyDecided,
    CannotUndo,
    InvalidDecision,
    decide,
    decided_today,
    matching,
    queue,
    recent_decisions,
    undo,
    with_neighbours,
    with_suggestions,
)

PAGE_SIZE = 20
DECISION_BUTTONS = [
    (Review.Decision.APPROVED, "approve", "Approve (a)"),
    (Review.Decision.REJECTED, "reject", "Reject (r)"),
]


def known_labels():
    return {head: sorted(Example.objects.values_list(head, flat=True).distinct()) for head in HEADS}


def queue_filters(params):
    """(text, {head: label}, reason) a search of the queue asks for, from a GET or a POST."""
    return (
        params.get("q", "").strip(),
        {head: params.get(head, "").strip() for head in HEADS},
        params.get("reason", "").strip(),
    )


@login_required
def queue_page(request):
    query, labels, reason = queue_filters(request.GET)
    sort = request.GET.get("sort", "")
    policy = current()
    order = sort if sort in QUEUE_ORDERS else policy.review.order
    page = Paginator(matching(queue(order), query, labels, reason), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "review.html",
        {
            "page": page,
            "items": with_neighbours(
                with_suggestions(page.object_list, policy.gate.unknown_threshold), policy.review.neighbour_floor
            ),
            "labels": known_labels(),
            "heads": HEADS,
            "order": order,
            "orders": [(key, key.replace("_", " ")) for key in QUEUE_ORDERS],
            "sort": sort,
            "reason": reason,
            "reasons": reason_choices(),
            "recent": recent_decisions(request.user),
            "decided_today": decided_today(),
            "query": query,
            "filters": labels.items(),
            "filtering": bool(query or reason or any(labels.values())),
            "decisions": DECISION_BUTTONS,
            "guidelines": Guidelines.objects.first(),
        },
    )


@login_required
@require_POST
def decide_item(request, interaction_id):
    interaction = get_object_or_404(Interaction, pk=interaction_id)
    decision = request.POST.get("decision")
    changes = {head: request.POST.get(head, "") for head in HEADS}
    context = {"item": interaction, "heads": HEADS}
    status = 200
    if decision not in Review.Decision.values or decision == Review.Decision.FEEDBACK:
        context["error"], status = "Unknown decision.", 400
    else:
        try:
            context["review"] = decide(interaction_id, request.user, decision, changes)
        except AlreadyDecided as already:
            context["error"], status = str(already), 409
        except InvalidDecision as invalid:
            context["error"], status = str(invalid), 400
    if not request.htmx:
        return redirect("review")
    return render(request, "review.html#decided", context, status=status)


@login_required
@require_POST
def undo_decision(request, review_id):
    """Re-open a decided item: with htmx its card comes back in place, ready for a new decision."""
    review = get_object_or_404(Review, pk=review_id)
    try:
        interaction = undo(review.pk, request.user)
    except CannotUndo as refused:
        if request.htmx:
            return render(
                request, "review.html#decided", {"item": review.interaction, "error": str(refused)}, status=409
            )
        messages.error(request, str(refused))
        return redirect("review")
    if not request.htmx:
        messages.info(request, f"Undone: “{interaction.prompt[:60]}” is back in the queue.")
        return redirect("review")
    policy = current()
    suggested = with_suggestions([interaction], policy.gate.unknown_threshold)
    [item] = with_neighbours(suggested, policy.review.neighbour_floor)
    context = {"item": item, "heads": HEADS, "labels": known_labels(), "decisions": DECISION_BUTTONS, "undone": True}
    return render(request, "review.html#item", context)


@login_required
@require_POST
def bulk_approve(request):
    """Approve the selected items, or with `matching` every item the search and filters match."""
    if request.POST.get("matching"):
        text, labels, reason = queue_filters(request.POST)
        # each approves what the active version suggests
        with_suggestions(matching(queue(), text, reason=reason), current().gate.unknown_threshold)
        ids = list(matching(queue(), text, labels, reason).values_list("pk", flat=True))
    else:
        ids = request.POST.getlist("selected")
    approved, skipped = 0, 0
    for interaction_id in ids:
        try:
            decide(int(interaction_id), request.user, Review.Decision.APPROVED)
            approved += 1
        except (AlreadyDecided, InvalidDecision, Interaction.DoesNotExist, ValueError):
            skipped += 1
    messages.info(
        request,
        f"Approved {approved} item(s)"
        + (f"; {skipped} skipped (already decided or with an Unknown head)." if skipped else "."),
    )
    return redirect("review")
