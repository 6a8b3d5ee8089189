#!/usr/bin/env python3
"""An independent implementation of the reference mapping (shared/spec/mapping.md), stdlib only.

Written from the spec text, not from the Rust code, so that the two can check each other:
tests/harness/fixtures.rs compares the Rust mapping with the files this script writes.

For every fixtures/events/NAME.json it writes tests/expected/NAME.json, the CleverTap upload
body {"d": [...]} under default settings; for every fixtures/journeys/NAME.json it writes
tests/expected/journey.NAME.json with the records of every event of the journey, in order.
For every built-in settings variant of `qc-harness run` (README, "Settings variants") it
writes tests/expected/variants/VARIANT.json: {"<fixture name>": {"d": [...]}, ...}.

Usage (from anywhere):
    python3 tests/oracle/reference_mapping.py           # (re)write tests/expected/
    python3 tests/oracle/reference_mapping.py --check   # compare only; exit 1 when stale
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "fixtures" / "events"
JOURNEYS_DIR = ROOT / "fixtures" / "journeys"
EXPECTED_DIR = ROOT / "tests" / "expected"

# qonversion-webhook.md, "Events": machine name -> "carries revenue" (the default per-event
# send_revenue). subscription_downgraded is never sent to integrations.
CARRIES_REVENUE = {
    "trial_started": False,
    "trial_converted": True,
    "trial_canceled": False,
    "trial_billing_retry_entered": False,
    "trial_still_active": False,
    "trial_expired": False,
    "subscription_started": True,
    "subscription_renewed": True,
    "subscription_upgraded": True,
    "subscription_refunded": True,
    "subscription_canceled": False,
    "subscription_billing_retry_entered": False,
    "subscription_expired": False,
    "subscription_product_changed": False,
    "subscription_downgraded": False,
    "in_app_purchase": True,
    "in_app_refunded": True,
}
NEVER_FORWARDED = {"subscription_downgraded"}
REFUNDS = {"subscription_refunded", "in_app_refunded"}

# relay-contract.md section 3: top-level defaults.
DEFAULT_SETTINGS = {"send_revenue": True, "send_proceeds": True, "send_sandbox": False, "events": {}}

# qonversion-webhook.md, "Events": the display names (the `renamed` variant uses them).
DISPLAY_NAMES = {
    "trial_started": "Trial Started",
    "trial_converted": "Trial Converted",
    "trial_canceled": "Trial Canceled",
    "trial_billing_retry_entered": "Trial Billing Retry",
    "trial_still_active": "Trial still active (2 days after start)",
    "trial_expired": "Trial Expired",
    "subscription_started": "Subscription Started",
    "subscription_renewed": "Subscription Renewed",
    "subscription_upgraded": "Subscription Upgraded",
    "subscription_refunded": "Subscription Refunded",
    "subscription_canceled": "Subscription Canceled",
    "subscription_billing_retry_entered": "Subscription Billing Retry",
    "subscription_expired": "Subscription Expired",
    "subscription_product_changed": "Subscription Product Changed",
    "in_app_purchase": "In-App Purchase",
    "in_app_refunded": "In-App Refunded",
}


def every_event(settings_of_one):
    """{"events": {...}} with the same per-event settings for every forwardable event."""
    names = [n for n in CARRIES_REVENUE if n not in NEVER_FORWARDED]
    return {name: settings_of_one(name) for name in names}


# The built-in variants of `qc-harness run` (README, "Settings variants"), as settings files.
VARIANTS = {
    "default": {},
    "gross": {"send_proceeds": False},
    "no-revenue": {"send_revenue": False},
    "sandbox-on": {"send_sandbox": True},
    "event-disabled": {"events": every_event(lambda n: {"enabled": False})},
    "event-no-revenue": {"events": every_event(lambda n: {"send_revenue": False})},
    "renamed": {"events": every_event(lambda n: {"name": "QC " + DISPLAY_NAMES[n]})},
    # both switches must hold: the per-event `true` does not override the global `false`
    "revenue-off-event-on": {"send_revenue": False, "events": every_event(lambda n: {"send_revenue": True})},
    # an empty custom name falls back to the machine name
    "empty-name": {"events": every_event(lambda n: {"name": ""})},
}

DEFAULT_PROCEEDS_RATE = 70
REVENUE_DECIMALS = 6

# mapping.md, "The record": evtData key -> top-level webhook field (revenue and
# transaction_id are handled apart).
PLAIN_KEYS = [
    ("platform", "platform"),
    ("os_name", "platform"),
    ("ip", "ip"),
    ("product_id", "product_id"),
    ("quantity", "quantity"),
]
PLAIN_KEYS_AFTER_TRANSACTION = [
    ("country", "country"),
    ("app_version", "app_version"),
    ("device_id", "device_id"),
    ("new_product_id", "new_product_id"),
    ("old_product_id", "old_product_id"),
]


def is_empty(value):
    """null, "", [] and {} are empty; 0 and false are values."""
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    return value == "" or value == [] or value == {}


def event_settings(settings, name):
    """enabled, send_revenue and the CleverTap event name for one machine name."""
    own = settings.get("events", {}).get(name, {})
    enabled = own.get("enabled", True)
    send_revenue = own.get("send_revenue", CARRIES_REVENUE[name])
    evt_name = own.get("name") or name  # an empty custom name falls back to the machine name
    return enabled, send_revenue, evt_name


def as_object(value):
    return value if isinstance(value, dict) else {}


def identity(event):
    """custom_user_id, else properties._q_custom_user_id; None when both are empty."""
    custom = event.get("custom_user_id")
    if not is_empty(custom):
        return str(custom)
    fallback = as_object(event.get("properties")).get("_q_custom_user_id")
    if not is_empty(fallback):
        return str(fallback)
    return None


def is_forwarded(event, settings):
    name = event.get("event_name")
    if name not in CARRIES_REVENUE or name in NEVER_FORWARDED:
        return False
    enabled, _, _ = event_settings(settings, name)
    if not enabled:
        return False
    # an absent or other environment counts as sandbox
    if event.get("environment") != "production" and not settings.get("send_sandbox", False):
        return False
    return identity(event) is not None


def as_text(value):
    """A transaction id always as a string (older payloads send numbers)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_one(value):
    """is_proceed is 1 (JSON 1, 1.0 or true)."""
    return value is True or (not isinstance(value, bool) and value == 1)


