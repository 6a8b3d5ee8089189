#!/usr/bin/env python3
"""A JSON-lines relay (relay-contract.md section 5) that maps like the reference.

Reads {"event": ..., "settings": ...} per line on stdin, writes {"records": [...]} per
line on stdout. `--bug NAME` plants one known mapping bug, for the harness's own tests:

  gross             revenue is the gross price even when send_proceeds is true
  positive_refunds  refunds carry a positive amount
  sandbox_leak      sandbox events are forwarded whatever send_sandbox says
  wrong_identity    identity is the Qonversion user_id, not custom_user_id
  custom_names      custom event names from the settings are ignored
  usd               revenue is sent in USD (value_usd) instead of the user's currency
  ts_millis         ts is sent in milliseconds
  downgraded        subscription_downgraded is forwarded
  twice             purchases are uploaded as two records
  crash_numeric_id  the relay dies on a numeric transaction id
  price_currency    the currency is price.currency first (mapping.md: revenue.currency first)
  revenue_as_gross  the gross amount is revenue.value first (mapping.md: price.value first)
"""
import json
import sys

KINDS = {
    # name: (carries_revenue, is_refund)
    "trial_started": (False, False), "trial_converted": (True, False), "trial_canceled": (False, False),
    "trial_billing_retry_entered": (False, False), "trial_still_active": (False, False),
    "trial_expired": (False, False), "subscription_started": (True, False),
    "subscription_renewed": (True, False), "subscription_upgraded": (True, False),
    "subscription_refunded": (True, True), "subscription_canceled": (False, False),
    "subscription_billing_retry_entered": (False, False), "subscription_expired": (False, False),
    "subscription_product_changed": (False, False), "in_app_purchase": (True, False),
    "in_app_refunded": (True, True),
}
TEXT_KEYS = [("platform", "platform"), ("os_name", "platform"), ("ip", "ip"), ("product_id", "product_id")]
MORE_TEXT_KEYS = ["country", "app_version", "device_id", "new_product_id", "old_product_id"]

BUG = sys.argv[sys.argv.index("--bug") + 1] if "--bug" in sys.argv else None


def empty(value):
    return value is None or value == "" or value == [] or value == {}


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def identity(event):
    if BUG == "wrong_identity":
        return event.get("user_id") or event.get("custom_user_id")
    custom = event.get("custom_user_id")
    if isinstance(custom, str) and custom:
        return custom
    fallback = (event.get("properties") or {}).get("_q_custom_user_id")
    if isinstance(fallback, str) and fallback:
        return fallback
    if is_number(fallback):
        return str(fallback)
    return None


def amounts(event):
    price = event.get("price") or {}
    revenue = event.get("revenue") or {}
    is_proceed = revenue.get("is_proceed") or 0
    gross = price.get("value")
    if BUG == "revenue_as_gross" and is_proceed != 1 and revenue.get("value") is not None:
        gross = revenue.get("value")
    if gross is None and is_proceed != 1:
        gross = revenue.get("value")
    if is_proceed == 1 and revenue.get("value") is not None:
        proceeds = revenue.get("value")
    else:
        rate = revenue.get("proceeds_rate")
        rate = 70 if rate is None else rate
        proceeds = None if gross is None else gross * rate / 100
    return gross, proceeds


def revenue_fields(event, settings, name):
    carries, is_refund = KINDS[name]
    own = settings.get("events", {}).get(name, {})
    send = own.get("send_revenue")
    if not settings.get("send_revenue", True) or not (carries if send is None else send):
        return {}
    gross, proceeds = amounts(event)
    amount = proceeds if settings.get("send_proceeds", True) and BUG != "gross" else gross
    if BUG == "usd" and amount is not None:
        amount = (event.get("revenue") or event.get("price") or {}).get("value_usd", amount)
    if amount is None:
        return {}
    if is_refund and BUG != "positive_refunds":
        amount = -abs(amount)
    elif is_refund:
        amount = abs(amount)
    amount = round(amount, 6) + 0.0
    currency = None
    for source in ("price", "revenue") if BUG == "price_currency" else ("revenue", "price"):
        value = (event.get(source) or {}).get("currency")
        if value:
            currency = value
            break
    out = {"revenue": amount}
    if currency:
        out["currency"] = currency
    return out


def evt_data(event, settings, name):
    data = {}
    for key, source in TEXT_KEYS:
        data[key] = event.get(source)
    data["quantity"] = event.get("quantity")
    transaction_id = (event.get("transaction") or {}).get("transaction_id")
    if BUG == "crash_numeric_id" and is_number(transaction_id):
        raise SystemExit("crash: cannot handle numeric transaction id %r" % transaction_id)
    data["transaction_id"] = None if transaction_id is None else str(transaction_id)
    for key in MORE_TEXT_KEYS:
        data[key] = event.get(key)
    data.update(revenue_fields(event, settings, name))
    return {k: v for k, v in data.items() if not empty(v)}


def forwarded(event, settings, name):
    if name not in KINDS and not (BUG == "downgraded" and name == "subscription_downgraded"):
        return False
    if settings.get("events", {}).get(name, {}).get("enabled") is False:
        return False
    sandbox_ok = settings.get("send_sandbox", False) or BUG == "sandbox_leak"
    return event.get("environment") == "production" or sandbox_ok


def records(event, settings):
    name = event.get("event_name")
    if not forwarded(event, settings, name):
        return []
    who = identity(event)
    if not who:
        return []
    if name not in KINDS:
        KINDS[name] = (False, False)
    custom = settings.get("events", {}).get(name, {}).get("name")
    record = {"identity": who, "type": "event",
              "evtName": custom if custom and BUG != "custom_names" else name,
              "evtData": evt_data(event, settings, name)}
    ts = event.get("time")
    ts = event.get("created_at") if ts is None else ts
    if ts is not None:
        record["ts"] = ts * 1000 if BUG == "ts_millis" else ts
    if BUG == "twice" and name == "in_app_purchase":
        return [record, record]
    return [record]


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        out = records(case["event"], case.get("settings") or {})
        sys.stdout.write(json.dumps({"records": out}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
