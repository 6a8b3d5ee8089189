#!/usr/bin/env python3
"""A Qonversion -> CleverTap relay in plain Python (stdlib only), for the harness's own tests.

Configured by the environment of relay-contract.md (PORT, CLEVERTAP_API_URL, ...), plus:

  BATCH=1        queue records and upload them in batches (up to 1000 per request) from a
                 background flusher that uploads one batch at a time and retries it until
                 CleverTap takes it (a durable queue); webhooks are answered as soon as the
                 record is queued.
  FLUSH_MS=N     how often the flusher runs (default 30).
  BREAK=<mode>   break one rule of the contract on purpose (comma-separated for several):
    ignore-token        accept webhooks without or with a wrong token      (auth.*)
    leak-sandbox        forward sandbox events whatever send_sandbox says   (event.sandbox, mapping)
    gross-always        send gross revenue even when send_proceeds is true  (mapping)
    lose-on-429         give up after a 429 and still answer 200            (upstream.429)
    no-retry            give up after a 429 or 5xx (or no answer), answer 200 (upstream.429, .5xx)
    no-dedup            upload a redelivered webhook again                  (delivery.redelivery)
    no-400              answer 200 to a body that is not JSON               (body.malformed)
    forward-downgraded  forward subscription_downgraded                     (event.downgraded)
    forward-unknown     forward unknown event names                         (event.unknown)
    forward-disabled    ignore the per-event enabled switch                 (event.disabled, mapping)
    no-concurrency-limit  upload with no bound on requests in flight        (upstream.concurrency)
    no-batch-limit      (with BATCH=1) put every queued record in one request (upstream.batch-limit)
    retry-forever       retry records CleverTap lists as unprocessed, forever (upstream.partial)
    no-backoff          retry at once, without waiting                      (upstream.backoff)
    ignore-retry-after  retry after the usual backoff, ignoring Retry-After (upstream.retry-after)
    wrong-content-type  upload with Content-Type: text/plain                (upstream.headers)
    extra-key           add evtData.sandbox to every record                 (mapping)
    ms-timestamp        send ts in milliseconds                             (mapping; CleverTap 525)
    double-upload       upload every record twice                           (mapping: duplicates)
    wrong-identity      use the Qonversion user_id as the identity           (mapping: unattributed records)
    crash-on-bad-body   exit when a body is not JSON                        (body.malformed: relay died)
    token-prefix        accept any Authorization that starts with the token  (auth.wrong-token)
    token-any-case      compare the token ignoring letter case             (auth.wrong-token)
    auth-after-filter   check the token only on events it forwards         (auth.*)
    empty-200           answer 200 to an empty body                         (body.empty)
    three-attempts      give up after 3 upload attempts and answer 200 (with BATCH=1: drop
                        the batch in the background)                        (delivery.outage)
    seen-before-upload  remember a webhook as seen even when its upload failed, so that the
                        redelivery is taken for a duplicate                 (delivery.outage)
    retry-content-type  send retries with Content-Type: text/plain          (upstream.headers)
    dedup-without-time  leave `time` out of the dedupe key                  (delivery.distinct-events)
    seen-after-upload   remember a webhook only once uploaded, so that a redelivery arriving
                        meanwhile is uploaded again                         (delivery.concurrent-redelivery)
    no-backoff-429      retry at once after a 429 without Retry-After       (upstream.backoff-429)
    no-backoff-drop     retry at once after a dropped connection            (upstream.backoff-drop)
    retry-forever-slowly  re-send an unprocessed record every 1.2 s, forever, in the background
                                                                            (upstream.partial)
    leak-secrets        print the passcode and token, and upload them in evtData.debug (redaction)
"""

import json
import math
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BREAK = set(filter(None, os.environ.get("BREAK", "").split(",")))
BATCH = os.environ.get("BATCH") == "1"
FLUSH_MS = float(os.environ.get("FLUSH_MS", "30"))
URL = os.environ["CLEVERTAP_API_URL"].rstrip("/") + "/1/upload"
ACCOUNT = os.environ["CLEVERTAP_ACCOUNT_ID"]
PASSCODE = os.environ["CLEVERTAP_PASSCODE"]
TOKEN = os.environ["QONVERSION_WEBHOOK_TOKEN"]
with open(os.environ["RELAY_SETTINGS"]) as f:
    SETTINGS = json.load(f)

CARRIES_REVENUE = {
    "trial_started": False, "trial_converted": True, "trial_canceled": False,
    "trial_billing_retry_entered": False, "trial_still_active": False, "trial_expired": False,
    "subscription_started": True, "subscription_renewed": True, "subscription_upgraded": True,
    "subscription_refunded": True, "subscription_canceled": False,
    "subscription_billing_retry_entered": False, "subscription_expired": False,
    "subscription_product_changed": False, "subscription_downgraded": False,
    "in_app_purchase": True, "in_app_refunded": True,
}
REFUNDS = {"subscription_refunded", "in_app_refunded"}
TEXT_KEYS = [("platform", "platform"), ("os_name", "platform"), ("ip", "ip"), ("product_id", "product_id")]
LATE_KEYS = ["country", "app_version", "device_id", "new_product_id", "old_product_id"]

