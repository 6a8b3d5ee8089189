#!/usr/bin/env python3
"""A Qonversion -> CleverTap relay in plain Python (standard library only, Python 3.11+).

It receives Qonversion webhooks and uploads one CleverTap event per forwarded webhook,
following the qc-harness relay contract. Copy it, change what you need, and check your
copy with:

    qc-harness run --strict --relay-cmd "python3 relay.py"

Configuration (environment; qc-harness sets all of these):

    PORT                      port to listen on, on 127.0.0.1 (HOST overrides the address)
    CLEVERTAP_API_URL         base URL; default https://<region>.api.clevertap.com
    CLEVERTAP_ACCOUNT_ID      sent as X-CleverTap-Account-Id
    CLEVERTAP_PASSCODE        sent as X-CleverTap-Passcode
    CLEVERTAP_REGION          eu1, in1, sg1, us1, aps3, mec1, sk1 (default eu1)
    QONVERSION_WEBHOOK_TOKEN  Qonversion sends "Authorization: Basic <token>" (raw, not base64)
    RELAY_SETTINGS            path of the integration settings JSON (optional: defaults)
    WEBHOOK_PATH              path webhooks are POSTed to (default /webhook)

What it does, in the order a webhook meets it:

1. Auth: a missing or wrong token is answered 401, nothing is uploaded.
2. Body: not JSON, or not a JSON object, is answered 400.
3. Mapping (qc-harness's mapping.md): unknown, disabled, sandbox (unless send_sandbox),
   identity-less events and subscription_downgraded are answered 200 and not uploaded.
4. Deduplication: a redelivered webhook (same event_name, user_id, transaction id, time)
   that was already uploaded is answered 200 and not uploaded again.
5. Upload: POST $CLEVERTAP_API_URL/1/upload, at most 15 uploads in flight, retried with
   exponential backoff on 429, 5xx and connection errors (Retry-After honoured). When it
   gives up, the webhook is answered 503 so that Qonversion redelivers it later.
   A record CleverTap lists in `unprocessed` is tried at most 3 times in total.
"""

from __future__ import annotations

import email.utils
import hmac
import json
import math
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# --- Tunables -------------------------------------------------------------------------

MAX_UPLOADS_IN_FLIGHT = 15  # CleverTap answers 429 above 15 concurrent requests per account
MAX_TRANSPORT_ATTEMPTS = 5  # per upload, for 429 / 5xx / connection errors
MAX_RECORD_ATTEMPTS = 3  # per record that CleverTap lists in `unprocessed`
BACKOFF_BASE = 0.25  # seconds before the first retry
BACKOFF_FACTOR = 3  # each retry waits 3x longer: 0.25, 0.75, 2.25, 4 (cap): 7.25 s in all,
BACKOFF_MAX = 4.0  # so the webhook is answered before Qonversion's 10 s timeout
MAX_RETRY_AFTER = 10.0  # a longer Retry-After: give up now, let Qonversion redeliver later
UPLOAD_TIMEOUT = 15.0  # seconds per upload request
DEDUP_CAPACITY = 100_000  # remembered deliveries (oldest forgotten first)

# --- The event catalogue (qonversion-webhook.md) ----------------------------------------

# machine name -> (carries revenue, is a refund)
EVENTS = {
    "trial_started": (False, False),
    "trial_converted": (True, False),
    "trial_canceled": (False, False),
    "trial_billing_retry_entered": (False, False),
    "trial_still_active": (False, False),
    "trial_expired": (False, False),
    "subscription_started": (True, False),
    "subscription_renewed": (True, False),
    "subscription_upgraded": (True, False),
    "subscription_refunded": (True, True),
    "subscription_canceled": (False, False),
    "subscription_billing_retry_entered": (False, False),
    "subscription_expired": (False, False),
    "subscription_product_changed": (False, False),
    "subscription_downgraded": (False, False),  # known, but never forwarded
    "in_app_purchase": (True, False),
    "in_app_refunded": (True, True),
}
NEVER_FORWARDED = {"subscription_downgraded"}
DEFAULT_PROCEEDS_RATE = 70.0


def log(message: str) -> None:
    print(f"relay: {message}", file=sys.stderr, flush=True)


# --- Mapping: webhook event -> CleverTap record (mapping.md) ----------------------------


def is_empty(value) -> bool:
    """null, "", [] and {} are empty; 0 and false are values."""
    return value is None or value == "" or value == [] or value == {}


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def as_object(value) -> dict:
    return value if isinstance(value, dict) else {}


def event_settings(settings: dict, name: str) -> dict:
    return as_object(as_object(settings.get("events")).get(name))


