"""A stand-in HIS for tests and demos: a tiny FHIR endpoint that takes transaction bundles.

It runs ``http.server`` in a thread on 127.0.0.1 (an ephemeral port by default) and does what a
real FHIR server does with our bundles, no more: checks the bearer token and the media type,
validates the bundle's structure (and each resource against the R4B models), processes the
entries all-or-nothing, honours ``ifNoneExist`` (a conditional create that matches an existing
resource by identifier creates nothing and answers ``200``), resolves ``urn:uuid`` references,
and answers a ``transaction-response`` bundle. It can be told to fail (``503``) for a while.

    with StandInHis(token="t") as his:
        settings.HIS_EXPORT_URL = his.url
        his.fail_next(3)
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

TRANSACTION_METHODS = frozenset({"POST", "PUT"})


class BundleInvalid(ValueError):
    pass


@dataclass
class ReceivedRequest:
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class StandInHis:
    token: str = ""
    path: str = "/fhir"
    fail_status: int = 503
    requests: list[ReceivedRequest] = field(default_factory=list)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    _failures_left: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # --- control -----------------------------------------------------------------------------

    def start(self, port: int = 0) -> StandInHis:
        his = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = his.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                payload = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="standin-his", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StandInHis:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def fail_next(self, count: int, *, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (the HIS is down)."""
        with self._lock:
            self._failures_left = count
            self.fail_status = status

    # --- what it holds -------------------------------------------------------------------------

    def find(self, resource_type: str, system: str, value: str) -> list[dict[str, Any]]:
        with self._lock:
            return self._find(resource_type, system, value)

    def count(self, resource_type: str) -> int:
        with self._lock:
            return len(self.resources.get(resource_type, {}))

    def summary(self) -> dict[str, int]:
        with self._lock:
            return {resource_type: len(items) for resource_type, items in self.resources.items()}

    @property
    def accepted(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if 200 <= r.status < 300]

    # --- the FHIR side ---------------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        received = ReceivedRequest(headers=headers, body=body)
        with self._lock:
            self.requests.append(received)
            received.status, answer = self._handle(path, headers, body)
        return received.status, answer

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if self._failures_left > 0:
            self._failures_left -= 1
            return self.fail_status, outcome("transient", "the HIS is down (stand-in)")
        if path.rstrip("/") != self.path.rstrip("/"):
            return HTTPStatus.NOT_FOUND, outcome("not-found", f"no endpoint {path}")
        if self.token and headers.get("authorization") != f"Bearer {self.token}":
            return HTTPStatus.UNAUTHORIZED, outcome("login", "bearer token missing or wrong")
        if not headers.get("content-type", "").startswith("application/fhir+json"):
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, outcome("not-supported", "send application/fhir+json")
        try:
            bundle = json.loads(body)
            entries = validate_transaction(bundle)
            return HTTPStatus.OK, self._process(entries)
        except (ValueError, BundleInvalid) as exc:
            return HTTPStatus.BAD_REQUEST, outcome("structure", str(exc))
        except Conflict as exc:
            return HTTPStatus.PRECONDITION_FAILED, outcome("multiple-matches", str(exc))

    def _find(self, resource_type: str, system: str, value: str) -> list[dict[str, Any]]:
        return [
            resource
            for resource in self.resources.get(resource_type, {}).values()
            if any(i.get("system") == system and i.get("value") == value for i in resource.get("identifier", []))
        ]

    def _process(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """All or nothing: resolve every conditional create first, then store the new ones."""
        locations: dict[str, str] = {}
        statuses: list[str] = []
        new: list[tuple[str, dict[str, Any]]] = []
        for entry in entries:
            resource_type = entry["resource"]["resourceType"]
            matches = []
            if entry["request"].get("ifNoneExist"):
                system, value = parse_if_none_exist(entry["request"]["ifNoneExist"])
                matches = self._find(resource_type, system, value)
            if len(matches) > 1:
                raise Conflict(f"ifNoneExist matches {len(matches)} {resource_type} resources")
            if matches:
                locations[entry["fullUrl"]] = f"{resource_type}/{matches[0]['id']}"
                statuses.append("200 OK")
            else:
                resource_id = uuid.uuid4().hex
                locations[entry["fullUrl"]] = f"{resource_type}/{resource_id}"
                new.append((resource_id, entry["resource"]))
                statuses.append("201 Created")
        for resource_id, resource in new:
            stored = resolve_references(resource, locations)
            stored["id"] = resource_id
            self.resources.setdefault(stored["resourceType"], {})[resource_id] = stored
        return {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [
                {"response": {"status": status, "location": locations[entry["fullUrl"]]}}
                for entry, status in zip(entries, statuses, strict=True)
            ],
        }


class Conflict(Exception):
    pass


def outcome(code: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }


def validate_transaction(bundle: Any) -> list[dict[str, Any]]:
    """The structure a FHIR server checks before it processes a transaction."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BundleInvalid("not a Bundle")
    if bundle.get("type") != "transaction":
        raise BundleInvalid(f"Bundle.type is {bundle.get('type')!r}, expected 'transaction'")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise BundleInvalid("a transaction needs entries")
    full_urls = set()
    for index, entry in enumerate(entries):
        resource = entry.get("resource")
        request = entry.get("request")
        if not isinstance(resource, dict) or not resource.get("resourceType"):
            raise BundleInvalid(f"entry {index}: resource with resourceType required")
        if not isinstance(request, dict) or request.get("method") not in TRANSACTION_METHODS or not request.get("url"):
            raise BundleInvalid(f"entry {index}: request.method (POST/PUT) and request.url required")
        if request["method"] == "POST" and request["url"].split("?")[0] != resource["resourceType"]:
            raise BundleInvalid(f"entry {index}: POST {request['url']} of a {resource['resourceType']}")
        full_url = entry.get("fullUrl", "")
        if not full_url.startswith("urn:uuid:") or full_url in full_urls:
            raise BundleInvalid(f"entry {index}: fullUrl must be a unique urn:uuid")
        full_urls.add(full_url)
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        raise BundleInvalid(f"not a valid FHIR bundle: {exc}") from exc
    return entries


def parse_if_none_exist(query: str) -> tuple[str, str]:
    values = parse_qs(query).get("identifier")
    if not values or "|" not in values[0]:
        raise BundleInvalid(f"unsupported ifNoneExist {query!r} (identifier=system|value only)")
    system, _, value = values[0].partition("|")
    return system, value


def resolve_references(value: Any, locations: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: (locations.get(item, item) if key == "reference" else resolve_references(item, locations))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [resolve_references(item, locations) for item in value]
    return value
