from django.contrib import admin

from .models import Example, ModelVersion, Promotion, TrainingRun


@admin.register(Example)
class ExampleAdmin(admin.ModelAdmin):
    list_display = ("prompt", "subject", "action", "category", "source", "created_at")
    list_editable = ("subject", "action", "category")
    list_filter = ("source", "category", "action", "subject")
    search_fields = ("prompt",)
    readonly_fields = ("created_at",)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "status", "encoder", "created_at", "activated_at")
    list_filter = ("status",)
    readonly_fields = ("number", "encoder", "heads_file", "sha256", "labels", "metrics", "created_at", "activated_at")
    exclude = ("trained_on", "evaluated_on")


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "trigger", "status", "stage", "percent", "version", "promoted", "created_at")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in TrainingRun._meta.fields]


admin.site.register(Promotion)
