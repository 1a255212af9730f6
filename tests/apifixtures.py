"""The API tests' fixtures (a test module takes them with `pytest_plugins`): keys of the
agency's systems and of another agency's, and the systems calling with them."""

import pytest
from tests.apiclient import ApiCaller

from videotermin.api import services as api_services


@pytest.fixture
def api_key(agency):
    """The key of the agency's appointment system; it may read and write."""
    return api_services.create_key(agency, by=None, name="Terminsystem", scope="write")


@pytest.fixture
def api(client, api_key):
    """The agency's appointment system calling the API with its key."""
    return ApiCaller(client, api_key.value)


@pytest.fixture
def read_only_api(client, agency):
    """The agency's statistics system, whose key may only read."""
    issued = api_services.create_key(agency, by=None, name="Statistik", scope="read")
    return ApiCaller(client, issued.value)


@pytest.fixture
def other_api(client, other_agency):
    """The appointment system of another agency, with a key of that agency."""
    issued = api_services.create_key(other_agency, by=None, name="Fremdsystem", scope="write")
    return ApiCaller(client, issued.value)
