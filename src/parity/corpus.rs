//! The parity corpus: upload requests covering every rule and code of `clevertap-upload.md`
//! (auth, envelope, each per-record code, limits, mixed batches). Every request is sent with
//! `?dryRun=1`, so the real service validates it and stores nothing.

use serde_json::{Value, json};

/// Which credentials a case sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// The account id and passcode given to `parity`.
    Valid,
    /// An account id no account has ([`UNKNOWN_ACCOUNT`]), with the given passcode.
    BadAccount,
    /// The given account id with a wrong passcode ([`WRONG_PASSCODE`]).
    BadPasscode,
    /// The given account id and no passcode header.
    MissingPasscode,
}

/// The account id sent by [`Auth::BadAccount`].
pub const UNKNOWN_ACCOUNT: &str = "QC-PARITY-NO-SUCH-ACCOUNT";
/// The passcode sent by [`Auth::BadPasscode`].
pub const WRONG_PASSCODE: &str = "qc-parity-wrong-passcode";

/// One request of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    /// Unique, file-name safe, e.g. `523-identity-over-120-chars`.
    pub name: String,
    /// The rule it exercises: a code (`"523"`), or `auth`, `envelope`, `accepted`, `mixed`.
    pub rule: String,
    /// The credentials sent.
    pub auth: Auth,
    /// The raw request body.
    pub body: Vec<u8>,
}

impl Case {
    fn new(name: &str, rule: &str, auth: Auth, body: Vec<u8>) -> Case {
        Case { name: name.to_string(), rule: rule.to_string(), auth, body }
    }

    fn records(name: &str, rule: &str, records: Vec<Value>) -> Case {
        Case::new(name, rule, Auth::Valid, json!({ "d": records }).to_string().into_bytes())
    }

    fn record(name: &str, rule: &str, record: Value) -> Case {
        Case::records(name, rule, vec![record])
    }
}

/// What the corpus adapts to: the account's settings as the user describes them.
#[derive(Debug, Clone, Default)]
pub struct CorpusOptions {
    /// The account's property limit (the 522 cases send this many and one more).
    pub property_limit: usize,
    /// An event name discarded in the account; without it the 528 case is left out.
    pub discarded_event: Option<String>,
    /// The account has Nested Objects: adds the nesting cases (depth, arrays of arrays).
    pub nested_objects: bool,
}

const TS: u64 = 1_700_000_000;

fn event(name: &str) -> Value {
    json!({"type": "event", "identity": "qc-parity-user", "ts": TS, "evtName": name,
           "evtData": {"plan": "pro_monthly", "price": 9.99}})
}

fn event_with(key: &str, value: Value) -> Value {
    let mut record = event("qc_parity_event");
    record[key] = value;
    record
}

fn event_data(data: Value) -> Value {
    event_with("evtData", data)
}

fn without(mut record: Value, key: &str) -> Value {
    if let Some(fields) = record.as_object_mut() {
        fields.remove(key);
    }
    record
}

fn profile(data: Value) -> Value {
    json!({"type": "profile", "identity": "qc-parity-user", "ts": TS, "profileData": data})
}

fn token(data: Value) -> Value {
    json!({"type": "token", "objectId": "__qcparity0123456789", "tokenData": data})
}

fn properties(count: usize) -> Value {
    Value::Object((0..count).map(|i| (format!("p{i}"), json!(i))).collect())
}

/// The whole corpus for `options`.
pub fn corpus(options: &CorpusOptions) -> Vec<Case> {
    let mut cases = auth_cases();
    cases.extend(envelope_cases());
    cases.extend(identity_and_ts_cases());
    cases.extend(event_cases(options));
    if options.nested_objects {
        cases.extend(nested_cases());
    }
    cases.extend(profile_cases());
    cases.extend(token_cases());
    cases.extend(mixed_cases());
    cases
}

