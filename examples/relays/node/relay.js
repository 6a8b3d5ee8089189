#!/usr/bin/env node
// A Qonversion -> CleverTap relay in plain Node.js (standard library only, Node 20+).
//
// It receives Qonversion webhooks and uploads one CleverTap event per forwarded webhook,
// following the qc-harness relay contract. Copy it, change what you need, and check your
// copy with:
//
//     qc-harness run --strict --relay-cmd "node relay.js"
//
// Configuration (environment; qc-harness sets all of these):
//
//     PORT                      port to listen on, on 127.0.0.1 (HOST overrides the address)
//     CLEVERTAP_API_URL         base URL; default https://<region>.api.clevertap.com
//     CLEVERTAP_ACCOUNT_ID      sent as X-CleverTap-Account-Id
//     CLEVERTAP_PASSCODE        sent as X-CleverTap-Passcode
//     CLEVERTAP_REGION          eu1, in1, sg1, us1, aps3, mec1, sk1 (default eu1)
//     QONVERSION_WEBHOOK_TOKEN  Qonversion sends "Authorization: Basic <token>" (raw, not base64)
//     RELAY_SETTINGS            path of the integration settings JSON (optional: defaults)
//     WEBHOOK_PATH              path webhooks are POSTed to (default /webhook)
//
// What it does, in the order a webhook meets it:
//
// 1. Auth: a missing or wrong token is answered 401, nothing is uploaded.
// 2. Body: not JSON, or not a JSON object, is answered 400.
// 3. Mapping (qc-harness's mapping.md): unknown, disabled, sandbox (unless send_sandbox),
//    identity-less events and subscription_downgraded are answered 200 and not uploaded.
// 4. Deduplication: a redelivered webhook (same event_name, user_id, transaction id, time)
//    that was already uploaded is answered 200 and not uploaded again.
// 5. Upload: POST $CLEVERTAP_API_URL/1/upload, at most 15 uploads in flight, retried with
//    exponential backoff on 429, 5xx and connection errors (Retry-After honoured). When it
//    gives up, the webhook is answered 503 so that Qonversion redelivers it later.
//    A record CleverTap lists in `unprocessed` is tried at most 3 times in total.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');

// --- Tunables ------------------------------------------------------------------------------

const MAX_UPLOADS_IN_FLIGHT = 15; // CleverTap answers 429 above 15 concurrent requests per account
const MAX_TRANSPORT_ATTEMPTS = 5; // per upload, for 429 / 5xx / connection errors
const MAX_RECORD_ATTEMPTS = 3; // per record that CleverTap lists in `unprocessed`
const BACKOFF_BASE = 0.25; // seconds before the first retry
const BACKOFF_FACTOR = 3; // each retry waits 3x longer: 0.25, 0.75, 2.25, 4 (cap): 7.25 s in all,
const BACKOFF_MAX = 4.0; // so the webhook is answered before Qonversion's 10 s timeout
const MAX_RETRY_AFTER = 10.0; // a longer Retry-After: give up now, let Qonversion redeliver later
const UPLOAD_TIMEOUT = 15.0; // seconds per upload request
const DEDUP_CAPACITY = 100000; // remembered deliveries (oldest forgotten first)

// --- The event catalogue (qonversion-webhook.md) -------------------------------------------

// machine name -> [carries revenue, is a refund]
const EVENTS = {
  trial_started: [false, false],
  trial_converted: [true, false],
  trial_canceled: [false, false],
  trial_billing_retry_entered: [false, false],
  trial_still_active: [false, false],
  trial_expired: [false, false],
  subscription_started: [true, false],
  subscription_renewed: [true, false],
  subscription_upgraded: [true, false],
  subscription_refunded: [true, true],
  subscription_canceled: [false, false],
  subscription_billing_retry_entered: [false, false],
  subscription_expired: [false, false],
  subscription_product_changed: [false, false],
  subscription_downgraded: [false, false], // known, but never forwarded
  in_app_purchase: [true, false],
  in_app_refunded: [true, true],
};
const NEVER_FORWARDED = new Set(['subscription_downgraded']);
const DEFAULT_PROCEEDS_RATE = 70.0;

