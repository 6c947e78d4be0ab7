"""The OpenAPI document, built from the route declarations (`server.http.Routes`).

Every operation gets an `operationId` a code generator accepts (camelCase from the handler's name,
prefixed with its area's tag when two areas use the same name), a 2xx response with the envelope
`{success, message, data, totalItems?}` whose `data` is the route's `response=` model (any JSON
when the route names none; no `data` at all for `response=NoData`) and an example built from that
schema, and the error responses the contract defines (400/401/403/404/409/413/429), each with its
envelope and an example.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from server.http import NoData, Routes, RouteSpec

REF = "#/components/schemas/{model}"

# ------------------------------------------------------------------------------------ envelopes

_COMMON_SCHEMAS: dict[str, Any] = {
    "ErrorEnvelope": {
        "type": "object",
        "description": "Every refusal but 401/403: a localized message (Accept-Language: vi or en).",
        "required": ["success", "message"],
        "properties": {"success": {"type": "boolean", "const": False}, "message": {"type": "string"}},
        "example": {"success": False, "message": "Not found"},
    },
    "ValidationError": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
    "ValidationErrorEnvelope": {
        "type": "object",
        "description": "400: a validation failure (validationErrors) or a business-rule refusal (message only).",
        "required": ["success", "message"],
        "properties": {
            "success": {"type": "boolean", "const": False},
            "message": {"type": "string"},
            "validationErrors": {"type": "array", "items": {"$ref": REF.format(model="ValidationError")}},
        },
        "example": {
            "success": False,
            "message": "Lý do hủy không được để trống",
            "validationErrors": [{"field": "reason", "message": "Lý do hủy không được để trống"}],
        },
    },
    "AuthErrorEnvelope": {
        "type": "object",
        "description": "401 and 403 (the seed's bodies, on every endpoint).",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "enum": ["Unauthorized", "Forbidden"]},
            "message": {"type": "string"},
        },
    },
}


def _json(schema_name: str, example: Any = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": {"$ref": REF.format(model=schema_name)}}
    if example is not None:
        content["example"] = example
    return {"application/json": content}


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}

_COMMON_RESPONSES: dict[str, Any] = {
    "BadRequest": {
        "description": "Validation failure (with validationErrors) or business-rule refusal",
        "content": _json("ValidationErrorEnvelope"),
    },
    "Unauthorized": {
        "description": "Missing, malformed, invalid, expired or revoked access token",
        "content": _json(
            "AuthErrorEnvelope", {"error": "Unauthorized", "message": "Access token is missing or invalid"}
        ),
    },
    "Forbidden": {
        "description": "Wrong role (`Access denied. Required role: ...`) or not yours (`Access denied`)",
        "content": _json("AuthErrorEnvelope", {"error": "Forbidden", "message": "Access denied"}),
    },
    "NotFound": {
        "description": "Nothing with that id (under /employee: 400 instead)",
        "content": _json("ErrorEnvelope", {"success": False, "message": "Not found"}),
    },
    "Conflict": {
        "description": "State conflict: wrong state, double booking, already enrolled, full, duplicate",
        "content": _json("ErrorEnvelope", {"success": False, "message": "Conflict"}),
    },
    "PayloadTooLarge": {
        "description": "Body over MAX_BODY_BYTES (1 MiB)",
        "content": _json("ErrorEnvelope", {"success": False, "message": "Request body too large"}),
    },
    "TooManyRequests": {
        "description": "Rate limited (failed logins, chat messages): wait Retry-After seconds",
        "headers": _RETRY_AFTER,
        "content": _json("ErrorEnvelope", {"success": False, "message": "Too many requests"}),
    },
}


# ---------------------------------------------------------------------------------- identifiers


def camel_case(text: str) -> str:
    """`list_conversations` → `listConversations`; `home services` → `homeServices`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    if not words:
        return "operation"
    head, *rest = words
    name = head[0].lower() + head[1:] + "".join(w[0].upper() + w[1:] for w in rest)
    return name if re.match(r"[A-Za-z_]", name) else "_" + name


def operation_ids(specs: list[RouteSpec]) -> list[str]:
    """One valid, unique identifier per route, stable as long as handler names are."""
    base = [camel_case(s.handler.__name__) for s in specs]
    clashes = Counter(base)
    ids = [
        camel_case(f"{s.tag} {s.handler.__name__}") if clashes[b] > 1 else b for s, b in zip(specs, base, strict=True)
    ]
    seen: Counter[str] = Counter()
    unique = []
    for op_id in ids:
        seen[op_id] += 1
        unique.append(op_id if seen[op_id] == 1 else f"{op_id}{seen[op_id]}")
    return unique


# ------------------------------------------------------------------------------------- schemas


