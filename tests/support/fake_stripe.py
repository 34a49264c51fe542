"""A local fake of the Stripe HTTP API, for tests that drive the real `stripe` library.

Pointing the library at it (stripe 16)::

    with FakeStripe() as fake:
        monkeypatch.setattr(stripe, "api_key", "sk_test_anything")
        monkeypatch.setattr(stripe, "api_base", fake.url)  # or settings.STRIPE_API_BASE
        stripe.checkout.Session.create(...)

The legacy resource API (`stripe.Account.create(...)`, `stripe.checkout.Session.create(...)`)
reads the module-level `stripe.api_base` at every request, so setting it is enough; stripe 16 has
no per-request `api_base` option. A `stripe.StripeClient` takes
`base_addresses={"api": fake.url}` instead. The fake speaks plain HTTP on 127.0.0.1; the library
only checks certificates for https URLs.

What it models: Connect accounts and account links, Checkout sessions in payment mode with their
payment intents, destination transfers, payouts, idempotency keys (a replay returns the stored
response with `Idempotent-Replayed: true`; the same key with other parameters is a 400
`idempotency_error`, as on Stripe; only successful responses are stored) and injected failures
(`fail_next`), and requests made on behalf of a connected account (the `Stripe-Account`
header, `stripe_account=` in the library): what they create belongs to that account, and the
events about it carry `"account"`, as Connect sends them. It does not deliver webhooks: the test
controls (`pay`, `complete_onboarding`, `payout`, `expire`) return the event dicts Stripe would
send, and `sign` makes the
`Stripe-Signature` header for them. An expiry asked through the API (`POST
/v1/checkout/sessions/{id}/expire`, open sessions only, as on Stripe) builds its
`checkout.session.expired` event too: it is in `events`. `expand` and parameters it does
not know are ignored.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import socket
import string
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

API_VERSION = "2026-10-28.endive"  # what stripe 16 sends as Stripe-Version
_ALPHABET = string.ascii_letters + string.digits
_CURRENCIES = {"CA": "cad", "US": "usd", "GB": "gbp", "FR": "eur", "DE": "eur", "AU": "aud"}


class RecordedRequest(NamedTuple):
    """One request the fake received."""

    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


class FormError(ValueError):
    """A form body the fake cannot parse into nested parameters."""


class _ApiError(Exception):
    """Raised by an endpoint to answer with a Stripe error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: dict[str, Any] = {"type": type, "message": message}
        if code:
            self.error["code"] = code
        if param:
            self.error["param"] = param


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    # Hold the connection this long, then close it without sending the response (a timeout).
    stall: float | None = None


def _json(status: int, data: Any) -> _Response:
    return _Response(status, json.dumps(data).encode())


def _html(status: int, title: str, body: str) -> _Response:
    page = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>"
    )
    return _Response(status, page.encode(), content_type="text/html; charset=utf-8")


def _new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _now() -> int:
    return int(time.time())


