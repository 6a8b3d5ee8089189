//! Seeded random upload bodies for the streaming pass's differential test: mostly valid
//! records, every rule's violation, escapes, repeated keys, unicode, nested values, numbers
//! and tokens at the edge of JSON's grammar, deep nesting, and random byte mutations.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::clevertap::validate::Rules;

pub(super) struct Gen {
    rng: StdRng,
    /// This body may get syntax errors and values the pass leaves to serde_json.
    hostile: bool,
}

const NAMES: &[&str] = &[
    "subscription_renewed",
    "trial_started",
    "Charged",
    "charged",
    "App Launched",
    "app launched",
    " AppLaunched ",
    "NOTIFICATION  sent",
    "Notification Clic\u{212A}ed",
    "App\u{A0}Launched",
    "App Launchéd",
    "purchase.done",
    "a:b",
    "x$y",
    "100%",
    "café_event",
    "日本語イベント",
    "",
    "   ",
    "Stayed",
    "stayed1",
    "Web Page Viewed!",
    "discard_me",
];

const KEYS: &[&str] = &[
    "platform",
    "product_id",
    "revenue",
    "currency",
    "Items",
    "a.b",
    "k$",
    "",
    "ключ",
    "quote\"d",
    "back\\slash",
    "tab\tkey",
    "Amount",
    "deep",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "42",
    "-7",
    "6.993",
    "1e3",
    "1E+2",
    "2.5e-3",
    "1e99",
    "1e400",
    "-1e400",
    "1e-400",
    "1.7976931348623157e308",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "0.000000000000000000000000000001",
    "1717000000",
    "99999999999",
    "100000000000",
    "01",
    "1.",
    "-",
    ".5",
    "+1",
];

/// Values serde_json refuses, or that only just pass.
const EDGE_TOKENS: &[&str] = &[
    "nul",
    "True",
    "[1,]",
    "{\"a\":1,}",
    "{,}",
    "[,]",
    "[1 2]",
    "{\"a\" 1}",
    "{1:2}",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800\\u0041\"",
    "\"\\ud83d\\ude00\"",
    "\"\\uD83D\\uDE00\"",
    "\"\\u00g0\"",
    "\"\\x\"",
    "\"tab\there\"",
    "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
    "\"\u{7f}\"",
    "[]",
    "{}",
    "[[]]",
];

impl Gen {
    pub(super) fn new(seed: u64) -> Gen {
        Gen { rng: StdRng::seed_from_u64(seed), hostile: false }
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    /// A chance taken in hostile bodies only.
    fn rarely(&mut self, p: f64) -> bool {
        self.hostile && self.rng.gen_bool(p)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.choose(&mut self.rng).copied().unwrap_or("")
    }

    fn ws(&mut self) -> &'static str {
        if self.chance(0.85) { "" } else { self.pick(&[" ", "\n", "\t ", "\r\n  "]) }
    }

    /// `text` as a JSON string, sometimes with needless escapes (`\u0041`, `\/`).
    fn string(&mut self, text: &str) -> String {
        let quoted = serde_json::to_string(text).expect("strings serialise");
        if !self.chance(0.15) {
            return quoted;
        }
        let mut out = String::from("\"");
        for c in quoted[1..quoted.len() - 1].chars() {
            match c {
                'a'..='z' if self.chance(0.2) => out.push_str(&format!("\\u{:04x}", c as u32)),
                '/' => out.push_str("\\/"),
                'é' if self.chance(0.5) => out.push_str("\\u00E9"),
                _ => out.push(c),
            }
        }
        if self.rarely(0.2) {
            out.push_str(self.pick(&["\\ud83d\\ude00", "\\ud800", "\\udc00x", "\\n", "\\x", "\u{1}"]));
        }
        out.push('"');
        out
    }

    fn object(&mut self, fields: &[(String, String)]) -> String {
        let mut out = format!("{{{}", self.ws());
        for (i, (key, value)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let key = self.string(key);
            let (a, b, c) = (self.ws(), self.ws(), self.ws());
            out.push_str(&format!("{a}{key}{b}:{c}{value}"));
        }
        if self.rarely(0.02) {
            out.push(',');
        }
        out.push_str(self.ws());
        out.push('}');
        out
    }

    fn array(&mut self, items: &[String]) -> String {
        let sep = if self.chance(0.1) { " , " } else { "," };
        format!("[{}{}]", items.join(sep), self.ws())
    }

    fn long(&mut self, unit: &str, count: usize) -> String {
        unit.repeat(count)
    }

