//! The check registry: one type per behaviour check, each implementing [`Check`], and
//! [`REGISTRY`], the one list of them in report order.
//!
//! Adding a check is one new file (a type implementing [`Check`]) plus one line in
//! [`REGISTRY`]; see `docs/adding-a-check.md`. A type listed here that does not implement
//! [`Check`] does not compile, and dispatch goes through the trait, never through names.

use super::{
    Check, CheckContext, CheckDef, CheckFuture, auth, backoff, dedupe, delivery, filtering, limits, must,
    outage, partial, should,
};
use crate::conformance::bench::FakeSetup;

/// Declares a built-in check type whose work is done by a function of its module.
macro_rules! built_in_check {
    (
        $(#[$doc:meta])* $ty:ident = $def:expr;
        run = |$name:ident, $ctx:ident| $run:expr;
        $(disables = |$fixed:ident| $disables:expr;)?
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;

        impl Check for $ty {
            fn def(&self) -> &'static CheckDef {
                const DEF: CheckDef = $def;
                &DEF
            }
            fn setup(&self) -> FakeSetup {
                built_in_setup(self.def().name)
            }
            $(fn disables_an_event(&self, $fixed: bool) -> bool {
                $disables
            })?
            fn run<'a>(&'a self, $ctx: &'a CheckContext<'a>) -> CheckFuture<'a> {
                let $name: &'static str = self.def().name;
                let _ = $name;
                Box::pin($run)
            }
        }
    };
}

/// The fake's setup of the built-in check `name`: each module scripts its own checks.
fn built_in_setup(name: &str) -> FakeSetup {
    delivery::setup(name)
        .or_else(|| backoff::setup(name))
        .or_else(|| limits::setup(name))
        .or_else(|| outage::setup(name))
        .or_else(|| partial::setup(name))
        .unwrap_or_default()
}

/// Every check, in report order.
pub static REGISTRY: [&dyn Check; 24] = [
    &AuthMissingToken,
    &AuthWrongToken,
    &BodyEmpty,
    &BodyMalformed,
    &BodyNotObject,
    &EventUnknown,
    &EventDowngraded,
    &EventSandbox,
    &EventDisabled,
    &UpstreamHeaders,
    &UpstreamBatchLimit,
    &Upstream429,
    &Upstream5xx,
    &UpstreamConnectionDrop,
    &DeliveryOutage,
    &DeliveryDistinctEvents,
    &DeliveryRedelivery,
    &DeliveryConcurrentRedelivery,
    &UpstreamBackoff,
    &UpstreamBackoff429,
    &UpstreamBackoffDrop,
    &UpstreamRetryAfter,
    &UpstreamConcurrency,
    &UpstreamPartial,
];

built_in_check! {
    /// `auth.missing-token`.
    AuthMissingToken = must(
        "auth.missing-token",
        "MUST 1",
        "a webhook without Authorization is answered 401/403 and nothing is uploaded, whatever the event (forwarded, unknown, disabled, sandbox, downgraded)",
    );
    run = |name, ctx| auth::run(name, ctx);
    disables = |fixed| !fixed;
}

built_in_check! {
    /// `auth.wrong-token`.
    AuthWrongToken = must(
        "auth.wrong-token",
        "MUST 1",
        "a webhook with another token (different, suffixed, in another letter case, or Bearer) is answered 401/403 and nothing is uploaded, whatever the event",
    );
    run = |name, ctx| auth::run(name, ctx);
    disables = |fixed| !fixed;
}

built_in_check! {
    /// `body.empty`.
    BodyEmpty = must(
        "body.empty",
        "MUST 4",
        "an empty body is answered 400, nothing is uploaded, the relay keeps serving",
    );
    run = |name, ctx| auth::run_body(name, ctx);
}

built_in_check! {
    /// `body.malformed`.
    BodyMalformed = must(
        "body.malformed",
        "MUST 4",
        "a body that is not JSON is answered 400, nothing is uploaded, the relay keeps serving",
    );
    run = |name, ctx| auth::run_body(name, ctx);
}

built_in_check! {
    /// `body.not-object`.
    BodyNotObject = must(
        "body.not-object",
        "MUST 4",
        "a JSON body that is not an object is answered 400, nothing is uploaded, the relay keeps serving",
    );
    run = |name, ctx| auth::run_body(name, ctx);
}

built_in_check! {
    /// `event.unknown`.
    EventUnknown = must(
        "event.unknown",
        "MUST 3",
        "an unknown event name is answered 2xx and not uploaded",
    );
    run = |name, ctx| filtering::run(name, ctx);
}

built_in_check! {
    /// `event.downgraded`.
    EventDowngraded = must(
        "event.downgraded",
        "MUST 3",
        "subscription_downgraded is answered 2xx and not uploaded",
    );
    run = |name, ctx| filtering::run(name, ctx);
}

built_in_check! {
    /// `event.sandbox`.
    EventSandbox = must(
        "event.sandbox",
        "MUST 3",
        "sandbox (and unmarked) events are answered 2xx and uploaded only when send_sandbox is true",
    );
    run = |name, ctx| filtering::run(name, ctx);
}

