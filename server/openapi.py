"""The OpenAPI document, built from the route declarations (`server.http.Routes`)."""

from __future__ import annotations

import re
from typing import Any

from server.http import Routes

_ERROR = {"type": "object", "properties": {"success": {"type": "boolean"}, "message": {"type": "string"}}}
_AUTH_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_openapi(areas: list[Routes], prefix: str = "/api/v1") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for routes in areas:
        for spec in routes.specs:
            op: dict[str, Any] = {
                "tags": [spec.tag],
                "summary": spec.summary,
                "operationId": f"{spec.tag}_{spec.handler.__name__}",
                "responses": {
                    str(spec.status): {"description": "success envelope `{success, message, data}`"},
                    "400": {
                        "description": "validation or business rule",
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                },
            }
            parameters = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{(\w+)}", spec.path)
            ]
            if spec.query is not None:
                properties = spec.query.model_json_schema()["properties"]
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
                    "content": {"application/json": {"schema": _schema(spec.body, components)}},
                }
            if not spec.public:
                op["security"] = [{"bearer": []}]
                op["responses"]["401"] = {
                    "description": "missing, invalid or expired token",
                    "content": {"application/json": {"schema": _AUTH_ERROR}},
                }
                if spec.roles:
                    op["description"] = "Roles: " + ", ".join(spec.roles)
                    op["responses"]["403"] = {
                        "description": "role or ownership",
                        "content": {"application/json": {"schema": _AUTH_ERROR}},
                    }
            paths.setdefault(prefix + spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Learning & home-services realtime server",
            "version": "1.0.0",
            "description": "REST under /api/v1 and Socket.IO on /socket.io/ (see README).",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


DOCS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>API docs</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#ui"});</script>
</body></html>"""
