"""What the server tells anyone (docs/protocol.md §14): the clients' settings, whether it is alive and whether it
is ready for traffic."""
from __future__ import annotations

import asyncio
import logging

from starlette.responses import JSONResponse, Response

from web.apischema import ANY_OBJECT, BOOL, INT, STR, array, obj
from web.httpapi import PUBLIC, Ctx, RouteTable
from web.openapi import openapi
from web.problems import problem

log = logging.getLogger("samtal.status")

api = RouteTable()


@api("/api/config", "GET", action=PUBLIC,
     response=obj({"max_attachment_bytes": INT, "demo": BOOL, "languages": array(STR)}))
async def client_config(ctx: Ctx) -> Response:
    settings = ctx.services.settings
    return JSONResponse({"max_attachment_bytes": settings.max_attachment_bytes, "demo": settings.demo,
                         "languages": ["sv", "en"]})


@api("/api/openapi.json", "GET", action=PUBLIC, response=ANY_OBJECT)
async def openapi_document(ctx: Ctx) -> Response:
    """The OpenAPI 3.1 document of this API, made from the route registry (web/openapi.py)."""
    from web.app import api_routes  # the registry lists this module's routes too

    return JSONResponse(openapi(api_routes()))


@api("/healthz", "GET", action=PUBLIC, response=obj({"ok": BOOL, "connections": INT}))
async def health(ctx: Ctx) -> Response:
    """Alive: the process answers. Whether it can do its work is /readyz."""
    return JSONResponse({"ok": True, "connections": ctx.services.hub.connection_count()})


# /readyz's write probe may take this long before the database counts as not writable.
READY_PROBE_SECONDS = 2.0


@api("/readyz", "GET", action=PUBLIC, response=obj({"ready": BOOL, "generation": STR}))
async def ready(ctx: Ctx) -> Response:
    """Ready for traffic: not draining, a real write to the database commits (a full disk or a failing disk
    makes it fail as a message's commit would; /healthz answered 200 through both), and with several nodes,
    the bus is connected (a node off the bus serves its own connections late, from the database)."""
    if ctx.services.draining.active:
        return problem(503, "draining", "this node is shutting down", headers={"Retry-After": "1"})
    try:
        await asyncio.wait_for(ctx.services.store.probe_write(), READY_PROBE_SECONDS)
    except Exception as error:  # noqa: BLE001 (any failure to write means not ready; the kind is logged)
        log.warning("not ready: the database write probe failed", extra={"error": type(error).__name__})
        return problem(503, "storage_unavailable", "the database cannot be written to now",
                       headers={"Retry-After": "5"})
    node = ctx.services.node
    if node is not None and not node.connected:
        return problem(503, "bus_unavailable", "the bus between the nodes cannot be reached now",
                       headers={"Retry-After": "5"})
    return JSONResponse({"ready": True, "generation": ctx.services.generation})
