from django.urls import path

from interactions import views as review_views

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("training/progress/", views.training_progress, name="training_progress"),
    path("training/retrain/", views.retrain, name="retrain"),
    path("models/", views.models, name="models"),
    path("models/<int:number>/", views.model_detail, name="model_detail"),
    path("models/<int:number>/promote/", views.promote, name="promote"),
    path("models/<int:number>/mistakes/", views.model_mistakes, name="model_mistakes"),
    path("datasets/", views.datasets, name="datasets"),
    path("datasets/upload/", views.upload, name="upload"),
    path("datasets/<str:source>.jsonl", views.download, name="download"),
    path("review/", review_views.queue_page, name="review"),
    path("review/<int:interaction_id>/decide/", review_views.decide_item, name="decide"),
    path("review/bulk-approve/", review_views.bulk_approve, name="bulk_approve"),
    path("review/decisions/<int:review_id>/undo/", review_views.undo_decision, name="undo"),
]
