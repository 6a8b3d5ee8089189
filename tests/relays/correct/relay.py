#!/usr/bin/env python3
"""A correct Qonversion -> CleverTap relay that does things differently (stdlib only).

Every mode below is allowed by relay-contract.md, so every combination must pass
`qc-harness run --strict` and `qc-harness prop` (tests/harness/correct_relays.rs).

Configured by the environment of relay-contract.md (PORT, CLEVERTAP_API_URL, ...), plus
MODES, a comma-separated list of:

  workers    answer each webhook as soon as its record is queued; WORKERS (default 8)
             background threads upload, in parallel, so records may reach CleverTap in
             another order than the webhooks came. Retries until CleverTap takes the
             record (the queue is the relay's promise: nothing is lost).
  batch      (with workers) a worker uploads up to 500 queued records per request;
             without it, one record per request.
  pretty     upload JSON with other key orders (records and evtData keys reversed),
             indentation, spaces around separators and blank lines around the body.
  keepalive  upload over persistent HTTP/1.1 connections (one per thread); without it,
             every upload opens a new connection (Connection: close).
  close      answer webhooks with `Connection: close` and close the connection; without
             it, webhook connections are kept alive.
  headers    send extra harmless headers: User-Agent, X-Request-Id, Accept, Accept-Encoding
             on uploads; X-Relay-Version, Cache-Control on webhook answers.

UPLOAD_JITTER_MS=N (with workers) makes each upload wait a random 0..N ms first, so that
records overtake one another often (default 0).

Without `workers`, the relay is synchronous: it uploads one request per event and answers
the webhook after CleverTap took it, or 503 (so that Qonversion redelivers) when it could not.

MAPPING_BUG=<name> plants one mapping bug, for the harness's own tests of the fixtures and
variants that catch it (tests/harness/mapping_rules/broken.rs); the relay is then not correct:

  price-currency         currency = price.currency first (mapping.md: revenue.currency first)
  revenue-as-gross       gross = revenue.value first (mapping.md: price.value first)
  per-event-revenue-wins a per-event send_revenue overrides the global one (both must hold)
  empty-name-kept        a custom name "" is sent as evtName (it falls back to the machine name)
"""

import http.client
import json
import math
import os
import queue
import random
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = set(filter(None, os.environ.get("MODES", "").split(",")))
UNKNOWN = MODES - {"workers", "batch", "pretty", "keepalive", "close", "headers"}
if UNKNOWN:
    sys.exit(f"correct/relay.py: unknown MODES {sorted(UNKNOWN)}")
WORKERS = int(os.environ.get("WORKERS", "8"))
UPLOAD_JITTER = float(os.environ.get("UPLOAD_JITTER_MS", "0")) / 1000
BUG = os.environ.get("MAPPING_BUG", "")
if BUG not in ("", "price-currency", "revenue-as-gross", "per-event-revenue-wins", "empty-name-kept"):
    sys.exit(f"correct/relay.py: unknown MAPPING_BUG {BUG!r}")
BASE = urllib.parse.urlsplit(os.environ["CLEVERTAP_API_URL"])
UPLOAD_PATH = BASE.path.rstrip("/") + "/1/upload"
ACCOUNT = os.environ["CLEVERTAP_ACCOUNT_ID"]
PASSCODE = os.environ["CLEVERTAP_PASSCODE"]
TOKEN = os.environ["QONVERSION_WEBHOOK_TOKEN"]
with open(os.environ["RELAY_SETTINGS"]) as f:
    SETTINGS = json.load(f)

# qonversion-webhook.md: machine name -> carries revenue (the default per-event send_revenue).
CARRIES_REVENUE = {
    "trial_started": False, "trial_converted": True, "trial_canceled": False,
    "trial_billing_retry_entered": False, "trial_still_active": False, "trial_expired": False,
    "subscription_started": True, "subscription_renewed": True, "subscription_upgraded": True,
    "subscription_refunded": True, "subscription_canceled": False,
    "subscription_billing_retry_entered": False, "subscription_expired": False,
    "subscription_product_changed": False, "in_app_purchase": True, "in_app_refunded": True,
}
REFUNDS = {"subscription_refunded", "in_app_refunded"}
EARLY_KEYS = [("platform", "platform"), ("os_name", "platform"), ("ip", "ip"),
              ("product_id", "product_id"), ("quantity", "quantity")]