def skip_reason(event: dict, settings: dict) -> str | None:
    """Why the event is not forwarded, or None when it is."""
    name = event.get("event_name")
    if not isinstance(name, str) or name not in EVENTS:
        return "unknown event"
    if name in NEVER_FORWARDED:
        return "never forwarded"
    if event_settings(settings, name).get("enabled") is False:
        return "disabled in settings"
    if event.get("environment") != "production" and settings.get("send_sandbox") is not True:
        return "sandbox event"
    if identity(event) is None:
        return "no identity"
    return None


def identity(event: dict) -> str | None:
    """custom_user_id, else properties._q_custom_user_id."""
    custom = event.get("custom_user_id")
    if isinstance(custom, str) and custom:
        return custom
    fallback = as_object(event.get("properties")).get("_q_custom_user_id")
    if isinstance(fallback, str) and fallback:
        return fallback
    if is_number(fallback):
        return str(fallback)
    return None


def timestamp(event: dict) -> int | None:
    """time, or created_at when time is null."""
    for key in ("time", "created_at"):
        if is_integer(event.get(key)):
            return event[key]
    return None


def round6(amount: float) -> float:
    """Round half away from zero to 6 decimals (no float noise such as 6.992999999999999)."""
    scaled = abs(amount) * 1e6
    if not math.isfinite(scaled):
        return amount
    whole = math.floor(scaled)
    if scaled - whole >= 0.5:
        whole += 1
    rounded = math.copysign(whole / 1e6, amount)
    return 0.0 if rounded == 0 else rounded


def gross(revenue: dict, price: dict) -> float | None:
    """price.value, else revenue.value when it is not net of commission."""
    if is_number(price.get("value")):
        return float(price["value"])
    if revenue.get("is_proceed") != 1 and is_number(revenue.get("value")):
        return float(revenue["value"])
    return None


def proceeds(revenue: dict, price: dict) -> float | None:
    """revenue.value when it is net (is_proceed 1), else gross x proceeds_rate / 100."""
    if revenue.get("is_proceed") == 1 and is_number(revenue.get("value")):
        return float(revenue["value"])
    rate = revenue.get("proceeds_rate")
    rate = float(rate) if is_number(rate) else DEFAULT_PROCEEDS_RATE
    amount = gross(revenue, price)
    return None if amount is None else amount * rate / 100.0


def revenue_fields(event: dict, settings: dict, name: str) -> dict:
    """{"revenue", "currency"} when revenue is sent for this event, else {}."""
    carries_revenue, is_refund = EVENTS[name]
    per_event = event_settings(settings, name).get("send_revenue")
    if settings.get("send_revenue") is False:
        return {}
    if not (per_event if isinstance(per_event, bool) else carries_revenue):
        return {}
    revenue, price = as_object(event.get("revenue")), as_object(event.get("price"))
    send_proceeds = settings.get("send_proceeds") is not False
    amount = proceeds(revenue, price) if send_proceeds else gross(revenue, price)
    if amount is None:
        return {}
    if is_refund:
        amount = -abs(amount)
    fields = {"revenue": round6(amount)}
    for currency in (revenue.get("currency"), price.get("currency")):
        if isinstance(currency, str) and currency:
            fields["currency"] = currency
            break
    return fields


def evt_data(event: dict, settings: dict, name: str) -> dict:
    transaction_id = as_object(event.get("transaction")).get("transaction_id")
    if is_number(transaction_id):
        transaction_id = str(transaction_id)  # older payloads send numbers
    quantity = event.get("quantity")
    candidates = {
        "platform": event.get("platform"),
        "os_name": event.get("platform"),
        "ip": event.get("ip"),
        "product_id": event.get("product_id"),
        "quantity": quantity if is_number(quantity) else None,
        "transaction_id": transaction_id,
        "country": event.get("country"),
        "app_version": event.get("app_version"),
        "device_id": event.get("device_id"),
        "new_product_id": event.get("new_product_id"),
        "old_product_id": event.get("old_product_id"),
    }
    data = {key: value for key, value in candidates.items() if not is_empty(value)}
    data.update(revenue_fields(event, settings, name))
    return data


def to_record(event: dict, settings: dict) -> dict:
    """The CleverTap event record for a forwarded webhook event."""
    name = event["event_name"]
    custom_name = event_settings(settings, name).get("name")
    record = {"identity": identity(event)}
    ts = timestamp(event)
    if ts is not None:
        record["ts"] = ts
    record["type"] = "event"
    record["evtName"] = custom_name if isinstance(custom_name, str) and custom_name else name
    record["evtData"] = evt_data(event, settings, name)
    return record


def dedup_key(event: dict) -> str:
    """Qonversion resends the same body on retries: this identifies a delivery."""
    transaction = as_object(event.get("transaction"))
    # A null time (detection-time events) falls back to created_at, so that two different
    # events of the same user and transaction are not taken for one.
    when = event.get("time") if event.get("time") is not None else event.get("created_at")
    parts = [event.get("event_name"), event.get("user_id"), transaction.get("transaction_id"), when]
    return json.dumps(parts)


