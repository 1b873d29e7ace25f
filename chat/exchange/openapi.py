"""The OpenAPI 3.1 description of the agency side, served at /exchange/v1/openapi.json. The prose and the
exact formats are in docs/exchange.md; the document types' schemas come from chat.exchange.documents."""
from __future__ import annotations

from typing import Any

from chat.exchange.documents import TYPES
from chat.exchange.envelope import PRIORITIES, REJECT_REASONS, STATUSES

_JWS = {"type": "string", "description": "compact JWS (RFC 7515)", "pattern": r"^[\w-]+\.[\w-]+\.[\w-]+$"}
_PROBLEM = {"description": "problem+json (RFC 9457); `code` names the error (docs/exchange.md, Errors)",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_RECEIPT = {"content": {"application/json": {"schema": {"type": "object", "required": ["receipt"], "properties": {
    "receipt": {**_JWS, "description": "compact JWS over a Receipt, signed by the endpoint key"},
    "duplicate": {"type": "boolean"}}}}}}
_ID = [{"name": "msg_id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _PROBLEM for s in statuses}


def openapi() -> dict[str, Any]:
    bearer: list[dict[str, list[str]]] = [{"agencyToken": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Samtal exchange", "version": "1",
                 "description": "Signed, encrypted documents between agencies and a unit's functional address. "
                                "See docs/exchange.md."},
        "paths": {
            "/exchange/v1/directory": {"get": {
                "summary": "the signed directory", "responses": {"200": {
                    "description": "compact JWS over a Directory", "content": {"application/jose": {
                        "schema": _JWS}}}}}},
            "/exchange/v1/messages": {
                "post": {"summary": "send a message; the envelope's signature authenticates the sender",
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "$ref": "#/components/schemas/Submission"}}}},
                         "responses": {"201": {**_RECEIPT, "description": "stored; the received receipt"},
                                       "200": {**_RECEIPT, "description": "the same bytes again: the original "
                                                                          "receipt"},
                                       **_errors(400, 403, 404, 409, 413, 422, 429, 503)}},
                "get": {"summary": "messages addressed to you (status=new: not acknowledged) or sent by you "
                                   "(role=sent)", "security": bearer,
                        "parameters": [{"name": "status", "in": "query", "schema": {"enum": ["new", "all"]}},
                                       {"name": "role", "in": "query", "schema": {"enum": ["received", "sent"]}}],
                        "responses": {"200": {"description": "envelopes", "content": {"application/json": {
                            "schema": {"type": "object", "properties": {"messages": {
                                "type": "array", "items": {"$ref": "#/components/schemas/MessageView"}}}}}}},
                            **_errors(400, 401)}}},
            "/exchange/v1/messages/{msg_id}": {"get": {
                "summary": "one message (with its content when addressed to you) and its receipts",
                "security": bearer, "parameters": _ID, "responses": {"200": {
                    "description": "the message", "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/MessageView"}}}}, **_errors(401, 404)}}},
            "/exchange/v1/messages/{msg_id}/ack": {"post": {
                "summary": "acknowledge a message addressed to you", "security": bearer, "parameters": _ID,
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"status": {"enum": ["accepted", "rejected", "read"]},
                                                     "reason": {"enum": list(REJECT_REASONS)}}}}}},
                "responses": {"200": {**_RECEIPT, "description": "the receipt recording your acknowledgement"},
                              **_errors(400, 401, 404)}}},
            "/exchange/v1/messages/{msg_id}/receipts": {"get": {
                "summary": "the receipts of a message you sent or received", "security": bearer,
                "parameters": _ID, "responses": {"200": {"description": "receipts, oldest first", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"receipts": {
                        "type": "array", "items": _JWS}}}}}}, **_errors(401, 404)}}},
            "/exchange/v1/messages/{msg_id}/proof": {"get": {
                "summary": "the envelope, its receipts and the audit log rows that record them",
                "security": bearer, "parameters": _ID, "responses": {"200": {
                    "description": "proof", "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Proof"}}}}, **_errors(401, 404)}}},
        },
        "components": {
            "securitySchemes": {"agencyToken": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWS",
                "description": "a compact JWS signed by your registered signing key: typ exchange-token+jwt; "
                               "claims iss (your address), aud (the directory's audience), iat, exp (at most "
                               "300 s after iat), jti (unique per request)"}},
            "schemas": {
                "Submission": {"type": "object", "required": ["envelope", "content"], "properties": {
                    "envelope": {**_JWS, "description": "compact JWS, typ exchange-envelope+json, over an Envelope"},
                    "content": {"type": "string", "description": "compact JWE (RFC 7516), alg ECDH-ES+A256KW, "
                                                                  "enc A256GCM, kid of the recipient's enc key"}}},
                "Envelope": {"type": "object", "required": ["id", "conversation", "type", "priority", "from", "to",
                                                            "label", "created", "expires", "content_sha256"],
                             "properties": {
                                 "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$"},
                                 "conversation": {"type": "string"}, "in_reply_to": {"type": ["string", "null"]},
                                 "type": {"enum": sorted(TYPES)}, "priority": {"enum": list(PRIORITIES)},
                                 "from": {"type": "string"}, "to": {"type": "string"},
                                 "label": {"type": "string", "maxLength": 200,
                                           "description": "no personal data"},
                                 "created": {"type": "integer", "description": "seconds since the epoch"},
                                 "expires": {"type": "integer"},
                                 "content_sha256": {"type": "string", "description": "base64url SHA-256 of the "
                                                                                     "compact JWE's ASCII"}}},
                "Receipt": {"type": "object", "properties": {
                    "iss": {"type": "string"}, "message": {"type": "string"}, "from": {"type": "string"},
                    "to": {"type": "string"}, "envelope_sha256": {"type": "string"},
                    "status": {"enum": list(STATUSES)}, "reason": {"enum": list(REJECT_REASONS)},
                    "at": {"type": "integer"}, "log": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "hash": {"type": "string"}}}}},
                "MessageView": {"type": "object", "description": "the Envelope's fields, plus envelope, "
                                                                 "envelope_sha256, stored_at, acked, content, receipts"},
                "Proof": {"type": "object", "properties": {
                    "envelope": _JWS, "receipts": {"type": "array", "items": _JWS},
                    "log": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "canonical": {"type": "string"},
                        "prev_hash": {"type": "string"}, "hash": {"type": "string"}}}},
                    "pruned": {"type": "object", "description": "only when rows the receipts name were removed at "
                               "the end of their retention period: those rows, and the anchor the kept log starts "
                               "from (the last removed row's id and hash)", "properties": {
                                   "rows": {"type": "array", "items": {"type": "integer"}},
                                   "through_id": {"type": "integer"}, "anchor_hash": {"type": "string"},
                                   "pruned_at": {"type": "integer"},
                                   "rule": {"type": ["string", "null"], "description": "the retention rule the "
                                            "rows were deleted under, from the deletion register"}}}}},
                "Problem": {"type": "object", "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "code": {"type": "string"}, "detail": {"type": "string"}}},
                **{"Document_" + name.replace("/", "_").replace("-", "_"): schema for name, schema in TYPES.items()},
            },
        },
    }
