//! Properties of the pure rules: total over any input, codes from the documented set,
//! and the documented order.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const CODES: [u16; 22] = [
    509, 512, 513, 514, 515, 516, 517, 518, 519, 520, 522, 523, 524, 525, 526, 528, 530, 531, 532, 533, 534,
    535,
];

fn valid_event(name: &str) -> Value {
    json!({"type": "event", "identity": "u1", "ts": 1_700_000_000, "evtName": name, "evtData": {"a": 1}})
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        let keys = prop_oneof![
            prop::sample::select(vec![
                "type",
                "identity",
                "objectId",
                "ts",
                "evtName",
                "evtData",
                "profileData",
                "tokenData",
                "id",
                "Email",
                "Gender",
                "Items"
            ])
            .prop_map(String::from),
            ".{0,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn check_record_is_total_and_answers_documented_codes(record in any_json(), kind in "event|profile|token") {
        let mut record = record;
        if let Value::Object(map) = &mut record {
            map.entry("type").or_insert(json!(kind));
        }
        if let Err(e) = check_record(&record, &Rules::default()) {
            prop_assert!(CODES.contains(&e.code), "code {}", e.code);
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn check_envelope_is_total(body in prop::collection::vec(any::<u8>(), 0..300)) {
        match check_envelope(&body) {
            Ok(records) => prop_assert!((1..=MAX_RECORDS).contains(&records.len())),
            Err(e) => prop_assert!(e.status == 400 || e.status == 413),
        }
    }

    #[test]
    fn restricted_names_match_in_any_case_with_any_spaces(index in 0..RESTRICTED_EVENTS.len(), flips in any::<u64>()) {
        let name: String = RESTRICTED_EVENTS[index]
            .chars()
            .enumerate()
            .map(|(i, c)| if flips >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .flat_map(|c| if c == ' ' && flips & 1 == 1 { vec![' ', ' '] } else { vec![c] })
            .collect();
        prop_assert_eq!(check_record(&valid_event(&name), &Rules::default()).unwrap_err().code, 513);
    }

    #[test]
    fn any_prohibited_character_in_a_name_or_key_gives_512(index in 0..PROHIBITED_CHARS.len(), at in 0usize..8) {
        let c = PROHIBITED_CHARS[index];
        let mut name = String::from("purchase");
        name.insert(at.min(name.len()), c);
        prop_assert_eq!(check_record(&valid_event(&name), &Rules::default()).unwrap_err().code, 512);
        let mut record = valid_event("purchase");
        record["evtData"][name] = json!(1);
        prop_assert_eq!(check_record(&record, &Rules::default()).unwrap_err().code, 512);
    }

    #[test]
    fn timestamps_pass_exactly_when_positive_seconds_of_at_most_11_digits(ts in any::<i64>()) {
        let expected = ts > 0 && ts < 100_000_000_000;
        prop_assert_eq!(valid_ts(&json!(ts)), expected);
        prop_assert_eq!(valid_ts(&json!(ts.to_string())), expected);
    }
}

#[test]
fn prohibited_characters_are_the_documented_thirteen() {
    assert_eq!(PROHIBITED_CHARS.iter().collect::<String>(), "%><!|&.:;$'\"\\");
}

#[test]
fn the_word_at_a_time_prohibited_check_agrees_with_the_table_on_every_byte_and_position() {
    let fillers = ["a", "Z", "0", "_", "é", "{"];
    for filler in fillers {
        for len in 0..=17 {
            for at in 0..len.max(1) {
                for byte in 0u8..128 {
                    let mut text: Vec<char> = filler.repeat(len).chars().collect();
                    if len > 0 {
                        text[at] = char::from(byte);
                    }
                    let text: String = text.into_iter().collect();
                    let expected = prohibited_char(&text).is_some();
                    assert_eq!(has_prohibited_char(&text), expected, "{text:?}");
                }
            }
        }
    }
    assert!(has_prohibited_char("product_id.x") && !has_prohibited_char("product_id_x"));
}

#[test]
fn envelope_limits_are_1000_records_and_10_mib() {
    let records = |n: usize| json!({"d": vec![json!({}); n]}).to_string().into_bytes();
    assert_eq!(check_envelope(&records(1000)).unwrap().len(), 1000);
    let error = check_envelope(&records(1001)).unwrap_err();
    assert_eq!(error.status, 400);
    assert!(error.error.contains("1000"));
    assert_eq!(check_envelope(&vec![b' '; MAX_BODY_BYTES + 1]).unwrap_err().status, 413);
    assert_eq!(check_envelope(&vec![b' '; MAX_BODY_BYTES]).unwrap_err().error, MALFORMED);
}

#[test]
fn emails_and_phones() {
    for good in ["a@b.co", "first.last+tag@example.co.uk"] {
        assert!(valid_email(good), "{good}");
    }
    for bad in ["", "a", "a@", "@b.co", "a@b", "a@@b.co", "a b@c.co", "a@b..co"] {
        assert!(!valid_email(bad), "{bad}");
    }
    for good in ["+14155551234", "+4930123456", "+1"] {
        assert!(valid_phone(good), "{good}");
    }
    for bad in ["14155551234", "+", "+0123", "+1 415", "+1234567890123456", "+1-415"] {
        assert!(!valid_phone(bad), "{bad}");
    }
}

/// The unoptimised rule: every restricted name, compared with Unicode case and whitespace.
fn restricted_by_the_slow_path(name: &str) -> bool {
    RESTRICTED_EVENTS.iter().any(|restricted| names::same_ignoring_case_and_spaces(restricted, name))
}

#[test]
fn the_ascii_restricted_check_answers_as_the_unicode_one_for_every_ascii_byte() {
    let mut names: Vec<String> = RESTRICTED_EVENTS.iter().map(|n| n.to_string()).collect();
    names.extend(["trial_started", "App", "AppLaunchedX", ""].map(String::from));
    for name in &names {
        for byte in 0u8..128 {
            for at in [0, name.len() / 2, name.len()] {
                let mut variant = name.to_ascii_uppercase();
                variant.insert(at, char::from(byte));
                assert_eq!(is_restricted(&variant), restricted_by_the_slow_path(&variant), "{variant:?}");
            }
        }
    }
    assert!(is_restricted(" app\x0Blaunched "), "a vertical tab is whitespace");
    assert!(!is_restricted("app\x1Claunched"), "U+001C is not whitespace");
}

#[test]
fn non_ascii_restricted_names_keep_the_unicode_comparison() {
    // KELVIN SIGN lower-cases to 'k'; NO-BREAK SPACE is whitespace.
    assert!(is_restricted("Notification Clic\u{212A}ed"));
    assert!(is_restricted("App\u{A0}Launched"));
    assert!(!is_restricted("App Launchéd"));
}