    fn text_value(&mut self) -> String {
        let text = match self.rng.gen_range(0..8) {
            0 => self.long("a", 512),
            1 => self.long("a", 513),
            2 => self.long("é", 256),
            3 => format!("{}\n", self.long("b", 509)),
            4 => "$D_1717000000".to_string(),
            5 => "".to_string(),
            _ => self.pick(&["iOS", "com.example.pro.monthly", "EUR", "ünïcode", "a\"b"]).to_string(),
        };
        self.string(&text)
    }

    fn scalar(&mut self) -> String {
        match self.rng.gen_range(0..6) {
            0 if self.rarely(0.3) => self.pick(NUMBERS).to_string(),
            0 => {
                self.pick(&["0", "1", "42", "-7", "6.993", "1E+2", "2.5e-3", "-0", "1717000000"]).to_string()
            }
            1 if self.rarely(0.1) => self.pick(&["nul", "tru", "True"]).to_string(),
            1 => self.pick(&["true", "false", "null"]).to_string(),
            _ => self.text_value(),
        }
    }

    /// Any value, nested up to `depth` more levels.
    fn value(&mut self, depth: usize) -> String {
        if depth == 0 || self.chance(0.6) {
            return self.scalar();
        }
        let count = self.rng.gen_range(0..4);
        if self.chance(0.5) {
            let items: Vec<String> = (0..count).map(|_| self.value(depth - 1)).collect();
            self.array(&items)
        } else {
            let fields: Vec<(String, String)> =
                (0..count).map(|_| (self.key(), self.value(depth - 1))).collect();
            self.object(&fields)
        }
    }

    fn key(&mut self) -> String {
        match self.rng.gen_range(0..12) {
            0 => self.long("k", 120),
            1 => self.long("k", 121),
            2 => self.long("ж", 120),
            3 => self.long("ж", 121),
            _ => self.pick(KEYS).to_string(),
        }
    }

    fn deep(&mut self) -> String {
        let depth = self.rng.gen_range(90..135);
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    }

    fn event_data(&mut self) -> String {
        match self.rng.gen_range(0..20) {
            0 => return self.pick(&["null", "[]", "\"x\"", "1"]).to_string(),
            1 if self.hostile => return self.deep(),
            _ => {}
        }
        let count = if self.chance(0.05) { self.rng.gen_range(98..103) } else { self.rng.gen_range(0..6) };
        let fields: Vec<(String, String)> = (0..count)
            .map(|i| {
                let key = if count > 20 { format!("p{i}") } else { self.key() };
                let value = match self.rng.gen_range(0..10) {
                    0 => self.items(),
                    1 | 2 => self.value(4),
                    3 => "null".to_string(),
                    _ => self.scalar(),
                };
                (key, value)
            })
            .collect();
        self.object(&fields)
    }

    fn items(&mut self) -> String {
        let count = self.rng.gen_range(0..3);
        let items: Vec<String> = (0..count)
            .map(|_| if self.chance(0.85) { self.value(3).replace("1e400", "1") } else { "{}".into() })
            .collect();
        let items: Vec<String> = items
            .into_iter()
            .map(|v| if v.starts_with('{') || self.chance(0.3) { v } else { "{}".into() })
            .collect();
        self.array(&items)
    }

    fn identity(&mut self) -> String {
        match self.rng.gen_range(0..14) {
            0 => self.string(&"a".repeat(120)),
            1 => self.string(&"a".repeat(121)),
            2 => self.string(&"é".repeat(120)),
            3 => self.string(&"é".repeat(121)),
            4 => self.pick(&["\"\"", "null", "true", "[]", "{}", "-3.5e2", "42"]).to_string(),
            _ => {
                let user = format!("user-{}", self.rng.gen_range(0..1000));
                self.string(&user)
            }
        }
    }

    fn ts(&mut self) -> String {
        let options = [
            "1717000000",
            "0",
            "-1",
            "99999999999",
            "100000000000",
            "1.5",
            "1e9",
            "\"1717000000\"",
            "\"0\"",
            "\"00000000001\"",
            "\"\"",
            "\"17a\"",
            "\"123456789012\"",
            "null",
            "true",
            "18446744073709551616",
            "\"\\u0031\"",
            "[1]",
        ];
        self.pick(&options).to_string()
    }