# --- Form bodies ---------------------------------------------------------------------------------

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def parse_form(body: str | bytes) -> dict[str, Any]:
    """Parse a form-encoded body (`a[b][0][c]=1`) into nested dicts and lists of strings.

    A level whose keys are all indices (`[0]`, `[1]`, or `[]` to append) becomes a list."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return _nest(parse_qsl(body, keep_blank_values=True))


def _nest(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise FormError(f"Invalid parameter name: {key}")
        parts = [match.group(1), *_SEGMENT.findall(match.group(2))]
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part or str(len(node)), {})
            if not isinstance(child, dict):
                raise FormError(f"Conflicting values for parameter: {key}")
            node = child
        last = parts[-1] or str(len(node))
        if last in node:
            raise FormError(f"Conflicting values for parameter: {key}")
        node[last] = value
    return _listify(root)


def _listify(node: dict[str, Any]) -> Any:
    converted = {k: _listify(v) if isinstance(v, dict) else v for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


# --- Webhook signatures --------------------------------------------------------------------------


def sign(payload: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value Stripe would send with `payload`."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    t = _now() if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode("utf-8"), f"{t}.{payload}".encode(), hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


# --- Parameter helpers ---------------------------------------------------------------------------


def _require(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value in (None, "", [], {}):
        raise _ApiError(
            400, f"Missing required param: {name}.", code="parameter_missing", param=name
        )
    return value


def _int(value: Any, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _ApiError(
            400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param
        ) from None


def _dict(value: Any, param: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise _ApiError(400, f"Invalid object: {param}", code="parameter_invalid", param=param)
    return value


def _missing(kind: str, object_id: str, *, status: int = 404, param: str = "id") -> _ApiError:
    message = f"No such {kind}: '{object_id}'"
    return _ApiError(status, message, code="resource_missing", param=param)


# --- The server ----------------------------------------------------------------------------------

_Route = tuple[str, re.Pattern[str], Callable[..., Any]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeStripe) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake's `requests` list is the log."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.fake._dispatch(method, self.path, dict(self.headers.items()), body)
        if response is not None and response.stall is not None:  # done, but answered too late
            time.sleep(response.stall)
            response = None
        if response is None:  # a network error: close without a word
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)


class FakeStripe:
    """A Stripe API on 127.0.0.1 with the few endpoints the marketplace uses.

    Objects are kept by kind: "account", "account_link", "checkout.session", "payment_intent",
    "charge", "transfer", "payout". With `eager_payment_intent=False` a Checkout session has no
    payment intent until the buyer tries to pay, as with Stripe API versions since 2022-08-01."""

    def __init__(self, *, eager_payment_intent: bool = True) -> None:
        self.eager_payment_intent = eager_payment_intent
        self.url = ""
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}
        self._created: Counter[str] = Counter()
        self._requests: list[RecordedRequest] = []
        self._events: list[dict[str, Any]] = []
        self._idempotent: dict[tuple[str, str, str], tuple[dict[str, Any], _Response]] = {}
        self._failures: list[tuple[int | Literal["drop", "timeout"], float]] = []
        # The connected account the request being carried out acts for (the lock is held).
        self._acting_for: str | None = None
        self._routes: list[_Route] = [
            ("POST", re.compile(r"/v1/accounts"), self._account_create),
            ("GET", re.compile(r"/v1/accounts/([^/]+)"), self._account_retrieve),
            ("POST", re.compile(r"/v1/account_links"), self._account_link_create),
            ("POST", re.compile(r"/v1/checkout/sessions"), self._session_create),
            ("GET", re.compile(r"/v1/checkout/sessions/([^/]+)"), self._session_retrieve),
            ("POST", re.compile(r"/v1/checkout/sessions/([^/]+)/expire"), self._session_expire),
            ("GET", re.compile(r"/v1/payment_intents/([^/]+)"), self._intent_retrieve),
            ("GET", re.compile(r"/v1/balance_transactions"), self._balance_transactions),
        ]

    # --- Lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        """Listen on a free port; `url` is set from then on."""
        if self._server is not None:
            return self
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-stripe", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close the connections clients keep alive."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    # --- Inspection -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event the fake built, oldest first (a copy)."""
        with self._lock:
            return copy.deepcopy(self._events)

    def count(self, kind: str) -> int:
        """How many objects of `kind` were created, e.g. `count("checkout.session")`."""
        with self._lock:
            return self._created[kind]

    def get(self, kind: str, object_id: str) -> dict[str, Any]:
        """A copy of a stored object; KeyError if there is none."""
        with self._lock:
            return copy.deepcopy(self._public(self._objects.get(kind, {})[object_id]))

    def objects(self, kind: str) -> list[dict[str, Any]]:
        """Copies of all stored objects of `kind`, oldest first."""
        with self._lock:
            return [copy.deepcopy(self._public(o)) for o in self._objects.get(kind, {}).values()]

    # --- Test controls --------------------------------------------------------------------------

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int | Literal["drop", "timeout"] = 500,
        stall: float = 0.0,
    ) -> None:
        """The next `times` API requests fail with `status` and an `api_error` body, or are
        dropped without a response when `status="drop"`; nothing is created for them.

        With `status="timeout"` the request is carried out (what it creates exists, and its
        idempotency key answers replays), but the answer never arrives: the connection is held
        `stall` seconds — longer than the client waits — and closed. Stripe under strain."""
        with self._lock:
            self._failures.extend([(status, stall)] * times)

    def tamper(self, kind: str, object_id: str, **fields: Any) -> None:
        """Change a stored object behind the API's back: what a retrieve then answers (a
        session or payment intent that does not match what the marketplace asked for)."""
        with self._lock:
            self._stored(kind, object_id).update(copy.deepcopy(fields))

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """The supplier finished onboarding: the account can take charges and payouts."""
        with self._lock:
            account = self._stored("account", account_id)
            account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            account["capabilities"] = {name: "active" for name in account["capabilities"]}
            return self.event("account.updated", account, account=account_id)

    def pay(self, session_id: str, *, declined: bool = False) -> list[dict[str, Any]]:
        """The buyer pays on the hosted page; returns the events Stripe would send, in order."""
        with self._lock:
            session = self._stored("checkout.session", session_id)
            if session["status"] != "open":
                raise ValueError(f"Checkout session {session_id} is {session['status']}")
            intent = self._session_intent(session)
            if declined:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                }
                return [
                    self.event(
                        "payment_intent.payment_failed", intent, account=session.get("_account")
                    )
                ]
            charge = self._store(
                "charge",
                "ch_",
                {
                    "object": "charge",
                    "amount": intent["amount"],
                    "currency": intent["currency"],
                    "status": "succeeded",
                    "paid": True,
                    "payment_intent": intent["id"],
                    "transfer_group": intent["transfer_group"],
                },
            )
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=charge["id"],
                last_payment_error=None,
            )
            session.update(status="complete", payment_status="paid", url=None)
            # A connected account's own sessions (direct charges) are told with its id.
            account = session.get("_account")
            events = [
                self.event("payment_intent.succeeded", intent, account=account),
                self.event("checkout.session.completed", session, account=account),
            ]
            destination = (intent.get("transfer_data") or {}).get("destination")
            if destination:
                amount = intent["transfer_data"].get("amount")
                if amount is None:
                    amount = intent["amount"] - (intent.get("application_fee_amount") or 0)
                transfer = self._store(
                    "transfer",
                    "tr_",
                    {
                        "object": "transfer",
                        "amount": amount,
                        "currency": intent["currency"],
                        "destination": destination,
                        "transfer_group": intent["transfer_group"],
                        "source_transaction": charge["id"],
                        "reversed": False,
                        "amount_reversed": 0,
                        "metadata": {},
                    },
                )
                events.append(self.event("transfer.created", transfer, account=account))
                self._arrive(transfer)
            return events

    def transfer(self, account_id: str, amount: int, *, transfer_group: str) -> str:
        """A transfer from the platform to a connected account (as a destination charge makes
        one), arrived in its balance; returns its id."""
        with self._lock:
            account = self._stored("account", account_id)
            transfer = self._store(
                "transfer",
                "tr_",
                {
                    "object": "transfer",
                    "amount": amount,
                    "currency": account["default_currency"],
                    "destination": account_id,
                    "transfer_group": transfer_group,
                    "reversed": False,
                    "amount_reversed": 0,
                    "metadata": {},
                },
            )
            self._arrive(transfer)
            return transfer["id"]

    def _arrive(self, transfer: dict[str, Any]) -> None:
        """On the connected account, a transfer arrives as a payment (py_…) with its balance
        transaction, which a later payout carries."""
        destination = transfer["destination"]
        arrived = self._store(
            "charge",
            "py_",
            {
                "object": "charge",
                "amount": transfer["amount"],
                "currency": transfer["currency"],
                "source_transfer": transfer["id"],
            },
        )
        arrived["_account"] = destination
        txn = self._store(
            "balance_transaction",
            "txn_",
            {
                "object": "balance_transaction",
                "type": "payment",
                "amount": transfer["amount"],
                "currency": transfer["currency"],
                "source": arrived["id"],
                "_payout": None,
            },
        )
        txn["_account"] = destination

    def expire(self, session_id: str) -> list[dict[str, Any]]:
        """The session timed out (Stripe does this after 24 hours)."""
        with self._lock:
            return [self._expire(self._stored("checkout.session", session_id))]

    def payout(
        self,
        account_id: str,
        amount: int,
        *,
        currency: str | None = None,
        transfers: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """A payout from the connected account's balance reached its bank. It carries the
        account's balance transactions not paid out yet — those of the given transfers only,
        when they are given."""
        with self._lock:
            account = self._stored("account", account_id)
            wanted = None if transfers is None else set(transfers)
            carried = [
                txn
                for txn in self._objects.get("balance_transaction", {}).values()
                if txn["_account"] == account_id
                and txn["_payout"] is None
                and (
                    wanted is None
                    or self._stored("charge", txn["source"])["source_transfer"] in wanted
                )
            ]
            payout = self._store(
                "payout",
                "po_",
                {
                    "object": "payout",
                    "amount": amount,
                    "currency": currency or account["default_currency"],
                    "status": "paid",
                    "arrival_date": _now(),
                    "method": "standard",
                    "type": "bank_account",
                    "metadata": {},
                },
            )
            payout["_account"] = account_id
            for txn in carried:
                txn["_payout"] = payout["id"]
            return self.event("payout.paid", payout, account=account_id)

    def event(
        self, type: str, obj: dict[str, Any], *, account: str | None = None
    ) -> dict[str, Any]:
        """An event dict with a snapshot of `obj`, as Stripe posts to a webhook endpoint."""
        event: dict[str, Any] = {
            "id": _new_id("evt_"),
            "object": "event",
            "type": type,
            "created": _now(),
            "api_version": API_VERSION,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": copy.deepcopy(self._public(obj))},
        }
        if account is not None:
            event["account"] = account
        with self._lock:
            self._events.append(copy.deepcopy(event))
        return event

    # --- Storage (callers hold the lock) --------------------------------------------------------

    def _store(self, kind: str, prefix: str, fields: dict[str, Any]) -> dict[str, Any]:
        obj = {"id": _new_id(prefix), "created": _now(), "livemode": False, **fields}
        if self._acting_for is not None:
            obj["_account"] = self._acting_for
        self._objects.setdefault(kind, {})[obj["id"]] = obj
        self._created[kind] += 1
        return obj

    def _stored(self, kind: str, object_id: str) -> dict[str, Any]:
        try:
            return self._objects.get(kind, {})[object_id]
        except KeyError:
            raise KeyError(f"No such {kind}: {object_id!r}") from None

    def _intent_create(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self._store(
            "payment_intent",
            "pi_",
            {
                "object": "payment_intent",
                "status": "requires_payment_method",
                "amount_received": 0,
                "latest_charge": None,
                "last_payment_error": None,
                **spec,
            },
        )

    def _session_intent(self, session: dict[str, Any]) -> dict[str, Any]:
        if session["payment_intent"] is None:
            intent = self._intent_create(session["_intent"])
            session["payment_intent"] = intent["id"]
        return self._stored("payment_intent", session["payment_intent"])

    def _expire(self, session: dict[str, Any]) -> dict[str, Any]:
        session.update(status="expired", url=None)
        intent_id = session["payment_intent"]
        if intent_id:
            intent = self._stored("payment_intent", intent_id)
            if intent["status"] == "requires_payment_method":
                intent["status"] = "canceled"
        return self.event("checkout.session.expired", session)

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    # --- HTTP -----------------------------------------------------------------------------------

    def _dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> _Response | None:
        parts = urlsplit(target)
        path = parts.path
        headers = {k.lower(): v for k, v in headers.items()}
        key = headers.get("idempotency-key")
        with self._lock:
            try:
                if "json" in headers.get("content-type", ""):
                    raise FormError("This fake speaks the v1 API (form bodies) only")
                params = parse_form(body if method == "POST" else parts.query)
            except (FormError, UnicodeDecodeError) as e:
                self._requests.append(RecordedRequest(method, path, {}, key))
                return self._error(_ApiError(400, str(e)))
            self._requests.append(RecordedRequest(method, path, params, key))
            if not path.startswith("/v1/"):
                return self._page(method, path)
            response = self._api(method, path, headers, params, key)
            if response is not None:
                response.headers.setdefault("Request-Id", _new_id("req_", 14))
            return response

    def _api(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        params: dict[str, Any],
        key: str | None,
    ) -> _Response | None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer sk_test_"):
            message = (
                "You did not provide an API key."
                if not auth
                else "Invalid API Key provided; the fake takes test keys (sk_test_...) only."
            )
            return self._error(_ApiError(401, message))
        if self._failures:
            failure, stall = self._failures.pop(0)
            if failure == "timeout":
                return replace(self._carry_out(method, path, params, key), stall=stall)
            if failure == "drop":
                return None
            return self._error(
                _ApiError(failure, "An injected failure (FakeStripe.fail_next).", type="api_error")
            )
        acting_for = headers.get("stripe-account") or None
        if acting_for is not None and acting_for not in self._objects.get("account", {}):
            return self._error(
                _ApiError(
                    403,
                    f"The provided key does not have access to account '{acting_for}' (or that "
                    "account does not exist).",
                    code="account_invalid",
                )
            )
        self._acting_for = acting_for
        try:
            return self._carry_out(method, path, params, key)
        finally:
            self._acting_for = None

    def _carry_out(
        self, method: str, path: str, params: dict[str, Any], key: str | None
    ) -> _Response:
        stored = self._idempotent.get((method, path, key)) if key and method == "POST" else None
        if stored is not None:
            first_params, first_response = stored
            if first_params != params:
                return self._error(
                    _ApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request.",
                        type="idempotency_error",
                    )
                )
            return _Response(
                first_response.status,
                first_response.body,
                first_response.content_type,
                {"Idempotent-Replayed": "true"},
            )
        response = self._route(method, path, params)
        if key and method == "POST" and 200 <= response.status < 300:
            self._idempotent[(method, path, key)] = (copy.deepcopy(params), response)
        return response

    def _route(self, method: str, path: str, params: dict[str, Any]) -> _Response:
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                try:
                    obj = handler(params, *(unquote(g) for g in match.groups()))
                except _ApiError as e:
                    return self._error(e)
                return _json(200, self._public(obj))
        return self._error(
            _ApiError(
                404, f"Unrecognized request URL ({method}: {path}).", type="invalid_request_error"
            )
        )

    @staticmethod
    def _error(error: _ApiError) -> _Response:
        return _json(error.status, {"error": error.error})

    def _page(self, method: str, path: str) -> _Response:
        match = re.fullmatch(r"/(onboarding|checkout)/([^/]+)", path)
        if method != "GET" or match is None:
            return _html(404, "Not found", "<p>The fake Stripe has no such page.</p>")
        kind, object_id = match.group(1), unquote(match.group(2))
        if kind == "onboarding":
            account = self._objects.get("account", {}).get(object_id)
            if account is None:
                return _html(404, "No such account", "")
            link = self._objects.get("account_link", {}).get(object_id, {})
            back = link.get("return_url")
            body = f"<p>Account {html.escape(object_id)} ({html.escape(account['email'] or '')})"
            body += "</p>" + (f"<a href='{html.escape(back)}'>Return</a>" if back else "")
            return _html(200, "Fake Stripe onboarding", body)
        session = self._objects.get("checkout.session", {}).get(object_id)
        if session is None:
            return _html(404, "No such checkout session", "")
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        body = f"<p>Pay {html.escape(amount)} ({html.escape(session['status'])})</p>"
        body += f"<a href='{html.escape(session['cancel_url'] or '')}'>Cancel</a>"
        return _html(200, "Fake Stripe Checkout", body)

    # --- Endpoints (called with the lock held) --------------------------------------------------

    def _account_create(self, params: dict[str, Any]) -> dict[str, Any]:
        account_type = params.get("type") or "standard"
        if account_type not in ("standard", "express", "custom"):
            raise _ApiError(
                400, f"Invalid type: {account_type}", code="parameter_invalid", param="type"
            )
        country = params.get("country") or "US"
        requested = _dict(params.get("capabilities"), "capabilities")
        return self._store(
            "account",
            "acct_",
            {
                "object": "account",
                "type": account_type,
                "country": country,
                "default_currency": _CURRENCIES.get(country, "usd"),
                "email": params.get("email"),
                "business_type": params.get("business_type"),
                "metadata": _dict(params.get("metadata"), "metadata"),
                "capabilities": {
                    name: "inactive"
                    for name, value in requested.items()
                    if isinstance(value, dict) and value.get("requested") == "true"
                },
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
            },
        )

    def _account_retrieve(self, params: dict[str, Any], account_id: str) -> dict[str, Any]:
        account = self._objects.get("account", {}).get(account_id)
        if account is None:
            raise _missing("account", account_id)
        return account

    def _account_link_create(self, params: dict[str, Any]) -> dict[str, Any]:
        account_id = _require(params, "account")
        link_type = _require(params, "type")
        if account_id not in self._objects.get("account", {}):
            raise _missing("account", account_id, status=400, param="account")
        created = _now()
        link = {
            "object": "account_link",
            "created": created,
            "expires_at": created + 300,
            "url": f"{self.url}/onboarding/{account_id}",
            "_type": link_type,
            "_refresh_url": params.get("refresh_url"),
            "return_url": params.get("return_url"),
        }
        # Links have no id on Stripe; the latest one per account is kept for the page.
        self._objects.setdefault("account_link", {})[account_id] = link
        self._created["account_link"] += 1
        return {k: v for k, v in link.items() if k in ("object", "created", "expires_at", "url")}

    def _session_create(self, params: dict[str, Any]) -> dict[str, Any]:
        mode = _require(params, "mode")
        if mode != "payment":
            raise _ApiError(
                400, "The fake supports mode=payment only.", code="parameter_invalid", param="mode"
            )
        success_url = _require(params, "success_url")
        items = _require(params, "line_items")
        if not isinstance(items, list):
            raise _ApiError(400, "Invalid array", code="parameter_invalid", param="line_items")
        total, currencies = 0, set()
        for index, item in enumerate(items):
            where = f"line_items[{index}]"
            item = _dict(item, where)
            if item.get("price"):
                raise _missing("price", item["price"], status=400, param=f"{where}[price]")
            price = _dict(_require(item, "price_data"), f"{where}[price_data]")
            currencies.add(str(_require(price, "currency")).lower())
            amount = _int(_require(price, "unit_amount"), f"{where}[price_data][unit_amount]")
            total += amount * _int(item.get("quantity", 1), f"{where}[quantity]")
        if len(currencies) != 1:
            raise _ApiError(400, "All line items must use the same currency.", param="line_items")
        currency = currencies.pop()
        intent_data = _dict(params.get("payment_intent_data"), "payment_intent_data")
        transfer_data = _dict(
            intent_data.get("transfer_data"), "payment_intent_data[transfer_data]"
        )
        destination = transfer_data.get("destination")
        if transfer_data and destination not in self._objects.get("account", {}):
            raise _missing(
                "destination",
                str(destination),
                status=400,
                param="payment_intent_data[transfer_data][destination]",
            )
        transfer = None
        if transfer_data:
            transfer = {"destination": destination}
            if transfer_data.get("amount") is not None:
                transfer["amount"] = _int(
                    transfer_data["amount"], "payment_intent_data[transfer_data][amount]"
                )
        fee = intent_data.get("application_fee_amount")
        intent_spec = {
            "amount": total,
            "currency": currency,
            "metadata": _dict(intent_data.get("metadata"), "payment_intent_data[metadata]"),
            "transfer_data": transfer,
            "transfer_group": intent_data.get("transfer_group"),
            "application_fee_amount": (
                None if fee is None else _int(fee, "payment_intent_data[application_fee_amount]")
            ),
        }
        session = self._store(
            "checkout.session",
            "cs_test_",
            {
                "object": "checkout.session",
                "mode": mode,
                "status": "open",
                "payment_status": "unpaid",
                "amount_subtotal": total,
                "amount_total": total,
                "currency": currency,
                "metadata": _dict(params.get("metadata"), "metadata"),
                "client_reference_id": params.get("client_reference_id"),
                "customer_email": params.get("customer_email"),
                "success_url": success_url,
                "cancel_url": params.get("cancel_url"),
                "payment_intent": None,
                "_intent": intent_spec,
            },
        )
        session["expires_at"] = session["created"] + 24 * 3600
        session["url"] = f"{self.url}/checkout/{session['id']}"
        if self.eager_payment_intent:
            session["payment_intent"] = self._intent_create(intent_spec)["id"]
        return session

    def _session_retrieve(self, params: dict[str, Any], session_id: str) -> dict[str, Any]:
        session = self._objects.get("checkout.session", {}).get(session_id)
        if session is None:
            raise _missing("checkout.session", session_id)
        return session

    def _session_expire(self, params: dict[str, Any], session_id: str) -> dict[str, Any]:
        session = self._session_retrieve(params, session_id)
        if session["status"] != "open":
            raise _ApiError(
                400,
                'Only Checkout Sessions with a status in ["open"] can be expired.',
                code="checkout_session_not_open",
            )
        self._expire(session)
        return session

    def _balance_transactions(self, params: dict[str, Any]) -> dict[str, Any]:
        """The acting account's balance transactions, filtered by payout and type as Stripe
        does; `expand` of data.source and data.source.source_transfer. One page."""
        expand = params.get("expand") or []
        expand = set(_listify(expand) if isinstance(expand, dict) else expand)
        found = []
        for txn in self._objects.get("balance_transaction", {}).values():
            if txn["_account"] != self._acting_for:
                continue
            if "payout" in params and txn["_payout"] != params["payout"]:
                continue
            if "type" in params and txn["type"] != params["type"]:
                continue
            shown = self._public(txn)
            if expand & {"data.source", "data.source.source_transfer"}:
                source = self._public(self._stored("charge", txn["source"]))
                if "data.source.source_transfer" in expand:
                    source["source_transfer"] = self._public(
                        self._stored("transfer", source["source_transfer"])
                    )
                shown["source"] = source
            found.append(shown)
        return {
            "object": "list",
            "url": "/v1/balance_transactions",
            "has_more": False,
            "data": found,
        }

    def _intent_retrieve(self, params: dict[str, Any], intent_id: str) -> dict[str, Any]:
        intent = self._objects.get("payment_intent", {}).get(intent_id)
        if intent is None:
            raise _missing("payment_intent", intent_id)
        return intent
