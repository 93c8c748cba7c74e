"""Helpers for the REST API tests: clients signed in the two ways the API accepts."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(user) -> APIClient:
    """A client that sends `Authorization: Token <key>`, as a program would."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def session_client(user) -> APIClient:
    """A client signed in with a session, as the browser on the docs page is."""
    client = APIClient()
    client.force_login(user)
    return client


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]
