from django.contrib import admin

from .models import ApiToken, Guidelines, Interaction, Review


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0
    can_delete = False
    readonly_fields = ("reviewer", "decision", "before", "after", "created_at")


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "prompt", "subject", "action", "category", "verdict", "model_version")
    list_filter = ("verdict", "source")
    search_fields = ("prompt",)
    inlines = [ReviewInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False  # tokens are shown once when made: use `manage.py create_api_token`


@admin.register(Guidelines)
class GuidelinesAdmin(admin.ModelAdmin):
    list_display = ("__str__", "updated_at", "updated_by")
    fields = ("text",)

    def save_model(self, request, obj, form, change) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