class Schemas(dict[str, Any]):
    """`components/schemas`: every model's JSON schema, made by pydantic in one go for all the models
    of a document, so two models with the same name (or one model used for input and output) get
    distinct names instead of overwriting each other."""

    def __init__(self, common: dict[str, Any], models: Iterable[tuple[type[BaseModel], JsonSchemaMode]]) -> None:
        super().__init__(common)
        wanted = list(dict.fromkeys(models))
        self.refs: dict[tuple[Any, JsonSchemaMode], dict[str, Any]] = {}
        if wanted:
            refs, defs = models_json_schema(wanted, ref_template=REF)
            self.update(defs.get("$defs", {}))
            self.refs.update(refs)

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return self.refs[(model, mode)]


def model_schema(model: type[BaseModel], components: Schemas, mode: JsonSchemaMode = "validation") -> dict[str, Any]:
    """The `$ref` of the model's schema (listed in `Schemas` beforehand)."""
    return components.ref(model, mode)


def example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for a JSON schema: its own example if it has one, else built from types."""
    if "$ref" in schema:
        return example_of(components.get(schema["$ref"].rsplit("/", 1)[-1], {}), components, depth + 1)
    for key in ("example", "const", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_of(options[0], components, depth + 1)
    if depth > 8:
        return None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: example_of(sub, components, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), components, depth + 1)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "string":
        return {
            "date-time": "2025-09-06T07:39:22Z",
            "date": "2025-09-06",
            "email": "user@example.com",
            "uri": "https://example.com/",
        }.get(schema.get("format", ""), "string")
    return None


def success_response(spec: RouteSpec, components: Schemas) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "success": {"type": "boolean", "const": True},
        "message": {"type": "string", "description": "localized (Accept-Language: vi or en)"},
    }
    schema: dict[str, Any] = {"type": "object", "required": ["success", "message"], "properties": properties}
    example: dict[str, Any] = {"success": True, "message": "OK"}
    if spec.response is NoData:
        schema["description"] = "this route's envelope carries no data"
    else:
        data: dict[str, Any] = {"description": "any JSON (this route declares no response model)"}
        if spec.response is not None:
            item = model_schema(spec.response, components, mode="serialization")
            data = {"type": "array", "items": item} if spec.response_list else item
        properties["data"] = data
        example["data"] = example_of(data, components)
        if spec.response_list:
            properties["totalItems"] = {"type": "integer", "description": "paged lists: the total across pages"}
            example["totalItems"] = 1
    return {
        "description": spec.summary or "success",
        "content": {"application/json": {"schema": schema, "example": example}},
    }


def _error_responses(spec: RouteSpec) -> dict[str, Any]:
    responses: dict[str, Any] = {"400": {"$ref": "#/components/responses/BadRequest"}}
    if not spec.public:
        responses["401"] = {"$ref": "#/components/responses/Unauthorized"}
        responses["403"] = {"$ref": "#/components/responses/Forbidden"}
    responses["404"] = {"$ref": "#/components/responses/NotFound"}
    if spec.method in ("POST", "PUT", "PATCH", "DELETE"):
        responses["409"] = {"$ref": "#/components/responses/Conflict"}
        responses["413"] = {"$ref": "#/components/responses/PayloadTooLarge"}
    responses["429"] = {"$ref": "#/components/responses/TooManyRequests"}
    return responses


# ------------------------------------------------------------------------------------ document


def build_openapi(areas: list[Routes], prefix: str = "/api/v1") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    specs = [spec for routes in areas for spec in routes.specs]
    components = Schemas(
        _COMMON_SCHEMAS,
        [(s.body, "validation") for s in specs if s.body is not None]
        + [(s.response, "serialization") for s in specs if s.response not in (None, NoData)],
    )
    for spec, op_id in zip(specs, operation_ids(specs), strict=True):
        op: dict[str, Any] = {
            "tags": [spec.tag],
            "summary": spec.summary,
            "operationId": op_id,
            "responses": {str(spec.status): success_response(spec, components), **_error_responses(spec)},
        }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", spec.path)
        ]
        if spec.query is not None:
            query_schema = spec.query.model_json_schema(ref_template=REF)
            for name, schema in query_schema.get("$defs", {}).items():  # enums a filter refers to
                components.setdefault(name, schema)
            properties = query_schema["properties"]
            for name, field in spec.query.model_fields.items():
                public = field.alias or name
                parameters.append(
                    {
                        "name": public,
                        "in": "query",
                        "required": field.is_required(),
                        "description": field.description or "",
                        "schema": properties.get(public, {}),
                    }
                )
        if parameters:
            op["parameters"] = parameters
        if spec.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": model_schema(spec.body, components, "validation")}},
            }
        if not spec.public:
            op["security"] = [{"bearer": []}]
            if spec.roles:
                op["description"] = "Roles: " + ", ".join(spec.roles)
        else:
            op["security"] = []
        paths.setdefault(prefix + spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Learning & home-services realtime server",
            "version": "1.0.0",
            "description": "REST under /api/v1. The Socket.IO events (namespace `/`, path /socket.io/) are "
            "described by the AsyncAPI document at [/api/asyncapi.json](/api/asyncapi.json) "
            "([readable](/api/asyncapi)); a browser console to try them is at [/console](/console).",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": _COMMON_RESPONSES,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
