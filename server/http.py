"""The REST layer every area uses: route declarations, the envelope, and the error middleware.

A handler is declared once with what it needs, and the wrapper does the rest in one place:

    @routes.post("/auth/register", public=True, body=RegisterRequest, summary="Create an account")
    async def register(call: Call) -> Reply:
        return Reply(await users.register(call.ctx, call.body), "auth.registered", status=201)

Every route is authenticated unless declared `public` (deny by default); `roles` are checked before
the body is read; bodies and query strings are validated with pydantic models. The same
declarations feed the OpenAPI document (`server/openapi.py`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from config.settings import Settings
from server.auth import Principal, bearer_token, principal_from_token, require_role
from server.context import Context
from server.envelope import error_body, error_envelope, http_headers
from server.errors import ValidationFailed
from server.i18n import pick_locale, translate
from server.jsonutil import UnencodableText, dumps, loads_checked
from server.validation import validate

log = logging.getLogger(__name__)
access_log = logging.getLogger("server.access")

CTX_KEY = web.AppKey("ctx", Context)
REQUEST_ID = web.RequestKey("request_id", str)
LOCALE = web.RequestKey("locale", str)
USER_ID = web.RequestKey("user_id", str)
_NO_DATA = object()


class NoData(BaseModel):
    """`response=NoData`: the route's envelope carries no `data`, only `success` and `message`
    (e.g. logout, the seed's cancel). The OpenAPI document shows that envelope without `data`."""


@dataclass
class Reply:
    data: Any = _NO_DATA
    message_key: str = "common.ok"
    status: int = 200
    total: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    request: web.Request
    ctx: Context
    principal: Principal | None
    locale: str
    body: Any = None
    query: Any = None

    def path(self, name: str) -> str:
        return self.request.match_info[name]

    @property
    def user(self) -> Principal:
        assert self.principal is not None, "route declared public"
        return self.principal


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass
class RouteSpec:
    method: str
    path: str
    handler: Handler
    public: bool
    roles: tuple[str, ...] | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    status: int
    summary: str
    tag: str
    response: type[BaseModel] | None = None  # the envelope's `data` (OpenAPI only); NoData: none; None: any JSON
    response_list: bool = False  # `data` is a list of `response` (a paged list adds totalItems)


class Routes:
    """The routes of one area (one handlers module)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.specs: list[RouteSpec] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        public: bool = False,
        roles: tuple[str, ...] | None = None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        status: int = 200,
        summary: str = "",
        response: type[BaseModel] | None = None,
        response_list: bool = False,
    ) -> Callable[[Handler], Handler]:
        """`response` (a pydantic model) documents the envelope's `data` in the OpenAPI document,
        a list of it with `response_list=True`; `NoData` says the envelope has no `data`; without
        it the document shows a generic envelope."""

        def decorate(handler: Handler) -> Handler:
            self.specs.append(
                RouteSpec(
                    method,
                    path,
                    handler,
                    public,
                    roles,
                    body,
                    query,
                    status,
                    summary or (handler.__doc__ or "").strip().split("\n")[0],
                    self.tag,
                    response,
                    response_list,
                )
            )
            return handler

        return decorate

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)

    def install(self, app: web.Application, prefix: str = "/api/v1") -> None:
        for spec in self.specs:
            app.router.add_route(spec.method, prefix + spec.path, _endpoint(spec))


def locale_of(request: web.Request) -> str:
    return pick_locale(request.headers.get("Accept-Language"), request.app[CTX_KEY].settings.default_locale)


def client_address(request: web.Request, settings: Settings) -> str:
    """The caller's address: the peer, or the last X-Forwarded-For hop a TRUSTED_PROXIES peer added."""
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and peer in settings.trusted_proxy_list:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1][:64]
    return peer


def envelope(reply: Reply, locale: str) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "message": translate(reply.message_key, locale, **reply.params)}
    if reply.data is not _NO_DATA:
        body["data"] = reply.data
    if reply.total is not None:
        body["totalItems"] = reply.total
    return body


def json_response(body: Any, status: int) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json")


async def read_json(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    raw = await request.read()  # bounded by client_max_size (413 past it)
    if not raw.strip():
        return {}
    try:
        return loads_checked(raw)  # every body is parsed here, and only here
    except UnencodableText:
        raise ValidationFailed([{"field": "body", "key": "validation.invalid_text"}]) from None
    except ValueError:
        raise ValidationFailed([{"field": "body", "key": "common.invalid_json"}]) from None


def _endpoint(spec: RouteSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CTX_KEY]
        locale = request[LOCALE]
        principal = None
        if not spec.public:
            principal = await principal_from_token(ctx, bearer_token(request.headers.get("Authorization")))
            request[USER_ID] = principal.id
            if spec.roles:
                require_role(principal, spec.roles)
        call = Call(request=request, ctx=ctx, principal=principal, locale=locale)
        if spec.query is not None:
            call.query = validate(spec.query, dict(request.query))
        if spec.body is not None:
            call.body = validate(spec.body, await read_json(request))
        reply = await spec.handler(call)
        return json_response(envelope(reply, locale), reply.status)

    endpoint.__name__ = spec.handler.__name__
    return endpoint


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every failure becomes the contract's JSON; nothing internal leaks out. Each request is counted
    (by route template and status) and written to the access log with its request id."""
    started = time.perf_counter()
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]
    request[REQUEST_ID] = request_id
    locale = request[LOCALE] = locale_of(request)
    try:
        response = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        response = json_response(
            error_body(locale, "common.body_too_large", limit=request.app[CTX_KEY].settings.max_body_bytes), 413
        )
    except web.HTTPNotFound:
        response = json_response(error_body(locale, "common.route_not_found"), 404)
    except web.HTTPMethodNotAllowed as exc:
        response = json_response(error_body(locale, "common.method_not_allowed"), 405)
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    except web.HTTPException:
        raise
    except Exception as exc:
        status, body = error_envelope(exc, locale, f"{request_id} ({request.method} {request.path})")
        response = json_response(body, status)
        response.headers.update(http_headers(body))
    response.headers["X-Request-Id"] = request_id
    _account(request, response.status, time.perf_counter() - started)
    return response


def _account(request: web.Request, status: int, duration: float) -> None:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    metrics = request.app[CTX_KEY].metrics
    metrics.http_requests.labels(request.method, route, str(status)).inc()
    metrics.http_latency.labels(request.method, route).observe(duration)
    access_log.info(
        "%s %s %s %.1fms",
        request.method,
        request.path,
        status,
        duration * 1000,
        extra={
            "request_id": request.get(REQUEST_ID),
            "user_id": request.get(USER_ID),
            "route": route,
            "status": status,
            "duration_ms": round(duration * 1000, 2),
        },
    )


def cors_middleware(origins: list[str]) -> Any:
    allow_any = "*" in origins

    @web.middleware
    async def cors(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allowed = origin is not None and (allow_any or origin in origins)
        if request.method == "OPTIONS" and allowed and request.headers.get("Access-Control-Request-Method"):
            response: web.StreamResponse = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = request.headers.get(
                "Access-Control-Request-Headers", "Authorization, Content-Type, Accept-Language"
            )
            response.headers["Access-Control-Max-Age"] = "600"
        else:
            response = await handler(request)
        if allowed and origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Retry-After, X-Request-Id"
            response.headers["Vary"] = "Origin"
        return response

    return cors