# --- Deduplication ---------------------------------------------------------------------


class Deliveries:
    """Remembers uploaded deliveries; serialises concurrent deliveries of the same event."""

    def __init__(self, capacity: int = DEDUP_CAPACITY):
        self._lock = threading.Lock()
        self._done: OrderedDict[str, None] = OrderedDict()
        self._busy: dict[str, list] = {}  # key -> [lock, users]
        self._capacity = capacity

    @contextmanager
    def exclusive(self, key: str):
        with self._lock:
            entry = self._busy.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        with entry[0]:
            try:
                yield
            finally:
                with self._lock:
                    entry[1] -= 1
                    if entry[1] == 0:
                        del self._busy[key]

    def is_done(self, key: str) -> bool:
        with self._lock:
            return key in self._done

    def mark_done(self, key: str) -> None:
        with self._lock:
            self._done[key] = None
            while len(self._done) > self._capacity:
                self._done.popitem(last=False)


# --- Upload to CleverTap (clevertap-upload.md) ------------------------------------------


class GiveUp(Exception):
    """The upload did not succeed; the webhook is answered 503 so Qonversion redelivers."""


class Rejected(Exception):
    """CleverTap kept the record in `unprocessed` MAX_RECORD_ATTEMPTS times."""


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    return min(BACKOFF_BASE * BACKOFF_FACTOR ** (attempt - 1), BACKOFF_MAX)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class CleverTap:
    def __init__(self, base_url: str, account_id: str, passcode: str, stopping: threading.Event):
        self.url = base_url.rstrip("/") + "/1/upload"
        self.headers = {
            "X-CleverTap-Account-Id": account_id,
            "X-CleverTap-Passcode": passcode,
            "Content-Type": "application/json",
        }
        self.in_flight = threading.BoundedSemaphore(MAX_UPLOADS_IN_FLIGHT)
        self.stopping = stopping

    def upload(self, record: dict) -> None:
        """Uploads one record; raises GiveUp or Rejected."""
        for attempt in range(1, MAX_RECORD_ATTEMPTS + 1):
            answer = self._post_with_retries({"d": [record]})
            unprocessed = answer.get("unprocessed") or []
            if not unprocessed:
                return
            log(f"record unprocessed (attempt {attempt}/{MAX_RECORD_ATTEMPTS}): {unprocessed[0]}")
            if attempt < MAX_RECORD_ATTEMPTS:
                self._sleep(backoff(attempt))
        raise Rejected(json.dumps(unprocessed[0]))

    def _post_with_retries(self, body: dict) -> dict:
        data = json.dumps(body).encode()
        for attempt in range(1, MAX_TRANSPORT_ATTEMPTS + 1):
            status, retry_after, text = self._post(data)
            if 200 <= status < 300:
                try:
                    answer = json.loads(text)
                except ValueError:
                    answer = None
                return answer if isinstance(answer, dict) else {}
            if status not in (0, 429) and status < 500:
                raise GiveUp(f"CleverTap answered {status}: {text[:200]}")
            what = "connection error" if status == 0 else f"HTTP {status}"
            if attempt == MAX_TRANSPORT_ATTEMPTS:
                raise GiveUp(f"{what} after {attempt} attempts: {text[:200]}")
            delay = backoff(attempt)
            if retry_after is not None:
                if retry_after > MAX_RETRY_AFTER:
                    raise GiveUp(f"{what} with Retry-After {retry_after:.0f}s")
                delay = max(delay, retry_after)
            log(f"upload attempt {attempt} failed ({what}); retrying in {delay:.2f}s")
            self._sleep(delay)
        raise GiveUp("unreachable")

    def _post(self, data: bytes) -> tuple[int, float | None, str]:
        """One POST; (status, Retry-After seconds, body). Status 0 = no HTTP answer."""
        request = urllib.request.Request(self.url, data=data, headers=self.headers, method="POST")
        with self.in_flight:
            try:
                with urllib.request.urlopen(request, timeout=UPLOAD_TIMEOUT) as response:
                    return response.status, None, response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as error:
                text = error.read().decode("utf-8", "replace")
                return error.code, retry_after_seconds(error.headers.get("Retry-After")), text
            except (OSError, urllib.error.URLError) as error:  # refused, reset, timeout
                return 0, None, str(error)

    def _sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise GiveUp("shutting down")


# --- The webhook server -----------------------------------------------------------------