    fn profile_data(&mut self) -> String {
        if self.chance(0.1) {
            return self.pick(&["null", "\"x\"", "[]", "{}"]).to_string();
        }
        let good: &[(&str, &[&str])] = &[
            ("Gender", &["\"M\"", "\"F\"", "\"m\"", "1", "null"]),
            ("Email", &["\"a@b.co\"", "\"a@b\"", "\"a b@c.co\"", "5", "null"]),
            ("Phone", &["\"+14155551234\"", "\"14155551234\"", "\"+0123\"", "\"\\u002B1\""]),
            ("Employed", &["\"Y\"", "\"N\"", "\"yes\""]),
            ("Education", &["\"School\"", "\"College\"", "\"Graduate\"", "\"PhD\""]),
            ("Married", &["\"Y\"", "\"N\"", "true"]),
            ("Age", &["30", "\"30\"", "\"3x\"", "\"\"", "-1.5", "{}"]),
            ("Name", &["\"Ann\"", "{\"a\":[1]}"]),
        ];
        let count = self.rng.gen_range(0..5);
        let fields: Vec<(String, String)> = (0..count)
            .map(|_| {
                let (key, values) = good.choose(&mut self.rng).copied().expect("not empty");
                (key.to_string(), self.pick(values).to_string())
            })
            .collect();
        self.object(&fields)
    }

    fn token_data(&mut self) -> String {
        let kind = self.pick(&["\"fcm\"", "\"chrome\"", "\"apns\"", "\"bad\"", "\"\"", "1"]);
        let keys = self.pick(&["{\"p256dh\":\"x\",\"auth\":\"y\"}", "{\"p256dh\":\"x\"}", "null"]);
        let id = self.pick(&["\"tok\"", "\"\"", "7"]);
        let mut fields = vec![("id".to_string(), id.to_string()), ("type".into(), kind.into())];
        if self.chance(0.5) {
            fields.push(("keys".into(), keys.into()));
        }
        fields.shuffle(&mut self.rng);
        self.object(&fields)
    }