function log(message) {
  process.stderr.write(`relay: ${message}\n`);
}

// --- Mapping: webhook event -> CleverTap record (mapping.md) -------------------------------

/** null, "", [] and {} are empty; 0 and false are values. */
function isEmpty(value) {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);
const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
const asObject = (value) => (isObject(value) ? value : {});
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

function eventSettings(settings, name) {
  const events = asObject(settings.events);
  return has(events, name) ? asObject(events[name]) : {};
}

/** Why the event is not forwarded, or null when it is. */
function skipReason(event, settings) {
  const name = event.event_name;
  if (typeof name !== 'string' || !has(EVENTS, name)) return 'unknown event';
  if (NEVER_FORWARDED.has(name)) return 'never forwarded';
  if (eventSettings(settings, name).enabled === false) return 'disabled in settings';
  if (event.environment !== 'production' && settings.send_sandbox !== true) return 'sandbox event';
  if (identity(event) === null) return 'no identity';
  return null;
}

/** custom_user_id, else properties._q_custom_user_id. */
function identity(event) {
  if (typeof event.custom_user_id === 'string' && event.custom_user_id !== '') return event.custom_user_id;
  const fallback = asObject(event.properties)._q_custom_user_id;
  if (typeof fallback === 'string' && fallback !== '') return fallback;
  if (isNumber(fallback)) return String(fallback);
  return null;
}

/** time, or created_at when time is null. */
function timestamp(event) {
  for (const key of ['time', 'created_at']) {
    if (Number.isInteger(event[key])) return event[key];
  }
  return null;
}

/** Round half away from zero to 6 decimals (no float noise such as 6.992999999999999). */
function round6(amount) {
  const scaled = Math.abs(amount) * 1e6;
  if (!Number.isFinite(scaled)) return amount;
  let whole = Math.floor(scaled);
  if (scaled - whole >= 0.5) whole += 1;
  const rounded = Math.sign(amount) * (whole / 1e6);
  return rounded === 0 ? 0 : rounded;
}

/** price.value, else revenue.value when it is not net of commission. */
function gross(revenue, price) {
  if (isNumber(price.value)) return price.value;
  if (revenue.is_proceed !== 1 && isNumber(revenue.value)) return revenue.value;
  return null;
}

/** revenue.value when it is net (is_proceed 1), else gross x proceeds_rate / 100. */
function proceeds(revenue, price) {
  if (revenue.is_proceed === 1 && isNumber(revenue.value)) return revenue.value;
  const rate = isNumber(revenue.proceeds_rate) ? revenue.proceeds_rate : DEFAULT_PROCEEDS_RATE;
  const amount = gross(revenue, price);
  return amount === null ? null : (amount * rate) / 100;
}

/** {revenue, currency} when revenue is sent for this event, else {}. */
function revenueFields(event, settings, name) {
  const [carriesRevenue, isRefund] = EVENTS[name];
  const perEvent = eventSettings(settings, name).send_revenue;
  if (settings.send_revenue === false) return {};
  if (!(typeof perEvent === 'boolean' ? perEvent : carriesRevenue)) return {};
  const revenue = asObject(event.revenue);
  const price = asObject(event.price);
  let amount = settings.send_proceeds !== false ? proceeds(revenue, price) : gross(revenue, price);
  if (amount === null) return {};
  if (isRefund) amount = -Math.abs(amount);
  const fields = { revenue: round6(amount) };
  const currency = [revenue.currency, price.currency].find((c) => typeof c === 'string' && c !== '');
  if (currency !== undefined) fields.currency = currency;
  return fields;
}

