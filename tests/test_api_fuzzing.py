"""The API fuzzed from its own OpenAPI schema (schemathesis): whatever a client sends, no server error."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as fuzzing
from schemathesis.checks import not_a_server_error

from interactions.api import api
from interactions.models import ApiToken
from secondmind.wsgi import application

# The schema the API publishes at /api/v1/openapi.json (behind a login there), called in-process.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))
schema.app = application


@pytest.fixture
def staff_token(staff):
    return ApiToken.issue(staff)[1]


@pytest.fixture
def in_process_requests():
    """Requests to the WSGI app keep the test's database connection, as Django's test client does."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@fuzzing(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, trained, staff_token, in_process_requests):
    case.call_and_validate(headers={"Authorization": f"Bearer {staff_token}"}, checks=[not_a_server_error])