in_flight = threading.BoundedSemaphore(1_000_000 if "no-concurrency-limit" in BREAK else 15)
seen_lock = threading.Lock()
seen = set()
queue_lock = threading.Lock()
queue = []


def log(text):
    print(text, file=sys.stderr, flush=True)


def empty(value):
    return value is None or value == "" or value == [] or value == {}


def event_settings(name):
    return SETTINGS.get("events", {}).get(name, {})


def round6(amount):
    scaled = amount * 1e6
    return math.copysign(math.floor(abs(scaled) + 0.5), scaled) / 1e6 + 0.0


def revenue(event, name):
    price, rev = event.get("price") or {}, event.get("revenue") or {}
    if price.get("value") is None and rev.get("value") is None:
        return None
    is_proceed = rev.get("is_proceed") or 0
    gross = price.get("value")
    if gross is None and is_proceed != 1:
        gross = rev.get("value")
    if SETTINGS.get("send_proceeds", True) and "gross-always" not in BREAK:
        if is_proceed == 1 and rev.get("value") is not None:
            amount = rev["value"]
        elif gross is not None:
            rate = rev.get("proceeds_rate")
            amount = gross * (70 if rate is None else rate) / 100
        else:
            return None
    else:
        amount = gross
    if amount is None:
        return None
    if name in REFUNDS:
        amount = -abs(amount)
    currency = next((c for c in (rev.get("currency"), price.get("currency")) if c), None)
    return round6(amount), currency


def identity(event):
    if "wrong-identity" in BREAK and event.get("user_id"):
        return event["user_id"]
    uid = event.get("custom_user_id")
    if isinstance(uid, str) and uid:
        return uid
    fallback = (event.get("properties") or {}).get("_q_custom_user_id")
    if isinstance(fallback, str) and fallback:
        return fallback
    if isinstance(fallback, (int, float)) and not isinstance(fallback, bool):
        return str(fallback)
    return None


def forwarded(event, name):
    if name not in CARRIES_REVENUE:
        return "forward-unknown" in BREAK
    if name == "subscription_downgraded" and "forward-downgraded" not in BREAK:
        return False
    if not event_settings(name).get("enabled", True) and "forward-disabled" not in BREAK:
        return False
    sandbox_ok = SETTINGS.get("send_sandbox", False) or "leak-sandbox" in BREAK
    return event.get("environment") == "production" or sandbox_ok


def map_event(event):
    name = event.get("event_name")
    if not isinstance(name, str) or not forwarded(event, name):
        return None
    ident = identity(event)
    if ident is None:
        return None
    data = {}
    for key, field in TEXT_KEYS:
        if not empty(event.get(field)):
            data[key] = event[field]
    if not empty(event.get("quantity")):
        data["quantity"] = event["quantity"]
    tx = (event.get("transaction") or {}).get("transaction_id")
    if not empty(tx):
        data["transaction_id"] = tx if isinstance(tx, str) else json.dumps(tx)
    for key in LATE_KEYS:
        if not empty(event.get(key)):
            data[key] = event[key]
    wants_revenue = event_settings(name).get("send_revenue", CARRIES_REVENUE.get(name, False))
    if SETTINGS.get("send_revenue", True) and wants_revenue:
        value = revenue(event, name)
        if value is not None:
            data["revenue"] = value[0]
            if value[1]:
                data["currency"] = value[1]
    if "extra-key" in BREAK:
        data["sandbox"] = False
    if "leak-secrets" in BREAK:
        data["debug"] = f"passcode={PASSCODE} token={TOKEN}"
    record = {"identity": ident, "type": "event", "evtName": event_settings(name).get("name") or name, "evtData": data}
    ts = event.get("time") if event.get("time") is not None else event.get("created_at")
    if ts is not None:
        record["ts"] = ts * 1000 if "ms-timestamp" in BREAK else ts
    return record


def post(records, attempt=1):
    """One upload request: (status or None, parsed answer, retry_after seconds or None)."""
    body = json.dumps({"d": records}).encode()
    wrong_type = "wrong-content-type" in BREAK or ("retry-content-type" in BREAK and attempt > 1)
    content_type = "text/plain" if wrong_type else "application/json"
    request = urllib.request.Request(URL, data=body, method="POST", headers={
        "X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": PASSCODE, "Content-Type": content_type})
    with in_flight:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}"), None
        except urllib.error.HTTPError as e:
            retry_after = e.headers.get("Retry-After")
            return e.code, {}, float(retry_after) if retry_after else None
        except Exception as e:  # connection dropped, refused, timed out
            log(f"upload failed: {e}")
            return None, {}, None


