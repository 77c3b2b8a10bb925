"""Schemathesis over the whole OpenAPI schema (issue 11): every operation the schema documents,
called on the production server (``deploy/serve``) by a client holding every role (premium AI,
billing.topup, ingest, staff) with enough tokens, answers with no 5xx, a documented status code, a
documented content type and a body that matches its documented schema.

Schemathesis' own phases run per operation: the schema's examples, the coverage phase (boundary and
invalid values for each parameter, missing required ones) and a bounded fuzzing phase, all with a fixed
seed (``derandomize``) so CI sees the same cases each run. Path parameters get real ids as examples
(a meme, an ingest record, a webhook of the caller) so by-id operations are reached, not only their 404.
``FUZZ_EXAMPLES`` (default 25) bounds the fuzzing phase per operation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.roles import ALL_ROLES
from tests.billing.servers import Server, running_servers
from tests.ingest.conftest import VALID
from tests.memes.loc_files import catalogue_import_into_db

# ``django_db`` only so the test database is set up (pytest-django creates only the databases some
# test asks for); the data is the module's, committed for the server to see (``target``).
pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db]

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def server(django_db_setup: None, django_db_blocker: Any) -> Iterator[Server]:
    with django_db_blocker.unblock(), running_servers(1) as servers:
        yield servers[0]


# Path parameters whose schema example is a placeholder: a case that draws it is sent with the real
# id the fixture made (ids are only known once the data exists; the schema is read at collection).
PLACEHOLDERS = {"meme_id": 9_000_001, "webhook_id": 9_000_002, "record_id": "00000000-0000-4000-8000-000000000001"}


def _schema_dict() -> dict[str, Any]:
    """The schema as ``GET /api/schema/`` serves it, with the placeholders as path examples (this copy
    only)."""
    from drf_spectacular.generators import SchemaGenerator

    raw: dict[str, Any] = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    for operations in raw["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in PLACEHOLDERS:
                    parameter["schema"] = {**parameter["schema"], "example": PLACEHOLDERS[parameter["name"]]}
    return raw


@dataclass
class Target:
    server: Server
    headers: dict[str, str]
    ids: dict[str, Any]


@pytest.fixture(scope="module")
def target(server: Server, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """Committed data the server sees: the catalogue, a client with every role, staff, 10 M tokens,
    one ingest record and one webhook of its own. The database is emptied afterwards (as a
    transactional test's is)."""
    from django.core.management import call_command

    from accounts.services import api_key_create, client_create
    from billing.services import account_credit
    from memes.models import Meme

    with django_db_blocker.unblock():
        try:
            catalogue_import_into_db(tmp_path_factory.mktemp("catalogue"))
            client = client_create(name="fuzzer", roles=ALL_ROLES)
            client.user.is_staff = True
            client.user.save(update_fields=["is_staff"])
            account_credit(client_id=client.pk, amount=10_000_000, reason="fuzzing")
            _, key = api_key_create(client=client)
            headers = {"X-Token": key}
            record = requests.post(server.url("/api/ingest"), json=VALID, headers=headers, timeout=30)
            assert record.status_code == 202, record.text
            hook = requests.post(
                server.url("/api/webhooks"),
                json={"url": "https://93.184.215.14/hook", "events": ["balance.below_threshold"], "threshold": 100},
                headers=headers,
                timeout=30,
            )
            assert hook.status_code == 201, hook.text
            ids = {
                "meme_id": Meme.objects.order_by("pk").values_list("pk", flat=True).first(),
                "record_id": record.json()["id"],
                "webhook_id": hook.json()["id"],
            }
            yield Target(server=server, headers=headers, ids=ids)
        finally:
            call_command("flush", interactive=False, verbosity=0)


schema = schemathesis.openapi.from_dict(
    _schema_dict(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 11,
            "generation": {"mode": "all", "deterministic": True, "max-examples": FUZZ_EXAMPLES},
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_every_operation_conforms_to_the_schema(case: Any, target: Target) -> None:
    for name, placeholder in PLACEHOLDERS.items():
        if (case.path_parameters or {}).get(name) == placeholder:
            case.path_parameters[name] = target.ids[name]
    case.call_and_validate(base_url=target.server.url(""), headers=target.headers, checks=CHECKS, timeout=30)