def revenue_and_currency(event, send_proceeds, refund):
    """(amount, currency) per mapping.md "Revenue", or None when the amount cannot be derived."""
    price = as_object(event.get("price"))
    revenue = as_object(event.get("revenue"))
    price_value = price.get("value")
    revenue_value = revenue.get("value")
    if price_value is None and revenue_value is None:
        return None
    is_proceed = revenue.get("is_proceed")  # absent counts as 0
    net = is_one(is_proceed)
    gross = price_value if price_value is not None else (revenue_value if not net else None)
    if net:
        proceeds = revenue_value
    else:
        rate = revenue.get("proceeds_rate")
        rate = DEFAULT_PROCEEDS_RATE if rate is None else rate
        proceeds = None if gross is None else gross * rate / 100
    amount = proceeds if send_proceeds else gross
    if amount is None:
        return None
    if refund:
        amount = -abs(amount)
    amount = round(amount, REVENUE_DECIMALS)
    if amount == 0:
        amount = 0.0  # never -0.0
    currency = revenue.get("currency")
    if is_empty(currency):
        currency = price.get("currency")
    return amount, currency


def evt_data(event, settings, send_revenue):
    data = {}

    def put(key, value):
        if not is_empty(value):
            data[key] = value

    for key, field in PLAIN_KEYS:
        put(key, event.get(field))
    transaction_id = as_object(event.get("transaction")).get("transaction_id")
    put("transaction_id", None if transaction_id is None else as_text(transaction_id))
    for key, field in PLAIN_KEYS_AFTER_TRANSACTION:
        put(key, event.get(field))
    if settings.get("send_revenue", True) and send_revenue:
        name = event["event_name"]
        derived = revenue_and_currency(event, settings.get("send_proceeds", True), name in REFUNDS)
        if derived is not None:
            amount, currency = derived
            put("revenue", amount)
            put("currency", currency)
    return data


def map_event(event, settings=None):
    """The records (zero or one) the reference uploads for one webhook body."""
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    if not isinstance(event, dict) or not is_forwarded(event, settings):
        return []
    name = event["event_name"]
    _, send_revenue, evt_name = event_settings(settings, name)
    record = {"identity": identity(event)}
    ts = event.get("time")
    if ts is None:
        ts = event.get("created_at")
    if ts is not None:
        record["ts"] = ts
    record["type"] = "event"
    record["evtName"] = evt_name
    record["evtData"] = evt_data(event, settings, send_revenue)
    return [record]


def upload_body(records):
    return {"d": records}


def render(value):
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def expected_files():
    """tests/expected file path (relative) -> its content, for every fixture on disk."""
    out = {}
    events = {path.stem: json.loads(path.read_text()) for path in sorted(EVENTS_DIR.glob("*.json"))}
    for name, event in events.items():
        out[name + ".json"] = render(upload_body(map_event(event)))
    for path in sorted(JOURNEYS_DIR.glob("*.json")):
        journey = json.loads(path.read_text())
        records = [record for event in journey for record in map_event(event)]
        out["journey." + path.name] = render(upload_body(records))
    for variant, settings in VARIANTS.items():
        bodies = {name: upload_body(map_event(event, settings)) for name, event in events.items()}
        out["variants/" + variant + ".json"] = render(bodies)
    return out


def main(argv):
    check = "--check" in argv
    wanted = expected_files()
    existing = {
        str(p.relative_to(EXPECTED_DIR)) for p in EXPECTED_DIR.glob("**/*.json")
    } if EXPECTED_DIR.is_dir() else set()
    stale = sorted(
        name for name, text in wanted.items()
        if name not in existing or (EXPECTED_DIR / name).read_text() != text
    )
    orphans = sorted(existing - set(wanted))
    if check:
        for name in stale:
            print(f"stale: tests/expected/{name}", file=sys.stderr)
        for name in orphans:
            print(f"no fixture for: tests/expected/{name}", file=sys.stderr)
        return 1 if stale or orphans else 0
    (EXPECTED_DIR / "variants").mkdir(parents=True, exist_ok=True)
    for name in stale:
        (EXPECTED_DIR / name).write_text(wanted[name])
    for name in orphans:
        (EXPECTED_DIR / name).unlink()
    print(f"{len(wanted)} expected files ({len(stale)} written, {len(orphans)} removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
