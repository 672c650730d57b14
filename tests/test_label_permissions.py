"""Who may label what through the API: a client labels its own interactions, a reviewer (staff or the
review permission) any; noise the gate rejected becomes an example only when asked explicitly."""

from django.contrib.auth.models import Permission

from interactions.models import ApiToken, Interaction
from tests.conftest import ApiClient
from training.models import Example

PROMPT = "Find my notes about the database migration"
TRIPLET = {"subject": "Note", "action": "Find", "category": "Knowledge"}


def someone_elses_interaction(django_user_model):
    other = django_user_model.objects.create_user("bot", password="bot-password-1")
    _, token = ApiToken.issue(other)
    return ApiClient(token).post("/classify", {"prompt": PROMPT}).json()["interaction_id"]


def test_a_client_cannot_label_another_users_interaction(api, django_user_model):
    interaction = someone_elses_interaction(django_user_model)
    response = api.post(f"/interactions/{interaction}/feedback", TRIPLET)
    assert response.status_code == 403
    assert not Example.objects.exists()


def test_a_user_with_the_review_permission_labels_any_interaction(api, reviewer, django_user_model):
    reviewer.user_permissions.add(Permission.objects.get(codename="add_review"))
    interaction = someone_elses_interaction(django_user_model)
    assert api.post(f"/interactions/{interaction}/feedback", TRIPLET).status_code == 200


def test_staff_label_any_interaction(staff_api, django_user_model):
    interaction = someone_elses_interaction(django_user_model)
    assert staff_api.post(f"/interactions/{interaction}/feedback", TRIPLET).status_code == 200


def test_rejected_noise_needs_an_explicit_override_to_become_an_example(api):
    noise = api.post("/classify", {"prompt": "+1"}).json()
    assert noise["verdict"] == "rejected"
    response = api.post(f"/interactions/{noise['interaction_id']}/feedback", TRIPLET)
    assert response.status_code == 409 and "override_rejection" in response.json()["detail"]
    assert not Example.objects.exists()
    assert (
        api.post(
            f"/interactions/{noise['interaction_id']}/feedback", {**TRIPLET, "override_rejection": True}
        ).status_code
        == 200
    )
    assert Example.objects.get().prompt == Interaction.objects.get().prompt == "+1"