function evtData(event, settings, name) {
  let transactionId = asObject(event.transaction).transaction_id;
  // Older payloads send numbers. (JavaScript keeps integers exact up to 2^53.)
  if (isNumber(transactionId)) transactionId = String(transactionId);
  const candidates = {
    platform: event.platform,
    os_name: event.platform,
    ip: event.ip,
    product_id: event.product_id,
    quantity: isNumber(event.quantity) ? event.quantity : null,
    transaction_id: transactionId,
    country: event.country,
    app_version: event.app_version,
    device_id: event.device_id,
    new_product_id: event.new_product_id,
    old_product_id: event.old_product_id,
  };
  const data = {};
  for (const [key, value] of Object.entries(candidates)) {
    if (!isEmpty(value)) data[key] = value;
  }
  return Object.assign(data, revenueFields(event, settings, name));
}

/** The CleverTap event record for a forwarded webhook event. */
function toRecord(event, settings) {
  const name = event.event_name;
  const customName = eventSettings(settings, name).name;
  const record = { identity: identity(event) };
  const ts = timestamp(event);
  if (ts !== null) record.ts = ts;
  record.type = 'event';
  record.evtName = typeof customName === 'string' && customName !== '' ? customName : name;
  record.evtData = evtData(event, settings, name);
  return record;
}

/** Qonversion resends the same body on retries: this identifies a delivery. */
function dedupKey(event) {
  const transaction = asObject(event.transaction);
  // A null time (detection-time events) falls back to created_at, so that two different
  // events of the same user and transaction are not taken for one.
  const when = event.time !== null && event.time !== undefined ? event.time : event.created_at;
  const parts = [event.event_name, event.user_id, transaction.transaction_id, when];
  return JSON.stringify(parts.map((part) => (part === undefined ? null : part)));
}

// --- Deduplication -------------------------------------------------------------------------

/** Remembers uploaded deliveries; runs concurrent deliveries of the same event one by one. */
class Deliveries {
  constructor(capacity = DEDUP_CAPACITY) {
    this.done = new Set(); // insertion-ordered: the oldest is forgotten first
    this.busy = new Map(); // key -> promise of the last delivery in line
    this.capacity = capacity;
  }

  async exclusive(key, work) {
    const previous = this.busy.get(key) || Promise.resolve();
    let release;
    const mine = new Promise((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.busy.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.busy.get(key) === tail) this.busy.delete(key);
    }
  }

  isDone(key) {
    return this.done.has(key);
  }

  markDone(key) {
    this.done.add(key);
    if (this.done.size > this.capacity) this.done.delete(this.done.values().next().value);
  }
}

// --- Upload to CleverTap (clevertap-upload.md) ---------------------------------------------

/** The upload did not succeed; the webhook is answered 503 so Qonversion redelivers. */
class GiveUp extends Error {}
/** CleverTap kept the record in `unprocessed` MAX_RECORD_ATTEMPTS times. */
class Rejected extends Error {}

class Semaphore {
  constructor(permits) {
    this.free = permits;
    this.waiting = [];
  }
  async acquire() {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise((resolve) => this.waiting.push(resolve));
  }
  release() {
    const next = this.waiting.shift();
    if (next) next(); // hand the permit over directly
    else this.free += 1;
  }
}

/** Seconds to wait after failed attempt number `attempt` (1-based). */
function backoff(attempt) {
  return Math.min(BACKOFF_BASE * BACKOFF_FACTOR ** (attempt - 1), BACKOFF_MAX);
}