LATE_KEYS = ["country", "app_version", "device_id", "new_product_id", "old_product_id"]
MAX_IN_FLIGHT = 15  # relay-contract.md SHOULD 9
MAX_RECORD_ATTEMPTS = 3  # SHOULD 10: a record listed in `unprocessed` is tried at most 3 times
SYNC_ATTEMPTS = 6  # a synchronous relay gives up (503, Qonversion redelivers) after these

in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)
seen_lock = threading.Lock()
seen = set()
work = queue.Queue()
local = threading.local()


def log(text):
    print(text, file=sys.stderr, flush=True)


def empty(value):
    return value is None or value == "" or value == [] or value == {}


def own(name):
    return (SETTINGS.get("events") or {}).get(name) or {}


def as_text(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def round6(amount):
    scaled = amount * 1e6
    return math.copysign(math.floor(abs(scaled) + 0.5), scaled) / 1e6 + 0.0


def revenue(event, name):
    """(amount, currency) per mapping.md "Revenue", or None."""
    price, rev = event.get("price") or {}, event.get("revenue") or {}
    if price.get("value") is None and rev.get("value") is None:
        return None
    net = rev.get("is_proceed") in (1, True)
    gross = price.get("value")
    if BUG == "revenue-as-gross" and not net and rev.get("value") is not None:
        gross = rev.get("value")
    if gross is None and not net:
        gross = rev.get("value")
    if SETTINGS.get("send_proceeds", True):
        if net:
            amount = rev.get("value")
        else:
            rate = rev.get("proceeds_rate")
            amount = None if gross is None else gross * (70 if rate is None else rate) / 100
    else:
        amount = gross
    if amount is None:
        return None
    if name in REFUNDS:
        amount = -abs(amount)
    first, second = (price, rev) if BUG == "price-currency" else (rev, price)
    currency = first.get("currency") if not empty(first.get("currency")) else second.get("currency")
    return round6(amount), currency


def identity(event):
    for value in (event.get("custom_user_id"), (event.get("properties") or {}).get("_q_custom_user_id")):
        if isinstance(value, bool) or empty(value):
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)
    return None


def map_event(event):
    name = event.get("event_name")
    if name not in CARRIES_REVENUE or own(name).get("enabled", True) is False:
        return None
    if event.get("environment") != "production" and not SETTINGS.get("send_sandbox", False):
        return None
    ident = identity(event)
    if ident is None:
        return None
    data = {}
    for key, field in EARLY_KEYS:
        if not empty(event.get(field)):
            data[key] = event[field]
    tx = (event.get("transaction") or {}).get("transaction_id")
    if not empty(tx):
        data["transaction_id"] = as_text(tx)
    for key in LATE_KEYS:
        if not empty(event.get(key)):
            data[key] = event[key]
    wanted = own(name).get("send_revenue", CARRIES_REVENUE[name])
    if BUG == "per-event-revenue-wins" and "send_revenue" in own(name):
        globally = True  # the per-event switch alone decides
    else:
        globally = SETTINGS.get("send_revenue", True)
    if globally and wanted:
        money = revenue(event, name)
        if money is not None:
            data["revenue"] = money[0]
            if not empty(money[1]):
                data["currency"] = money[1]
    record = {"identity": ident}
    ts = event.get("time") if event.get("time") is not None else event.get("created_at")
    if ts is not None:
        record["ts"] = ts
    record["type"] = "event"
    custom = own(name).get("name")
    record["evtName"] = custom if BUG == "empty-name-kept" and custom is not None else (custom or name)
    record["evtData"] = data
    return record


def reordered(value):
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


def encode(records):
    if "pretty" in MODES:
        text = json.dumps(reordered({"d": records}), indent=3, separators=(" ,", " :  "), ensure_ascii=False)
        return ("\n\n  " + text + "\n\n").encode()
    return json.dumps({"d": records}, separators=(",", ":")).encode()


def upload_headers():
    headers = {"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": PASSCODE,
               "Content-Type": "application/json"}
    if "headers" in MODES:
        headers.update({"User-Agent": "qc-correct-relay/1.0 (+tests/relays/correct)",
                        "X-Request-Id": str(uuid.uuid4()), "Accept": "application/json",
                        "Accept-Encoding": "identity"})
    if "keepalive" not in MODES:
        headers["Connection"] = "close"
    return headers


def connection():
    """This thread's connection: kept between uploads with `keepalive`, else a new one."""
    conn = getattr(local, "conn", None) if "keepalive" in MODES else None
    if conn is None:
        conn = http.client.HTTPConnection(BASE.hostname, BASE.port or 80, timeout=10)
        if "keepalive" in MODES:
            local.conn = conn
    return conn


