"""The OpenAPI 3.1 document of the citizen and staff HTTP API, made from the route registry (web/app.py
`api_routes()`): each route's policy action, path and query parameters, request body and answer shapes, and
the problem+json answers it can give. Served at GET /api/openapi.json; docs/protocol.md §14.1 has the prose.
The agency exchange has its own document (/exchange/v1/openapi.json, chat/exchange/openapi.py), the message
service's REST API under /sdk/ is Digg's (docs/sdk.md)."""
from __future__ import annotations

import re
from typing import Any

from web.apischema import ANY_OBJECT, Schema, obj, string
from web.httpapi import PUBLIC, ApiRoute
from web.sessions import COOKIE

PROBLEM: Schema = obj({"type": string(200), "title": string(200), "status": {"type": "integer"},
                       "code": string(64, description="what went wrong; its page is `type`"),
                       "detail": {"type": "string"}},
                      {"errors": {"type": "array", "description": "every wrong field (RFC 9457 §3)", "items": {
                          "type": "object", "required": ["detail"], "properties": {
                              "pointer": {"type": "string", "description": "a JSON Pointer into the body"},
                              "parameter": {"type": "string", "description": "a query parameter"},
                              "detail": {"type": "string"}}}}})
# What any route may answer besides its own success: bad input, the session, the policy, a missing case,
# a conflict, limits, and storage that cannot be written now.
SIGNED_IN_PROBLEMS = (400, 401, 403, 404, 409, 413, 415, 429, 503)
PUBLIC_PROBLEMS = (400, 403, 404, 409, 413, 415, 429, 503)
# Routes another document describes: the agency exchange (/exchange/v1/openapi.json) and the message service's
# REST API for case management systems (Digg's own file, docs/sdk.md).
OTHER_DOCUMENTS = ("/exchange/", "/sdk/")
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def _path(route: ApiRoute) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path ({id:int} is written {id}) and its path parameters."""
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 0} if kind == "int" else {"type": "string"}}
              for name, kind in _PARAM.findall(route.path)]
    return _PARAM.sub(r"{\1}", route.path), params


def _operation(route: ApiRoute, method: str) -> dict[str, Any]:
    path, params = _path(route)
    params += [{"name": name, "in": "query", "required": False, "schema": schema}
               for name, schema in route.query.items()]
    if route.action != PUBLIC:
        params.append({"name": "X-Samtal-Device", "in": "header", "required": False, "schema": {"type": "string"},
                       "description": "the signed-in device's id, for routes that act with a device's keys"})
    success: dict[str, Any] = {"description": "done"}
    if route.status not in (204, 302, 303):
        success["content"] = {route.media: {"schema": route.response or ANY_OBJECT}} \
            if route.media == "application/json" else {route.media: {"schema": {"type": "string"}}}
    problems = PUBLIC_PROBLEMS if route.action == PUBLIC else SIGNED_IN_PROBLEMS
    operation: dict[str, Any] = {
        "operationId": f"{method.lower()}_{route.handler.__name__}",
        "summary": route.summary,
        "x-samtal-action": str(route.action),
        "parameters": params,
        "responses": {**{str(status): success for status in (route.status, *route.also)},
                      **{str(status): {"$ref": "#/components/responses/Problem"}
                         for status in problems if status not in (route.status, *route.also)}},
    }
    if route.action != PUBLIC:
        operation["security"] = [{"session": []}]
    if route.upload:
        operation["requestBody"] = {"required": True, "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}
    elif method in ("POST", "PUT", "PATCH"):
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": route.body or ANY_OBJECT}}}
    return operation


def openapi(routes: list[ApiRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if route.path.startswith(OTHER_DOCUMENTS):
            continue
        for method in route.methods:
            paths.setdefault(_path(route)[0], {})[method.lower()] = _operation(route, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Samtal citizen and staff API", "version": "1",
                 "description": "The HTTP API the browser app and the command-line client use (docs/protocol.md "
                                "§14.1). Generated from the route registry: each operation names the policy "
                                "action that guards it (x-samtal-action). Errors are problem+json; `type` is a page "
                                "that explains the code."},
        "paths": paths,
        "components": {
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": COOKIE,
                                            "description": "the session cookie set by sign-in"}},
            "schemas": {"Problem": PROBLEM},
            "responses": {"Problem": {"description": "problem+json (RFC 9457)", "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
        },
    }