/** Retry-After as seconds: delta-seconds or an HTTP date. */
function retryAfterSeconds(value) {
  if (!value) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

class CleverTap {
  constructor(baseUrl, accountId, passcode, stopping) {
    this.url = baseUrl.replace(/\/+$/, '') + '/1/upload';
    this.headers = {
      'X-CleverTap-Account-Id': accountId,
      'X-CleverTap-Passcode': passcode,
      'Content-Type': 'application/json',
    };
    this.inFlight = new Semaphore(MAX_UPLOADS_IN_FLIGHT);
    this.stopping = stopping;
  }

  /** Uploads one record; throws GiveUp or Rejected. */
  async upload(record) {
    let unprocessed = [];
    for (let attempt = 1; attempt <= MAX_RECORD_ATTEMPTS; attempt += 1) {
      const answer = await this.postWithRetries({ d: [record] });
      unprocessed = Array.isArray(answer.unprocessed) ? answer.unprocessed : [];
      if (unprocessed.length === 0) return;
      log(`record unprocessed (attempt ${attempt}/${MAX_RECORD_ATTEMPTS}): ${JSON.stringify(unprocessed[0])}`);
      if (attempt < MAX_RECORD_ATTEMPTS) await this.sleep(backoff(attempt));
    }
    throw new Rejected(JSON.stringify(unprocessed[0]));
  }

  async postWithRetries(body) {
    const data = JSON.stringify(body);
    for (let attempt = 1; attempt <= MAX_TRANSPORT_ATTEMPTS; attempt += 1) {
      const { status, retryAfter, text } = await this.post(data);
      if (status >= 200 && status < 300) {
        try {
          return asObject(JSON.parse(text));
        } catch {
          return {};
        }
      }
      if (status !== 0 && status !== 429 && status < 500) {
        throw new GiveUp(`CleverTap answered ${status}: ${text.slice(0, 200)}`);
      }
      const what = status === 0 ? 'connection error' : `HTTP ${status}`;
      if (attempt === MAX_TRANSPORT_ATTEMPTS) {
        throw new GiveUp(`${what} after ${attempt} attempts: ${text.slice(0, 200)}`);
      }
      let delay = backoff(attempt);
      if (retryAfter !== null) {
        if (retryAfter > MAX_RETRY_AFTER) throw new GiveUp(`${what} with Retry-After ${retryAfter}s`);
        delay = Math.max(delay, retryAfter);
      }
      log(`upload attempt ${attempt} failed (${what}); retrying in ${delay.toFixed(2)}s`);
      await this.sleep(delay);
    }
    throw new GiveUp('unreachable');
  }

  /** One POST: {status, retryAfter, text}. Status 0 = no HTTP answer. */
  async post(data) {
    await this.inFlight.acquire();
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: this.headers,
        body: data,
        signal: AbortSignal.timeout(UPLOAD_TIMEOUT * 1000),
      });
      const text = await response.text();
      return { status: response.status, retryAfter: retryAfterSeconds(response.headers.get('retry-after')), text };
    } catch (error) {
      // refused, reset, timeout
      return { status: 0, retryAfter: null, text: String((error && error.cause) || error) };
    } finally {
      this.inFlight.release();
    }
  }

  async sleep(seconds) {
    if (this.stopping.stopped) throw new GiveUp('shutting down');
    await new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.stopping.wakeups.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, seconds * 1000);
      this.stopping.wakeups.add(wake);
    });
    if (this.stopping.stopped) throw new GiveUp('shutting down');
  }
}

// --- The webhook server --------------------------------------------------------------------

class Relay {
  constructor(token, settings, clevertap, webhookPath) {
    this.token = Buffer.from(token);
    this.settings = settings;
    this.clevertap = clevertap;
    this.webhookPath = webhookPath;
    this.deliveries = new Deliveries();
  }

  authorized(header) {
    const match = /^basic\s+(.*)$/i.exec(header || '');
    if (!match) return false;
    const token = Buffer.from(match[1].trim());
    return token.length === this.token.length && crypto.timingSafeEqual(token, this.token);
  }

  /** One webhook: [HTTP status, JSON answer]. */
  async handle(authorization, body) {
    if (!this.authorized(authorization)) return [401, { error: 'missing or wrong Authorization token' }];
    let event;
    try {
      event = JSON.parse(body.toString('utf8'));
    } catch (error) {
      return [400, { error: `body is not JSON: ${error.message}` }];
    }
    if (!isObject(event)) return [400, { error: 'body is not a JSON object' }];
    const reason = skipReason(event, this.settings);
    if (reason !== null) {
      log(`skipped ${JSON.stringify(event.event_name)}: ${reason}`);
      return [200, { status: 'skipped', reason }];
    }
    return this.forward(event);
  }