def forget_connection(conn):
    conn.close()
    if getattr(local, "conn", None) is conn:
        local.conn = None


def post(records):
    """One upload: (status or None when the connection failed, parsed answer, Retry-After seconds)."""
    body = encode(records)
    with in_flight:
        conn = connection()
        try:
            conn.request("POST", UPLOAD_PATH, body=body, headers=upload_headers())
            response = conn.getresponse()
            raw = response.read()
            retry_after = response.getheader("Retry-After")
            if "keepalive" not in MODES or response.will_close:
                forget_connection(conn)
        except (OSError, http.client.HTTPException) as e:
            forget_connection(conn)
            log(f"upload failed: {e!r}")
            return None, {}, None
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {}
    try:
        retry_after = float(retry_after) if retry_after else None
    except ValueError:
        retry_after = None
    return response.status, answer if isinstance(answer, dict) else {}, retry_after


def backoff(attempt, retry_after):
    if retry_after is not None:
        return min(retry_after, 30.0)
    return min(0.05 * 2 ** (attempt - 1), 2.0) * random.uniform(0.8, 1.0)


def unprocessed(sent, answer):
    out = []
    for entry in answer.get("unprocessed") or []:
        text = str(entry.get("error", "")) if isinstance(entry, dict) else ""
        marker = "Skipped record number : "
        if marker in text:
            try:
                out.append(sent[int(text.rsplit(marker, 1)[1].strip()) - 1])
                continue
            except (ValueError, IndexError):
                pass
        log(f"unprocessed record: {entry}")
    return out


def upload(records, max_attempts):
    """Uploads with retries; True when CleverTap took (or finally refused) every record."""
    tries = {id(r): 0 for r in records}
    pending = list(records)
    attempt = 0
    while max_attempts is None or attempt < max_attempts:
        attempt += 1
        for r in pending:
            tries[id(r)] += 1
        status, answer, retry_after = post(pending)
        if status == 200:
            pending = [r for r in unprocessed(pending, answer) if tries[id(r)] < MAX_RECORD_ATTEMPTS]
            if not pending:
                return True
        elif status is not None and status != 429 and status < 500:
            log(f"CleverTap refused the upload: HTTP {status}; dropping {len(pending)} record(s)")
            return True
        time.sleep(backoff(attempt, retry_after))
    return False


def worker():
    """Takes queued records (one, or up to 500 with `batch`) and uploads them until CleverTap has them."""
    while True:
        records = [work.get()]
        while "batch" in MODES and len(records) < 500:
            try:
                records.append(work.get_nowait())
            except queue.Empty:
                break
        if UPLOAD_JITTER:
            time.sleep(random.uniform(0, UPLOAD_JITTER))
        upload(records, None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, text):
        body = json.dumps({"status": text}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if "headers" in MODES:
            self.send_header("X-Relay-Version", "1.0")
            self.send_header("Cache-Control", "no-store")
        if "close" in MODES:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, "ok")

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        raw = self.rfile.read(length) if length > 0 else b""
        if self.headers.get("Authorization") != f"Basic {TOKEN}":
            return self.answer(401, "unauthorized")
        try:
            event = json.loads(raw)
        except ValueError:
            return self.answer(400, "the body is not JSON")
        if not isinstance(event, dict):
            return self.answer(400, "the body is not a JSON object")
        record = map_event(event)
        if record is None:
            return self.answer(200, "not forwarded")
        key = json.dumps([event.get("event_name"), event.get("user_id"),
                          (event.get("transaction") or {}).get("transaction_id"), event.get("time")])
        with seen_lock:
            if key in seen:
                return self.answer(200, "duplicate")
            seen.add(key)
        if "workers" in MODES:
            work.put(record)
            return self.answer(200, "queued")
        if upload([record], SYNC_ATTEMPTS):
            return self.answer(200, "uploaded")
        with seen_lock:
            seen.discard(key)
        return self.answer(503, "CleverTap unavailable, redeliver later")


if __name__ == "__main__":
    if "workers" in MODES:
        for _ in range(WORKERS):
            threading.Thread(target=worker, daemon=True).start()
    ThreadingHTTPServer.request_queue_size = 2048
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    server.daemon_threads = True
    log(f"correct/relay.py listening on {os.environ['PORT']} (MODES={sorted(MODES)})")
    server.serve_forever()
