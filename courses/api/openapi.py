"""The OpenAPI 3.1 document, built from the routes and the pydantic models that serialise
their answers: each route declares its response model with `documented`, and the schemas are
those models' JSON Schema (2020-12, the dialect OpenAPI 3.1 uses). Nothing is written twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args

from flask import current_app
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from courses.api import schemas
from courses.api.problems import MEDIA_TYPE

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    summary: str
    response: type[BaseModel]
    description: str = ""
    query: type[BaseModel] | None = None
    authenticated: bool = False
    not_found: bool = False


#: View function name → what it answers; filled by `documented` as the views are imported.
OPERATIONS: dict[str, Operation] = {}
#: API routes that are not operations of the API itself (the description and its page).
UNDOCUMENTED = {"api.openapi_document", "api.reference"}


def documented(**fields: Any) -> Callable:
    """Declare a route's summary, response model, query model and errors for the document."""

    def decorate(view: Callable) -> Callable:
        OPERATIONS[view.__name__] = Operation(**fields)
        return view

    return decorate


def _component_schemas() -> dict[str, Any]:
    models = {operation.response for operation in OPERATIONS.values()}
    models |= {schemas.Problem, schemas.WebhookEvent}
    _, top = models_json_schema(
        [(model, "serialization") for model in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF,
    )
    return top["$defs"]


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a value; "null" is not something a URL can say."""
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**options[0], **rest}
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation", ref_template=REF)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = _without_null(dict(prop))
        description = prop.pop("description", None)
        prop.pop("title", None)
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
    }


def _operation(endpoint: str, path_arguments: list[str], op: Operation) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in path_arguments
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query)
    parameters.append(
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "An ETag from an earlier answer: 304 if nothing changed.",
        }
    )
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "headers": {"ETag": {"schema": {"type": "string"}}},
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.response.__name__)}}
            },
        },
        "304": {"description": "Not modified since the ETag given in If-None-Match."},
    }
    if op.query is not None:
        responses["400"] = _problem("A query parameter is not valid (see invalid-params).")
    if op.authenticated:
        responses["401"] = _problem("No token, or a token that is unknown, revoked or expired.")
    if op.not_found or path_arguments:
        responses["404"] = _problem("Not found, or outside the token's scope.")
    responses["429"] = _problem("Too many requests; wait as Retry-After says.")
    document: dict[str, Any] = {
        "operationId": endpoint.removeprefix("api."),
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
        "security": [{"bearer": []}] if op.authenticated else [],
    }
    if op.description:
        document["description"] = op.description
    return document


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api.") or rule.endpoint in UNDOCUMENTED:
            continue
        op = OPERATIONS[rule.endpoint.removeprefix("api.")]
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        arguments = re.findall(r"{([^}]+)}", path)
        paths[path] = {"get": _operation(rule.endpoint, arguments, op)}
    return paths


#: What a receiver checks, written once for the document and the reference page.
SIGNATURE = (
    "Each delivery is a POST of a WebhookEvent, signed: `X-Webhook-Signature` is `v1=` and the "
    "hex HMAC-SHA256, under the webhook's secret, of `<X-Webhook-Timestamp>.<body>` (the "
    "timestamp in Unix seconds, a dot, the raw body). Reject a timestamp more than 5 minutes "
    "old, and drop an `X-Webhook-Id` already seen: a delivery that got no 2xx answer is tried "
    "again with backoff (30 s, 2 min, 10 min, … up to 10 attempts)."
)


def _webhooks() -> dict[str, Any]:
    headers = [
        ("X-Webhook-Event", "The event type."),
        ("X-Webhook-Id", "The event's id, the same in every retry."),
        ("X-Webhook-Timestamp", "When this attempt was signed, in Unix seconds."),
        ("X-Webhook-Signature", "v1=<hex HMAC-SHA256 of '<timestamp>.<body>'>."),
    ]
    return {
        event: {
            "post": {
                "summary": f"{event} (sent to the webhook's URL)",
                "description": SIGNATURE,
                "parameters": [
                    {
                        "name": name,
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": text,
                    }
                    for name, text in headers
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": REF.format(model="WebhookEvent")}}
                    },
                },
                "responses": {"2XX": {"description": "Received; anything else is retried."}},
            }
        }
        for event in get_args(schemas.EventType)
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Capacitaciones Alianza del Pacífico: API for partner systems",
            "version": VERSION,
            "description": (
                "Read-only access to editions, enrollments and certificates. A token belongs "
                "to a coordinator and sees exactly what that coordinator's role may see. "
                "Times are UTC with an explicit offset, phones E.164. Errors are RFC 9457 "
                "problem details (application/problem+json)."
            ),
        },
        "servers": [{"url": current_app.config["PUBLIC_BASE_URL"]}],
        "paths": _paths(),
        "webhooks": _webhooks(),
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token created on the coordinator's API page.",
                }
            },
        },
    }


def reference() -> dict[str, Any]:
    """Plain values for the reference page: operations and schemas, from the same document."""
    spec = document()
    operations = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "description": op.get("description", ""),
                    "authenticated": bool(op["security"]),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "required": p["required"],
                            "type": _type_text(p["schema"]),
                            "description": p.get("description", ""),
                        }
                        for p in op["parameters"]
                    ],
                    "responses": [
                        {
                            "status": status,
                            "description": answer["description"],
                            "schema": _schema_name(answer),
                        }
                        for status, answer in op["responses"].items()
                    ],
                }
            )
    return {
        "info": spec["info"],
        "operations": operations,
        "webhooks": list(spec["webhooks"]),
        "signature": SIGNATURE,
        "schemas": {
            name: json.dumps(schema, indent=2, ensure_ascii=False)
            for name, schema in spec["components"]["schemas"].items()
        },
    }


def _type_text(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"])
    text = schema.get("type", "")
    return f"{text} ({schema['format']})" if "format" in schema else str(text)


def _schema_name(answer: dict[str, Any]) -> str:
    for media in answer.get("content", {}).values():
        return media["schema"]["$ref"].rsplit("/", 1)[-1]
    return ""
