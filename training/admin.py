from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path

from .datasets import InvalidDataset, import_jsonl
from .models import Example, ModelVersion, Promotion, Source, TrainingRun


class ImportForm(forms.Form):
    file = forms.FileField(help_text="JSONL: one {prompt, subject, action, category} object per line.")
    source = forms.ChoiceField(choices=Source.choices, initial=Source.BASE)
    skip_invalid = forms.BooleanField(required=False, help_text="Import the valid lines of a file with errors.")


@admin.register(Example)
class ExampleAdmin(admin.ModelAdmin):
    list_display = ("prompt", "subject", "action", "category", "source", "created_at")
    list_editable = ("subject", "action", "category")
    list_filter = ("source", "category", "action", "subject")
    search_fields = ("prompt",)
    readonly_fields = ("created_at",)
    change_list_template = "admin/training/example/change_list.html"

    def get_urls(self):
        return [
            path("import-jsonl/", self.admin_site.admin_view(self.import_view), name="training_example_import"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        form = ImportForm(request.POST or None, request.FILES or None)
        errors = []
        if request.method == "POST" and form.is_valid():
            try:
                lines = form.cleaned_data["file"].read().decode("utf-8").splitlines()
                result = import_jsonl(
                    lines, form.cleaned_data["source"], form.cleaned_data["skip_invalid"], request.user
                )
                messages.success(
                    request,
                    f"Imported {result.created} example(s); {result.duplicates} already present; "
                    f"{len(result.errors)} invalid line(s) skipped.",
                )
                return redirect("admin:training_example_changelist")
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text.")
            except InvalidDataset as invalid:
                errors = invalid.errors
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "errors": errors,
            "title": "Import examples from JSONL",
            "opts": self.model._meta,
        }
        return render(request, "admin/training/example/import_jsonl.html", context)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "status", "encoder", "paused_heads", "created_at", "activated_at")
    list_filter = ("status",)
    # the status changes only by promotion (the model page), which checks the files and records who and why
    readonly_fields = (
        "number",
        "status",
        "encoder",
        "encoder_file",
        "encoder_sha256",
        "encoder_size",
        "heads_file",
        "sha256",
        "blind_heads_file",
        "blind_sha256",
        "labels",
        "metrics",
        "created_at",
        "activated_at",
    )
    exclude = ("trained_on", "evaluated_on")

    def has_add_permission(self, request) -> bool:
        return False  # only a training run makes a version

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # interactions, runs and promotions point to it: roll back instead


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "trigger", "status", "stage", "percent", "version", "promoted", "created_at")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in TrainingRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # runs start from the dashboard, `manage.py retrain` or the triggers

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the retrain threshold counts from the last run, and an open run holds the worker's lock


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    """The record of hand promotions and rollbacks: read here, written only by promoting."""

    list_display = ("created_at", "version", "previous", "user", "reason")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