built_in_check! {
    /// `event.disabled`.
    EventDisabled = must(
        "event.disabled",
        "MUST 3",
        "a disabled event is answered 2xx and not uploaded; enabled ones still are",
    );
    run = |name, ctx| filtering::run(name, ctx);
    disables = |_fixed| true;
}

built_in_check! {
    /// `upstream.headers`.
    UpstreamHeaders = must(
        "upstream.headers",
        "MUST 6",
        "every upload, retries included, has X-CleverTap-Account-Id, the X-CleverTap-Passcode and Content-Type: application/json",
    );
    run = |name, ctx| limits::run(name, ctx);
}

built_in_check! {
    /// `upstream.batch-limit`.
    UpstreamBatchLimit = must(
        "upstream.batch-limit",
        "MUST 6",
        "1500 webhooks at once (the first upload answered after 1.5 s): no upload request has more than 1000 records; every event is uploaded once",
    );
    run = |name, ctx| limits::run(name, ctx);
}

built_in_check! {
    /// `upstream.429`.
    Upstream429 = must(
        "upstream.429",
        "MUST 5",
        "after a 429 the event is still uploaded exactly once",
    );
    run = |name, ctx| delivery::run(name, ctx);
}

built_in_check! {
    /// `upstream.5xx`.
    Upstream5xx = must(
        "upstream.5xx",
        "MUST 5",
        "after 500 and 503 answers the event is still uploaded exactly once",
    );
    run = |name, ctx| delivery::run(name, ctx);
}

built_in_check! {
    /// `upstream.connection-drop`.
    UpstreamConnectionDrop = must(
        "upstream.connection-drop",
        "MUST 5",
        "after a dropped connection the event is still uploaded exactly once",
    );
    run = |name, ctx| delivery::run(name, ctx);
}

built_in_check! {
    /// `delivery.outage`.
    DeliveryOutage = must(
        "delivery.outage",
        "MUST 5",
        "through a CleverTap outage that outlasts the relay's retries (every upload fails until each webhook was answered once, and for at least 1.5 s), with Qonversion redelivering on its schedule, every event is uploaded exactly once",
    );
    run = |name, ctx| outage::run(ctx);
}

built_in_check! {
    /// `delivery.distinct-events`.
    DeliveryDistinctEvents = must(
        "delivery.distinct-events",
        "MUST 5",
        "two genuine events that differ only in `time` are both uploaded (the dedupe key includes `time`)",
    );
    run = |name, ctx| dedupe::run(name, ctx);
}

built_in_check! {
    /// `delivery.redelivery`.
    DeliveryRedelivery = should(
        "delivery.redelivery",
        "SHOULD 7",
        "the same webhook delivered twice is uploaded once",
    );
    run = |name, ctx| delivery::run(name, ctx);
}

built_in_check! {
    /// `delivery.concurrent-redelivery`.
    DeliveryConcurrentRedelivery = should(
        "delivery.concurrent-redelivery",
        "SHOULD 7",
        "a redelivery that arrives while the first delivery is still uploading is not uploaded again",
    );
    run = |name, ctx| dedupe::run(name, ctx);
}

built_in_check! {
    /// `upstream.backoff`.
    UpstreamBackoff = should(
        "upstream.backoff",
        "SHOULD 8",
        "after 4 HTTP 500s in a row the retry delays grow: the last is at least 1.5× the first and ≥ 100 ms",
    );
    run = |name, ctx| backoff::run(name, ctx);
}

built_in_check! {
    /// `upstream.backoff-429`.
    UpstreamBackoff429 = should(
        "upstream.backoff-429",
        "SHOULD 8",
        "after 4 HTTP 429s without Retry-After the retry delays grow: the last is at least 1.5× the first",
    );
    run = |name, ctx| backoff::run(name, ctx);
}

built_in_check! {
    /// `upstream.backoff-drop`.
    UpstreamBackoffDrop = should(
        "upstream.backoff-drop",
        "SHOULD 8",
        "after 4 dropped connections in a row the retry delays grow: the last is at least 1.5× the first and ≥ 100 ms",
    );
    run = |name, ctx| backoff::run(name, ctx);
}

built_in_check! {
    /// `upstream.retry-after`.
    UpstreamRetryAfter = should(
        "upstream.retry-after",
        "SHOULD 8",
        "after 429 with Retry-After: 1 the next upload waits at least 1 s",
    );
    run = |name, ctx| backoff::run(name, ctx);
}

built_in_check! {
    /// `upstream.concurrency`.
    UpstreamConcurrency = should(
        "upstream.concurrency",
        "SHOULD 9",
        "at most 15 uploads in flight for the account",
    );
    run = |name, ctx| limits::run(name, ctx);
}

built_in_check! {
    /// `upstream.partial`.
    UpstreamPartial = should(
        "upstream.partial",
        "SHOULD 10",
        "a record CleverTap lists in `unprocessed` is sent at most 3 times (watched until the relay was quiet for 2.5× its longest retry gap)",
    );
    run = |name, ctx| partial::run(ctx);
}
