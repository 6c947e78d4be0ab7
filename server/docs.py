"""Developer pages, served by the server itself with no outside host (they work offline):

- `/api/docs`: Swagger UI 5 for `/api/openapi.json`, its files taken from the `swagger-ui-py`
  package (requirements.txt) and served under `/api/docs/static/`;
- `/api/asyncapi.json` and `/api/asyncapi`: the Socket.IO events (AsyncAPI document, and a page
  that lists its channels);
- `/console`: a browser console (log in, conversations, live chat, typing, presence,
  notifications) on the Socket.IO client vendored in `static/vendor/`;
- `/static/...`: the repository's `static/` folder (those pages' HTML, JS and CSS).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from aiohttp import web

from server.http import json_response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# The Swagger UI files the docs page uses (the package also ships the editor, source maps, ...).
SWAGGER_FILES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-16x16.png": "image/png",
    "favicon-32x32.png": "image/png",
    "LICENSE": "text/plain",
}


def swagger_ui_dir() -> Path:
    """The folder of Swagger UI's files inside the installed `swagger-ui-py` package (found without
    importing it: its frameworks' integrations are not needed)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (pip install -r requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API docs: Learning &amp; home-services realtime server</title>
<link rel="icon" type="image/png" href="/api/docs/static/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/api/docs/static/favicon-16x16.png" sizes="16x16">
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css">
<link rel="stylesheet" href="/static/docs.css">
</head><body>
<nav class="devnav"><strong>Realtime server</strong>
<a href="/api/docs">REST API (OpenAPI)</a> <a href="/api/openapi.json">openapi.json</a>
<a href="/api/asyncapi">Socket.IO events (AsyncAPI)</a> <a href="/api/asyncapi.json">asyncapi.json</a>
<a href="/console">Console</a></nav>
<div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>
"""


def install_docs(app: web.Application, openapi: dict[str, Any], asyncapi: dict[str, Any]) -> None:
    swagger_dir = swagger_ui_dir()

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=DOCS_HTML, content_type="text/html")

    async def swagger_file(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in SWAGGER_FILES:
            raise web.HTTPNotFound()
        response = web.FileResponse(swagger_dir / name)
        response.content_type = SWAGGER_FILES[name]
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    async def openapi_json(request: web.Request) -> web.Response:
        return json_response(openapi, 200)

    async def asyncapi_json(request: web.Request) -> web.Response:
        return json_response(asyncapi, 200)

    def page(relative: str) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(STATIC_DIR / relative)

        return serve

    app.router.add_get("/api/docs", docs)
    app.router.add_get("/api/docs/", docs)
    app.router.add_get("/api/docs/static/{name}", swagger_file)
    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/asyncapi.json", asyncapi_json)
    app.router.add_get("/api/asyncapi", page("asyncapi.html"))
    app.router.add_get("/console", page("console.html"))
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
