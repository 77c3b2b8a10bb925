"""Two drf-spectacular postprocessing hooks: the error responses every operation can give, and the
links between operations (:data:`LINKS`), each added to the OpenAPI schema in one place.

drf-spectacular documents what each view declares; the answers that come from the layers around the
views (authentication, throttling, the body limit, the parsers, a database outage) are the same for
every operation, so they are added here rather than repeated on each view. Rules, per operation:

- every 4xx/5xx is the error envelope (``ErrorEnvelope``) in ``application/json``, whatever the
  operation's success media types (errors are JSON even when ``image/png`` was accepted);
- 401 when the operation needs credentials; 403 when its view requires a role (``role_required``);
- 400 when it takes a query parameter, a header or a body (bad values, a malformed
  ``Idempotency-Key``, JSON that does not parse or nests too deep);
- 404 when it has a path parameter (no such object, or not the caller's);
- 413 and 415 when it takes a body (over ``MAAS_MAX_BODY_BYTES``; not ``application/json``);
- 406 everywhere (an ``Accept`` that names none of the operation's media types);
- 429 with ``Retry-After`` when the view is throttled;
- 503 with ``Retry-After`` unless it is a probe that answers without any backing service (the view has
  neither authentication nor throttling: the liveness probes; readiness declares its own 503).

A view's own description of one of these codes wins; only a missing body schema is filled in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.openapi import AutoSchema

ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
JSON = "application/json"
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}


class OwnFormatSchema(AutoSchema):
    """The schema side of config.negotiation.OwnFormatNegotiation: no DRF renderer override
    parameter (``format=json|png``, which such a view ignores); the view declares its own ``format``."""

    def _get_format_parameters(self) -> list[dict[str, Any]]:
        return []


def _descriptions() -> dict[str, str]:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return {
        "400": "Invalid input (`validation_error`, `parse_error`, `invalid_idempotency_key`); `details` names "
        "each offending field",
        "401": "Missing, unknown, revoked or malformed credentials (`not_authenticated`, `authentication_failed`, "
        "`token_revoked`)",
        "404": "No such object, or not the caller's (`not_found`)",
        "413": f"Body over the limit ({limit // 1024} KiB here; `MAAS_MAX_BODY_BYTES`)",
        "406": "Accept names none of this operation's media types (`not_acceptable`)",
        "415": "Content-Type is not application/json (`unsupported_media_type`)",
        "429": "Too many requests (`throttled`); see Retry-After",
        "503": "A backing service is down (`database_unavailable`): nothing was done or charged; see Retry-After",
    }


def _views(generator: Any) -> dict[tuple[str, str], Any]:
    """(path, method) → the view class, for the endpoints the generator documented."""
    views = {}
    for path, _regex, method, callback in generator.endpoints or []:
        views[(path, method.lower())] = getattr(callback, "cls", None)
    return views


def _needs_credentials(operation: dict[str, Any]) -> bool:
    return any(requirement for requirement in operation.get("security", []))


def _codes(operation: dict[str, Any], view: Any, descriptions: dict[str, str]) -> dict[str, str]:
    """The common error codes this operation can answer, each with its description."""
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    throttled = bool(getattr(view, "throttle_classes", None))
    authenticates = bool(getattr(view, "authentication_classes", None))
    roles = [role for p in getattr(view, "permission_classes", []) if (role := getattr(p, "required_role", None))]
    codes = {"406"}
    if _needs_credentials(operation):
        codes.add("401")
    if has_body or any(p["in"] in ("query", "header") for p in parameters):
        codes.add("400")
    if any(p["in"] == "path" for p in parameters):
        codes.add("404")
    if has_body:
        codes |= {"413", "415"}
    if throttled:
        codes.add("429")
    if throttled or authenticates:
        codes.add("503")
    found = {code: descriptions[code] for code in codes}
    if roles:
        needed = " and ".join(f"`{role}`" for role in roles)
        found["403"] = f"The caller lacks the {needed} role (`permission_denied`)"
    return found


def _error_body(response: dict[str, Any]) -> None:
    """Errors are the JSON envelope: keep a JSON entry's own schema and examples, drop other media types."""
    content = response.get("content") or {}
    json_entry = content.get(JSON) or {"schema": ERROR_REF}
    response["content"] = {JSON: json_entry}


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``)."""
    descriptions = _descriptions()
    views = _views(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code, description in _codes(operation, views.get((path, method)), descriptions).items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code[0] in "45":
                    _error_body(response)
                    if code in ("429", "503"):
                        response.setdefault("headers", {}).update(RETRY_AFTER)
            operation["responses"] = dict(sorted(responses.items()))
    return result


# OpenAPI links: which answer gives the id (or token) another operation takes, so that clients,
# docs and schema-driven tests (schemathesis' stateful phase) can follow them.
# (operationId, status) → {link name: (target operationId, parameters, request body)}.
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str], Any]]] = {
    ("api_ingest_create", "202"): {
        "RecordStatus": ("api_ingest_retrieve", {"record_id": "$response.body#/id"}, None),
    },
    ("memes_search", "200"): {
        "MemeAgain": ("memes_retrieve", {"meme_id": "$response.body#/memes/0/id"}, None),
        "MemePng": ("memes_png", {"meme_id": "$response.body#/memes/0/id"}, None),
        "MemeReport": ("memes_report", {"meme_id": "$response.body#/memes/0/id"}, None),
    },
    ("api_webhooks_create", "201"): {
        "WebhookDelete": ("api_webhooks_destroy", {"webhook_id": "$response.body#/id"}, None),
    },
    ("api_auth_token_create", "200"): {
        "Refresh": ("api_auth_token_refresh_create", {}, {"refresh": "$response.body#/refresh"}),
    },
    ("api_auth_token_refresh_create", "200"): {
        "RefreshAgain": ("api_auth_token_refresh_create", {}, {"refresh": "$response.body#/refresh"}),
    },
    ("api_me_retrieve", "200"): {
        "Balance": ("api_balance_retrieve", {"client": "$response.body#/client_id"}, None),
        "Usage": ("api_usage_retrieve", {"client": "$response.body#/client_id"}, None),
    },
}


def response_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the :data:`LINKS` above, on the responses they start from."""
    operations = {
        operation["operationId"]: operation
        for path_item in result.get("paths", {}).values()
        for operation in path_item.values()
    }
    for (source, status), links in LINKS.items():
        response = operations[source]["responses"][status]
        for name, (target, parameters, body) in links.items():
            if target not in operations:
                raise KeyError(f"link {name} from {source} names no operation {target!r}")
            link: dict[str, Any] = {"operationId": target}
            if parameters:
                link["parameters"] = parameters
            if body is not None:
                link["requestBody"] = body
            response.setdefault("links", {})[name] = link
    return result