  async forward(event) {
    const key = dedupKey(event);
    return this.deliveries.exclusive(key, async () => {
      if (this.deliveries.isDone(key)) {
        log(`duplicate ${JSON.stringify(event.event_name)} ignored`);
        return [200, { status: 'duplicate' }];
      }
      const record = toRecord(event, this.settings);
      try {
        await this.clevertap.upload(record);
      } catch (error) {
        if (error instanceof Rejected) {
          log(`CleverTap rejected ${JSON.stringify(event.event_name)}, dropped: ${error.message}`);
          this.deliveries.markDone(key); // do not try it again on redelivery
          return [200, { status: 'rejected by CleverTap' }];
        }
        if (!(error instanceof GiveUp)) throw error;
        log(`upload of ${JSON.stringify(event.event_name)} failed, asking for redelivery: ${error.message}`);
        return [503, { error: `upload to CleverTap failed: ${error.message}` }];
      }
      this.deliveries.markDone(key);
      log(`uploaded ${JSON.stringify(record.evtName)} for ${JSON.stringify(record.identity)}`);
      return [200, { status: 'uploaded' }];
    });
  }
}

function answer(response, status, payload) {
  const data = JSON.stringify(payload);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  response.end(data);
}

function makeServer(relay) {
  return http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', async () => {
      const path = request.url.split('?')[0];
      let result;
      if (request.method === 'GET') {
        result = [200, { status: 'ok' }]; // readiness probe: any path
      } else if (request.method !== 'POST') {
        result = [405, { error: 'use POST' }];
      } else if (path !== relay.webhookPath) {
        result = [404, { error: `webhooks go to ${relay.webhookPath}` }];
      } else {
        try {
          result = await relay.handle(request.headers.authorization, Buffer.concat(chunks));
        } catch (error) {
          log(`internal error: ${(error && error.stack) || error}`);
          result = [500, { error: 'internal error' }];
        }
      }
      log(`${request.method} ${request.url} -> ${result[0]}`);
      answer(response, ...result);
    });
  });
}

// --- Start-up and shutdown -----------------------------------------------------------------

function fail(message) {
  process.stderr.write(`relay: ${message}\n`);
  process.exit(1);
}

function requiredEnv(name) {
  const value = process.env[name] || '';
  if (!value) fail(`environment variable ${name} is required`);
  return value;
}

function loadSettings(path) {
  if (!path) return {};
  let settings;
  try {
    settings = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (error) {
    fail(`cannot read settings ${path}: ${error.message}`);
  }
  if (!isObject(settings)) fail(`settings ${path}: not a JSON object`);
  return settings;
}

function main() {
  const port = requiredEnv('PORT');
  if (!/^\d+$/.test(port)) fail(`PORT must be a number, got ${JSON.stringify(port)}`);
  const region = process.env.CLEVERTAP_REGION || 'eu1';
  const baseUrl = process.env.CLEVERTAP_API_URL || `https://${region}.api.clevertap.com`;
  const stopping = { stopped: false, wakeups: new Set() };
  const clevertap = new CleverTap(
    baseUrl,
    requiredEnv('CLEVERTAP_ACCOUNT_ID'),
    requiredEnv('CLEVERTAP_PASSCODE'),
    stopping,
  );
  const relay = new Relay(
    requiredEnv('QONVERSION_WEBHOOK_TOKEN'),
    loadSettings(process.env.RELAY_SETTINGS),
    clevertap,
    process.env.WEBHOOK_PATH || '/webhook',
  );
  const host = process.env.HOST || '127.0.0.1';
  const server = makeServer(relay);

  const onSignal = (signal) => {
    log(`${signal}: finishing in-flight webhooks, then exiting`);
    stopping.stopped = true; // retries in backoff give up (answer 503) instead of waiting
    for (const wake of [...stopping.wakeups]) wake();
    server.close(() => {
      log('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  server.on('error', (error) => fail(`cannot listen on ${host}:${port}: ${error.message}`));
  server.listen(Number(port), host, () => {
    log(`listening on http://${host}:${port}${relay.webhookPath}, uploading to ${clevertap.url}`);
  });
}

if (require.main === module) {
  main();
} else {
  module.exports = { skipReason, toRecord, dedupKey, round6, uploadJson };
}
