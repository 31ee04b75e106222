"""GET and PATCH /me answer what the schema says, whether or not the customer
saved a language (found by the schema fuzzer: "" was not in the schema's enum)."""

import pytest

from contract.spec import Spec


def _problems(client, method: str, answer) -> dict:
    spec = Spec(
        client.get(
            "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
        ).json()
    )
    return spec.response_errors(
        spec.operation(method, "/api/v1/me"),
        answer.status_code,
        {name.lower(): value for name, value in answer.headers.items()},
        answer.content,
    )


NONE = {"status": [], "header": [], "body": []}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["", "zh-hant"])
def test_me_answers_as_the_schema_says_with_or_without_a_saved_language(
    customer_client, language, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the owner's cache
        patched = customer_client.patch(
            "/api/v1/me", {"name": "Ann", "language": language}, format="json"
        )
    read = customer_client.get("/api/v1/me")

    assert (patched.status_code, read.status_code) == (200, 200)
    assert read.json()["language"] == language
    assert _problems(customer_client, "PATCH", patched) == NONE
    assert _problems(customer_client, "GET", read) == NONE