    /// A key that passes the key rules.
    fn good_key(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0 => self.long("k", 120),
            1 => self.long("ж", 120),
            _ => self.pick(&["platform", "product_id", "revenue", "ключ", "", "a b", "Amount"]).to_string(),
        }
    }

    /// A value `depth` objects deep (arrays around objects add no level), valid keys.
    fn nested(&mut self, depth: usize) -> String {
        if depth == 0 {
            return self.scalar();
        }
        let (key, inner) = (self.good_key(), self.nested(depth - 1));
        let object = self.object(&[(key, inner)]);
        if self.chance(0.3) { format!("[{object}, {}]", self.scalar()) } else { object }
    }

    /// A record meant to pass every rule (bad luck in hostile bodies aside).
    fn valid_record(&mut self) -> String {
        let user = format!("user-{}", self.rng.gen_range(0..1000));
        let mut fields =
            vec![("identity".to_string(), self.string(&user)), ("ts".to_string(), "1717000000".to_string())];
        if self.chance(0.2) {
            let mut data = Vec::new();
            for (key, values) in [("Email", "\"a@b.co\""), ("Phone", "\"+14155551234\""), ("Age", "\"30\"")] {
                if self.chance(0.5) {
                    data.push((key.to_string(), values.to_string()));
                }
            }
            data.push((self.good_key(), self.value(3)));
            fields.push(("type".into(), "\"profile\"".into()));
            fields.push(("profileData".into(), self.object(&data)));
        } else {
            let name = self.pick(&[
                "subscription_renewed",
                "trial_started",
                "Charged",
                "café_event",
                "日本語イベント",
            ]);
            let mut data = Vec::new();
            for _ in 0..self.rng.gen_range(0..5) {
                data.push((self.good_key(), self.scalar()));
            }
            if self.chance(0.3) {
                let depth = self.rng.gen_range(1..6);
                data.push((self.good_key(), self.nested(depth)));
            }
            if self.chance(0.2) {
                data.push(("Items".into(), self.items()));
            }
            fields.push(("type".into(), "\"event\"".into()));
            fields.push(("evtName".into(), self.string(name)));
            fields.push(("evtData".into(), self.object(&data)));
        }
        if self.chance(0.3) {
            fields.push((self.good_key(), self.value(3)));
        }
        if self.chance(0.1) {
            // One token at the edge of JSON's grammar in an otherwise valid record.
            let edge = if self.chance(0.5) { self.pick(NUMBERS) } else { self.pick(EDGE_TOKENS) };
            fields.push(("extra".into(), edge.to_string()));
        }
        fields.shuffle(&mut self.rng);
        self.object(&fields)
    }

    fn record(&mut self) -> String {
        if self.chance(0.5) {
            return self.valid_record();
        }
        if self.chance(0.03) {
            return self.pick(&["1", "\"x\"", "[]", "null", "{}"]).to_string();
        }
        let kind = match self.rng.gen_range(0..20) {
            0 => self.pick(&["\"Event\"", "\"\"", "5", "\"ev\\u0065nt\"", "null"]).to_string(),
            1 | 2 => "\"token\"".to_string(),
            3..=6 => "\"profile\"".to_string(),
            _ => "\"event\"".to_string(),
        };
        let mut fields = Vec::new();
        if !self.chance(0.03) {
            fields.push(("type".to_string(), kind));
        }
        let id_key = self.pick(&["identity", "identity", "identity", "FBID", "GPID", "objectId"]);
        if !self.chance(0.04) {
            fields.push((id_key.to_string(), self.identity()));
        }
        if self.chance(0.1) {
            let key = self.pick(&["objectId", "GPID", "FBID"]);
            fields.push((key.to_string(), self.identity()));
        }
        if self.chance(0.8) {
            fields.push(("ts".to_string(), if self.chance(0.7) { "1717000000".into() } else { self.ts() }));
        }
        if !self.chance(0.05) {
            let name = self.pick(NAMES);
            let name = if self.chance(0.03) {
                self.pick(&["null", "1", "{}"]).to_string()
            } else {
                self.string(name)
            };
            fields.push(("evtName".to_string(), name));
        }
        if !self.chance(0.05) {
            fields.push(("evtData".to_string(), self.event_data()));
        }
        if self.chance(0.3) {
            fields.push(("profileData".to_string(), self.profile_data()));
        }
        if self.chance(0.15) {
            fields.push(("tokenData".to_string(), self.token_data()));
        }
        if self.chance(0.15) {
            fields.push((self.key(), self.value(3)));
        }
        fields.shuffle(&mut self.rng);
        if self.chance(0.05) && !fields.is_empty() {
            let copy = fields[self.rng.gen_range(0..fields.len())].clone();
            let at = self.rng.gen_range(0..=fields.len());
            fields.insert(at, copy);
        }
        self.object(&fields)
    }

    pub(super) fn body(&mut self) -> Vec<u8> {
        self.hostile = self.chance(0.3);
        let count = match self.rng.gen_range(0..200) {
            0 => 0,
            1 => 1001,
            2 => 1000,
            _ => self.rng.gen_range(1..6),
        };
        let records: Vec<String> = if count >= 1000 {
            vec!["{\"type\":\"event\",\"identity\":1,\"evtName\":\"e\",\"evtData\":{}}".to_string(); count]
        } else {
            (0..count).map(|_| self.record()).collect()
        };
        let d = self.array(&records);
        let mut fields = vec![("d".to_string(), d)];
        match self.rng.gen_range(0..30) {
            0 => fields.push(("d".into(), "[{}]".into())),
            1 => fields.insert(0, ("d".into(), "[{}]".into())),
            2 => fields.push(("extra".into(), self.value(3))),
            3 => fields[0].0 = "D".into(),
            4 => fields[0].1 = "{}".into(),
            _ => {}
        }
        let mut body = format!("{}{}{}", self.ws(), self.object(&fields), self.ws()).into_bytes();
        if self.rarely(0.03) {
            body.extend_from_slice(self.pick(&["x", "}", " 1", "\u{feff}"]).as_bytes());
        }
        if self.rarely(0.5) {
            self.mutate(&mut body);
        }
        body
    }

    /// One random edit of a byte: a cut, an insertion, a replacement.
    fn mutate(&mut self, body: &mut Vec<u8>) {
        if body.is_empty() {
            return;
        }
        let at = self.rng.gen_range(0..body.len());
        let byte = *b"\"{}[],:\\ 0e.-+tnu\x01\xc3".choose(&mut self.rng).expect("not empty");
        match self.rng.gen_range(0..3) {
            0 => {
                body.remove(at);
            }
            1 => body.insert(at, byte),
            _ => body[at] = byte,
        }
    }

    pub(super) fn rules(&mut self) -> Rules {
        let mut rules = Rules { nested_objects: self.chance(0.5), ..Rules::default() };
        if self.chance(0.3) {
            rules.property_limit = self.rng.gen_range(0..4);
        }
        if self.chance(0.3) {
            rules.discarded.insert("discard_me".to_string());
        }
        rules
    }
}