class Relay:
    def __init__(self, token: str, settings: dict, clevertap: CleverTap, webhook_path: str):
        self.token = token
        self.settings = settings
        self.clevertap = clevertap
        self.webhook_path = webhook_path
        self.deliveries = Deliveries()

    def authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        expected = self.token.encode()
        return scheme.lower() == "basic" and hmac.compare_digest(token.strip().encode(), expected)

    def handle(self, authorization: str | None, body: bytes) -> tuple[int, dict]:
        """One webhook: (HTTP status, JSON answer)."""
        if not self.authorized(authorization):
            return 401, {"error": "missing or wrong Authorization token"}
        try:
            event = json.loads(body, parse_constant=reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            return 400, {"error": f"body is not JSON: {error}"}
        if not isinstance(event, dict):
            return 400, {"error": "body is not a JSON object"}
        reason = skip_reason(event, self.settings)
        if reason is not None:
            log(f"skipped {event.get('event_name')!r}: {reason}")
            return 200, {"status": "skipped", "reason": reason}
        return self.forward(event)

    def forward(self, event: dict) -> tuple[int, dict]:
        key = dedup_key(event)
        with self.deliveries.exclusive(key):
            if self.deliveries.is_done(key):
                log(f"duplicate {event['event_name']!r} ignored")
                return 200, {"status": "duplicate"}
            record = to_record(event, self.settings)
            try:
                self.clevertap.upload(record)
            except GiveUp as error:
                log(f"upload of {event['event_name']!r} failed, asking for redelivery: {error}")
                return 503, {"error": f"upload to CleverTap failed: {error}"}
            except Rejected as error:
                log(f"CleverTap rejected {event['event_name']!r}, dropped: {error}")
                self.deliveries.mark_done(key)  # do not try it again on redelivery
                return 200, {"status": "rejected by CleverTap"}
            self.deliveries.mark_done(key)
            log(f"uploaded {record['evtName']!r} for {record['identity']!r}")
            return 200, {"status": "uploaded"}


def reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def make_handler(relay: Relay):
    class WebhookHandler(BaseHTTPRequestHandler):
        server_version = "example-python-relay"

        def do_POST(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self.answer(411, {"error": "send a Content-Length"})
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.split("?")[0] != relay.webhook_path:
                return self.answer(404, {"error": f"webhooks go to {relay.webhook_path}"})
            self.answer(*relay.handle(self.headers.get("Authorization"), body))

        def do_GET(self):  # readiness probe: any path
            self.answer(200, {"status": "ok"})

        def answer(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                log(f"{self.command} {self.path}: the sender hung up before the answer ({status})")

        def log_request(self, code="-", size="-"):  # one line per request on stderr
            log(f"{self.command} {self.path} -> {code}")

        def log_message(self, format, *args):
            log(format % args)

    return WebhookHandler


class WebhookServer(ThreadingHTTPServer):
    request_queue_size = 1024  # the default (5) drops connections when webhooks come in bursts
    daemon_threads = False  # let in-flight webhooks finish on shutdown


# --- Start-up and shutdown --------------------------------------------------------------


def required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"relay: environment variable {name} is required")
    return value


def load_settings(path: str | None) -> dict:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as file:
            settings = json.load(file)
    except (OSError, ValueError) as error:
        sys.exit(f"relay: cannot read settings {path}: {error}")
    if not isinstance(settings, dict):
        sys.exit(f"relay: settings {path}: not a JSON object")
    return settings


def main() -> None:
    port = required_env("PORT")
    if not port.isdigit():
        sys.exit(f"relay: PORT must be a number, got {port!r}")
    region = os.environ.get("CLEVERTAP_REGION") or "eu1"
    base_url = os.environ.get("CLEVERTAP_API_URL") or f"https://{region}.api.clevertap.com"
    stopping = threading.Event()
    clevertap = CleverTap(
        base_url, required_env("CLEVERTAP_ACCOUNT_ID"), required_env("CLEVERTAP_PASSCODE"), stopping
    )
    relay = Relay(
        required_env("QONVERSION_WEBHOOK_TOKEN"),
        load_settings(os.environ.get("RELAY_SETTINGS")),
        clevertap,
        os.environ.get("WEBHOOK_PATH") or "/webhook",
    )
    host = os.environ.get("HOST") or "127.0.0.1"
    try:
        server = WebhookServer((host, int(port)), make_handler(relay))
    except OSError as error:
        sys.exit(f"relay: cannot listen on {host}:{port}: {error}")

    def on_signal(signum, _frame):
        log(f"signal {signum}: finishing in-flight webhooks, then exiting")
        stopping.set()  # retries in backoff give up (answer 503) instead of waiting
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log(f"listening on http://{host}:{port}{relay.webhook_path}, uploading to {clevertap.url}")
    server.serve_forever()
    server.server_close()  # waits for the handler threads
    log("stopped")


if __name__ == "__main__":
    main()