fn auth_cases() -> Vec<Case> {
    let body = || json!({"d": [event("qc_parity_event")]}).to_string().into_bytes();
    vec![
        Case::new("auth-valid", "auth", Auth::Valid, body()),
        Case::new("auth-unknown-account", "auth", Auth::BadAccount, body()),
        Case::new("auth-wrong-passcode", "auth", Auth::BadPasscode, body()),
        Case::new("auth-missing-passcode", "auth", Auth::MissingPasscode, body()),
    ]
}

fn envelope_cases() -> Vec<Case> {
    let raw = |name: &str, body: &[u8]| Case::new(name, "envelope", Auth::Valid, body.to_vec());
    let many = |n: usize| vec![event("qc_parity_event"); n];
    let mut huge = json!({"d": [event_data(json!({"pad": ""}))]});
    huge["d"][0]["evtData"]["pad"] = json!("x".repeat(crate::clevertap::validate::MAX_BODY_BYTES));
    vec![
        raw("envelope-not-json", b"this is not json"),
        raw("envelope-not-an-object", b"[]"),
        raw("envelope-no-d", br#"{"data": []}"#),
        raw("envelope-d-not-an-array", br#"{"d": {"type": "event"}}"#),
        raw("envelope-empty-d", br#"{"d": []}"#),
        Case::records("envelope-1000-records", "envelope", many(1000)),
        Case::records("envelope-1001-records", "envelope", many(1001)),
        Case::new("envelope-over-10-mib", "envelope", Auth::Valid, huge.to_string().into_bytes()),
    ]
}

fn identity_and_ts_cases() -> Vec<Case> {
    let no_identity = without(event("qc_parity_event"), "identity");
    let with = |key: &str, value: Value| {
        let mut record = no_identity.clone();
        record[key] = value;
        record
    };
    vec![
        Case::record("524-unknown-type", "524", event_with("type", json!("page"))),
        Case::record("523-no-identity", "523", no_identity.clone()),
        Case::record("523-empty-identity", "523", event_with("identity", json!(""))),
        Case::record("523-identity-over-120-chars", "523", event_with("identity", json!("u".repeat(121)))),
        Case::record("accepted-identity-of-120-chars", "523", event_with("identity", json!("u".repeat(120)))),
        Case::record("accepted-numeric-identity", "523", event_with("identity", json!(12345))),
        Case::record("accepted-fbid", "523", with("FBID", json!("qc-parity-fb"))),
        Case::record("accepted-gpid", "523", with("GPID", json!("qc-parity-gp"))),
        Case::record("accepted-object-id", "523", with("objectId", json!("__qcparity0123456789"))),
        Case::record("526-numeric-object-id", "526", event_with("objectId", json!(123))),
        Case::record("525-ts-zero", "525", event_with("ts", json!(0))),
        Case::record("525-ts-milliseconds", "525", event_with("ts", json!(1_700_000_000_000_u64))),
        Case::record("525-ts-fraction", "525", event_with("ts", json!(1_700_000_000.5))),
        Case::record("accepted-ts-digit-string", "525", event_with("ts", json!("1700000000"))),
        Case::record("accepted-no-ts", "525", without(event("qc_parity_event"), "ts")),
    ]
}

fn event_cases(options: &CorpusOptions) -> Vec<Case> {
    let limit = options.property_limit;
    let mut charged = event("Charged");
    charged["evtData"]["Items"] = json!([{"name": "pro", "price": 9.99}]);
    let mut cases = vec![
        Case::record("509-no-event-name", "509", without(event("x"), "evtName")),
        Case::record("513-restricted-event", "513", event("App Launched")),
        Case::record("513-restricted-any-case-and-spaces", "513", event("app  LAUNCHED")),
        Case::record("512-prohibited-char-in-name", "512", event("qc.parity")),
        Case::record("512-prohibited-char-in-key", "512", event_data(json!({"a:b": 1}))),
        Case::record("512-key-over-120-chars", "512", event_data(json!({"k".repeat(121): 1}))),
        Case::record("512-value-over-512-bytes", "512", event_data(json!({"v": "v".repeat(513)}))),
        Case::record("512-evtdata-not-an-object", "512", event_data(json!("plan=pro"))),
        Case::record("512-nested-object", "512", event_data(json!({"cart": {"sku": "pro"}}))),
        Case::record("accepted-charged-items", "512", charged),
        Case::record(
            "accepted-date-and-null-values",
            "512",
            event_data(json!({"at": "$D_1700000000", "gone": null})),
        ),
        Case::record("522-one-over-the-property-limit", "522", event_data(properties(limit + 1))),
        Case::record("accepted-at-the-property-limit", "522", event_data(properties(limit))),
    ];
    if let Some(name) = &options.discarded_event {
        cases.push(Case::record("528-discarded-event", "528", event(name)));
    }
    cases
}

fn nested_cases() -> Vec<Case> {
    let levels = |n: usize| (0..n).fold(json!("leaf"), |inner, level| json!({ format!("k{level}"): inner }));
    vec![
        Case::record("accepted-nested-3-levels", "nested", event_data(json!({"root": levels(3)}))),
        Case::record("512-nested-4-levels", "nested", event_data(json!({"root": levels(4)}))),
        Case::record("512-nested-array-of-arrays", "nested", event_data(json!({"root": [["a"], ["b"]]}))),
        Case::record("512-nested-prohibited-key", "nested", event_data(json!({"root": {"a.b": 1}}))),
    ]
}

fn profile_cases() -> Vec<Case> {
    let bad = [
        ("514-gender", "514", "Gender", json!("GG")),
        ("515-email", "515", "Email", json!("not-an-email")),
        ("516-phone", "516", "Phone", json!("555-1234")),
        ("517-employed", "517", "Employed", json!("yes")),
        ("518-education", "518", "Education", json!("PhD")),
        ("519-married", "519", "Married", json!("maybe")),
        ("520-age", "520", "Age", json!("twenty")),
    ];
    let mut cases: Vec<Case> = bad
        .into_iter()
        .map(|(name, rule, key, value)| Case::record(name, rule, profile(json!({ key: value }))))
        .collect();
    let valid = json!({"Name": "QC Parity", "Email": "qc.parity@example.com", "Phone": "+14155551234",
                       "Gender": "F", "Employed": "Y", "Education": "Graduate", "Married": "N", "Age": 30});
    cases.push(Case::record("accepted-profile", "514-520", profile(valid)));
    cases.push(Case::record(
        "514-first-bad-field-decides",
        "514-520",
        profile(json!({"Age": "x", "Gender": "X"})),
    ));
    cases
}

fn token_cases() -> Vec<Case> {
    let fcm = json!({"id": "qc-parity-token", "type": "fcm"});
    let mut no_object_id = token(fcm.clone());
    no_object_id["objectId"] = json!("");
    vec![
        Case::record("530-token-without-object-id", "530", no_object_id),
        Case::record("531-token-data-not-an-object", "531", token(json!("fcm:abc"))),
        Case::record("532-token-without-id", "532", token(json!({"type": "fcm"}))),
        Case::record("533-token-without-type", "533", token(json!({"id": "qc-parity-token"}))),
        Case::record(
            "534-unknown-token-type",
            "534",
            token(json!({"id": "qc-parity-token", "type": "pager"})),
        ),
        Case::record("535-chrome-token-without-keys", "535", token(json!({"id": "t", "type": "chrome"}))),
        Case::record("accepted-token", "530-535", token(fcm)),
    ]
}

fn mixed_cases() -> Vec<Case> {
    vec![
        Case::records(
            "mixed-partial",
            "mixed",
            vec![
                event("qc_parity_event"),
                profile(json!({"Email": "nope"})),
                profile(json!({"Name": "QC"})),
                event("Notification Sent"),
            ],
        ),
        Case::records(
            "mixed-all-fail",
            "mixed",
            vec![event("App Launched"), without(event("x"), "identity")],
        ),
        Case::records(
            "mixed-first-rule-decides",
            "mixed",
            vec![event("qc_parity_event"), without(event_with("ts", json!(0)), "identity")],
        ),
    ]
}

/// The distinct rules a corpus covers.
pub fn rules_covered(cases: &[Case]) -> Vec<String> {
    let mut rules: Vec<String> = cases.iter().map(|case| case.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    rules
}