def delay_for(attempt, retry_after, status):
    if "no-backoff" in BREAK:
        return 0
    if "no-backoff-429" in BREAK and status == 429 and retry_after is None:
        return 0
    if "no-backoff-drop" in BREAK and status is None:
        return 0
    if retry_after is not None and "ignore-retry-after" not in BREAK:
        return retry_after
    delay = 0.05 * (2 ** (attempt - 1)) * random.uniform(0.8, 1.0)
    return min(delay, 1.0) if BATCH else delay


def max_attempts():
    """Upload attempts before giving up: a batch (the durable queue) is retried until it lands."""
    if "three-attempts" in BREAK:
        return 3
    return None if BATCH else 7


def resend_forever(records):
    while True:
        time.sleep(1.2)
        post(records)


def upload(records):
    """Uploads records with retries; returns True when every record was processed or given up."""
    attempts = {id(r): 0 for r in records}
    pending = list(records)
    attempt = 0
    while True:
        attempt += 1
        for r in pending:
            attempts[id(r)] += 1
        status, answer, retry_after = post(pending, attempt)
        if status == 200:
            failed = unprocessed_records(pending, answer)
            if failed and "retry-forever-slowly" in BREAK:
                threading.Thread(target=resend_forever, args=(failed,), daemon=True).start()
                return True
            limit = 10_000 if "retry-forever" in BREAK else 3
            pending = [r for r in failed if attempts[id(r)] < limit]
            if not pending:
                return True
        elif status == 429 and "lose-on-429" in BREAK:
            log("429 from CleverTap: dropping the records")
            return True
        elif "no-retry" in BREAK:
            log(f"CleverTap answered {status}: dropping the records")
            return True
        elif status is not None and status not in (429,) and status < 500:
            log(f"CleverTap refused the upload: HTTP {status}")
            return True
        if max_attempts() is not None and attempt >= max_attempts():
            log(f"giving up after {attempt} attempts")
            return "three-attempts" in BREAK
        time.sleep(delay_for(attempt, retry_after, status))


def unprocessed_records(sent, answer):
    out = []
    for entry in answer.get("unprocessed", []) or []:
        text = entry.get("error", "")
        marker = "Skipped record number : "
        if marker in text:
            try:
                out.append(sent[int(text.rsplit(marker, 1)[1].strip()) - 1])
                continue
            except (ValueError, IndexError):
                pass
        log(f"unprocessed record: {entry}")
    return out


def flusher():
    while True:
        time.sleep(FLUSH_MS / 1000)
        with queue_lock:
            limit = len(queue) if "no-batch-limit" in BREAK else 1000
            batch, queue[:] = queue[:limit], queue[limit:]
        if batch:
            upload(batch)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, text):
        body = json.dumps({"status": text}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, "ok")

    def authorized(self):
        given, expected = self.headers.get("Authorization"), f"Basic {TOKEN}"
        if "ignore-token" in BREAK:
            return True
        if given is None:
            return False
        if "token-prefix" in BREAK:
            return given.startswith(expected)
        if "token-any-case" in BREAK:
            return given.lower() == expected.lower()
        return given == expected

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        late_auth = "auth-after-filter" in BREAK
        if not late_auth and not self.authorized():
            return self.answer(401, "unauthorized")
        if not raw and "empty-200" in BREAK:
            return self.answer(200, "empty")
        try:
            event = json.loads(raw)
        except ValueError:
            if "crash-on-bad-body" in BREAK:
                log("Traceback (most recent call last): cannot parse the webhook body")
                os._exit(1)
            return self.answer(200 if "no-400" in BREAK else 400, "not json")
        if not isinstance(event, dict):
            return self.answer(400, "not an object")
        record = map_event(event)
        if record is None:
            return self.answer(200, "skipped")
        if late_auth and not self.authorized():
            return self.answer(401, "unauthorized")
        key = (event.get("event_name"), event.get("user_id"),
               json.dumps((event.get("transaction") or {}).get("transaction_id")),
               None if "dedup-without-time" in BREAK else event.get("time"))
        with seen_lock:
            if key in seen and "no-dedup" not in BREAK:
                return self.answer(200, "duplicate")
            if "seen-after-upload" not in BREAK:
                seen.add(key)
        copies = [record, json.loads(json.dumps(record))] if "double-upload" in BREAK else [record]
        if BATCH:
            with queue_lock:
                queue.extend(copies)
            return self.answer(200, "queued")
        if all(upload([r]) for r in copies):
            with seen_lock:
                seen.add(key)
            return self.answer(200, "uploaded")
        if "seen-before-upload" not in BREAK:
            with seen_lock:
                seen.discard(key)
        return self.answer(503, "CleverTap unavailable, redeliver later")


if __name__ == "__main__":
    if BATCH:
        threading.Thread(target=flusher, daemon=True).start()
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    server.daemon_threads = True
    log(f"relay.py listening on {os.environ['PORT']} (BATCH={BATCH}, BREAK={sorted(BREAK)})")
    if "leak-secrets" in BREAK:
        log(f"configured with passcode {PASSCODE} and token {TOKEN}")
    server.serve_forever()
