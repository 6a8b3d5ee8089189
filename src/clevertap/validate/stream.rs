//! The streaming check of an upload: one pass over the body with a [`Cursor`], each record
//! checked while its fields go by, nothing allocated but the list of record spans
//! and the string stops.
//!
//! The pass decides only one thing per record: **certainly valid** (every rule of
//! [`check_view`](super::check_view) passes). Anything else (a record that breaks a rule, a
//! token record, an escaped key, a repeated field, a value the pass does not read) is marked
//! for the slow path, which parses that record alone into a `View` and checks it with the
//! same functions as before: so the first error reported, its text, and the echo in
//! `unprocessed` stay exactly what they were.

use super::scan::{Cursor, Next, Scalar, Scan, Token, Unsure};
use super::{
    MAX_KEY_CHARS, MAX_NESTING_LEVEL, MAX_RECORDS, MAX_VALUE_BYTES, Rules, has_prohibited_char,
    is_restricted, usable_id, valid_email, valid_phone,
};

/// Where one record lies in the body, and whether the pass proved it valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub valid: bool,
}

/// Scans a whole upload body: `Ok` with every record's span when the body is well-formed JSON
/// with exactly one `d` array of 1 to [`MAX_RECORDS`] records; [`Unsure`] otherwise (the
/// slow path then answers, usually with a 400).
pub(crate) fn scan_upload(text: &str, rules: &Rules) -> Scan<Vec<Span>> {
    let records = scan_envelope(text, |cursor| scan_records(cursor, text.len(), rules))?;
    if records.is_empty() { Err(Unsure) } else { Ok(records) }
}

/// Walks an upload's envelope: `read_d` reads the one `d` member; any other member is
/// skipped. [`Unsure`] for anything but a well-formed object with exactly one plain `d`.
pub(crate) fn scan_envelope<T>(text: &str, mut read_d: impl FnMut(&mut Cursor) -> Scan<T>) -> Scan<T> {
    let mut cursor = Cursor::new(text);
    cursor.open(b'{')?;
    let mut d = None;
    let mut first = true;
    while let Some(key) = cursor.key(&mut first)? {
        match key.plain() {
            Some("d") if d.is_none() => d = Some(read_d(&mut cursor)?),
            Some(other) if other != "d" => cursor.skip()?,
            _ => return Err(Unsure), // a second `d` (the last wins), or an escaped key
        }
    }
    cursor.end()?;
    d.ok_or(Unsure)
}

/// Bytes per record assumed to size the span list (one allocation for typical bodies).
const BYTES_PER_RECORD_GUESS: usize = 150;

fn scan_records(cursor: &mut Cursor, body_len: usize, rules: &Rules) -> Scan<Vec<Span>> {
    if cursor.next()? != Next::Array {
        return Err(Unsure);
    }
    cursor.open(b'[')?;
    let mut spans = Vec::with_capacity((body_len / BYTES_PER_RECORD_GUESS).clamp(1, MAX_RECORDS));
    let mut first = true;
    while cursor.item(&mut first)? {
        if spans.len() == MAX_RECORDS {
            return Err(Unsure); // too many records: the slow path counts them for the 400
        }
        let next = cursor.next()?;
        let start = cursor.pos();
        let valid =
            if next == Next::Object { record(cursor, rules)? } else { cursor.skip().map(|_| false)? };
        spans.push(Span { start, end: cursor.pos(), valid });
    }
    Ok(spans)
}

/// What one record's fields showed so far.
#[derive(Default)]
struct Facts<'a> {
    /// Record-level fields seen (a bit per [`Field`]): a repeated one goes to the slow path.
    seen: u16,
    /// Something fails, or the pass cannot tell, whatever the type.
    unsure: bool,
    kind: Option<Kind>,
    /// Some identity field is usable.
    identity: bool,
    name: Option<&'a str>,
    /// `evtData` was present.
    data: bool,
    /// Something in `evtName` or `evtData` fails or is not read (matters for events only).
    event_unsure: bool,
    /// `evtData` holds `Items`, an array of objects: valid on `Charged` only.
    items: bool,
    /// Something in `profileData` fails or is not read (matters for profiles only).
    profile_unsure: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Event,
    Profile,
}

/// The record-level fields the rules read.
#[derive(Clone, Copy)]
enum Field {
    Type,
    Identity,
    Fbid,
    Gpid,
    ObjectId,
    Ts,
    EvtName,
    EvtData,
    ProfileData,
}

impl Field {
    fn of(key: &str) -> Option<Field> {
        Some(match key {
            "type" => Field::Type,
            "identity" => Field::Identity,
            "FBID" => Field::Fbid,
            "GPID" => Field::Gpid,
            "objectId" => Field::ObjectId,
            "ts" => Field::Ts,
            "evtName" => Field::EvtName,
            "evtData" => Field::EvtData,
            "profileData" => Field::ProfileData,
            _ => return None,
        })
    }
}

/// Scans one record object; true when it is certainly valid.
fn record<'a>(cursor: &mut Cursor<'a>, rules: &Rules) -> Scan<bool> {
    let mut facts = Facts::default();
    cursor.open(b'{')?;
    let mut first = true;
    while let Some(key) = cursor.key(&mut first)? {
        let field = match key.plain() {
            Some(key) => Field::of(key),
            None => {
                facts.unsure = true; // an escaped key might spell a field name
                None
            }
        };
        let Some(field) = field else {
            cursor.skip()?;
            continue;
        };
        let bit = 1 << field as u16;
        if facts.seen & bit != 0 {
            facts.unsure = true; // a repeated field: the last one wins
        }
        facts.seen |= bit;
        read_field(cursor, field, rules, &mut facts)?;
    }
    Ok(facts.valid(rules))
}

fn read_field<'a>(cursor: &mut Cursor<'a>, field: Field, rules: &Rules, facts: &mut Facts<'a>) -> Scan<()> {
    match field {
        Field::EvtData => return event_data(cursor, rules, facts),
        Field::ProfileData => {
            facts.profile_unsure |= !profile_data(cursor)?;
            return Ok(());
        }
        _ => {}
    }
    let Some(value) = cursor.value()? else {
        // An array or object: fails `type`, `objectId`, `ts` and `evtName`; no usable identity.
        match field {
            Field::EvtName => facts.event_unsure = true,
            Field::Identity | Field::Fbid | Field::Gpid => {}
            _ => facts.unsure = true,
        }
        return Ok(());
    };
    match (field, value) {
        (Field::Type, Scalar::Str(Token { raw: "event", escaped: false })) => facts.kind = Some(Kind::Event),
        (Field::Type, Scalar::Str(Token { raw: "profile", escaped: false })) => {
            facts.kind = Some(Kind::Profile)
        }
        (Field::Type, _) => facts.unsure = true, // a token record, or 524
        (Field::Identity | Field::Fbid | Field::Gpid, value) => facts.identity |= usable_identity(value),
        (Field::ObjectId, Scalar::Null) => {}
        (Field::ObjectId, Scalar::Str(Token { raw, escaped: false })) if !raw.is_empty() => {
            facts.identity |= usable_id(raw);
        }
        (Field::ObjectId, _) => facts.unsure = true,
        (Field::Ts, value) => facts.unsure |= !valid_ts(value),
        (Field::EvtName, Scalar::Null) => {}
        (Field::EvtName, Scalar::Str(Token { raw, escaped: false })) => facts.name = Some(raw),
        (Field::EvtName, _) => facts.event_unsure = true,
        (Field::EvtData | Field::ProfileData, _) => {} // read above
    }
    Ok(())
}

fn usable_identity(value: Scalar) -> bool {
    match value {
        Scalar::Str(Token { raw, escaped: false }) => usable_id(raw),
        Scalar::Num(_) => true,
        _ => false,
    }
}

/// The `ts` rule (525) on what the pass read; `false` also where it cannot tell.
fn valid_ts(value: Scalar) -> bool {
    const LIMIT: u64 = 100_000_000_000;
    match value {
        Scalar::Null => true,
        Scalar::Num(Some(secs)) => secs > 0 && secs < LIMIT,
        Scalar::Str(Token { raw, escaped: false }) => {
            !raw.is_empty()
                && raw.len() <= 11
                && raw.bytes().all(|b| b.is_ascii_digit())
                && raw.bytes().any(|b| b != b'0')
        }
        _ => false,
    }
}

impl Facts<'_> {
    fn valid(&self, rules: &Rules) -> bool {
        if self.unsure || !self.identity {
            return false;
        }
        match self.kind {
            Some(Kind::Event) => self.valid_event(rules),
            Some(Kind::Profile) => !self.profile_unsure,
            None => false,
        }
    }

    fn valid_event(&self, rules: &Rules) -> bool {
        let Some(name) = self.name else { return false };
        let items_allowed = !self.items || name == "Charged";
        let blank = !name.as_bytes().first().is_some_and(u8::is_ascii_graphic) && name.trim().is_empty();
        !self.event_unsure
            && self.data
            && items_allowed
            && !blank
            && !is_restricted(name)
            && !rules.discarded.contains(name)
            && !has_prohibited_char(name)
    }
}

/// A property key that passes the key rules (512).
fn valid_key(key: Token) -> bool {
    key.plain().is_some_and(|key| {
        let too_long = key.len() > MAX_KEY_CHARS && key.chars().count() > MAX_KEY_CHARS;
        !too_long && !has_prohibited_char(key)
    })
}

/// A scalar that passes the value rule (512): a string of at most 512 bytes, or no string.
/// An escaped string is measured raw, which is never shorter than its value.
fn valid_scalar(value: Scalar) -> bool {
    match value {
        Scalar::Str(token) => token.raw.len() <= MAX_VALUE_BYTES,
        _ => true,
    }
}

fn event_data<'a>(cursor: &mut Cursor<'a>, rules: &Rules, facts: &mut Facts<'a>) -> Scan<()> {
    facts.data = true;
    if cursor.next()? != Next::Object {
        facts.event_unsure = true;
        return cursor.skip();
    }
    cursor.open(b'{')?;
    let (mut first, mut count, mut ok) = (true, 0usize, true);
    while let Some(key) = cursor.key(&mut first)? {
        ok &= valid_key(key);
        let next = cursor.next()?;
        match next {
            Next::Null => {
                cursor.scalar(next)?;
                continue;
            }
            Next::Array | Next::Object if rules.nested_objects => ok &= nested_value(cursor, 0)?,
            Next::Array if key.plain() == Some("Items") => {
                let objects = array_of_objects(cursor)?;
                ok &= objects;
                facts.items |= objects;
            }
            Next::Array | Next::Object => {
                cursor.skip()?;
                ok = false;
            }
            _ => ok &= valid_scalar(cursor.scalar(next)?),
        }
        count += 1;
    }
    facts.event_unsure |= !ok || count > rules.property_limit;
    Ok(())
}

fn array_of_objects(cursor: &mut Cursor) -> Scan<bool> {
    cursor.open(b'[')?;
    let (mut first, mut ok) = (true, true);
    while cursor.item(&mut first)? {
        ok &= cursor.next()? == Next::Object;
        cursor.skip()?;
    }
    Ok(ok)
}

/// A nested property value at `level` (Nested Objects on), as `nested::check_value` sees it.
fn nested_value(cursor: &mut Cursor, level: usize) -> Scan<bool> {
    match cursor.next()? {
        Next::Object => nested_object(cursor, level),
        Next::Array => {
            cursor.open(b'[')?;
            let (mut first, mut ok) = (true, true);
            while cursor.item(&mut first)? {
                ok &= match cursor.next()? {
                    Next::Array => cursor.skip().map(|_| false)?, // an array of arrays
                    Next::Object => nested_object(cursor, level)?,
                    next => valid_scalar(cursor.scalar(next)?),
                };
            }
            Ok(ok)
        }
        next => Ok(valid_scalar(cursor.scalar(next)?)),
    }
}

fn nested_object(cursor: &mut Cursor, level: usize) -> Scan<bool> {
    cursor.open(b'{')?;
    let inner = level + 1;
    let (mut first, mut ok) = (true, true);
    while let Some(key) = cursor.key(&mut first)? {
        ok &= inner <= MAX_NESTING_LEVEL && valid_key(key);
        ok &= nested_value(cursor, inner)?;
    }
    Ok(ok)
}

/// `profileData` (514-520); true when certainly valid (absent, `null`, or an object whose
/// checked fields pass, each at most once).
fn profile_data(cursor: &mut Cursor) -> Scan<bool> {
    match cursor.next()? {
        Next::Null => return cursor.skip().map(|_| true),
        Next::Object => {}
        _ => return cursor.skip().map(|_| false),
    }
    cursor.open(b'{')?;
    let (mut first, mut ok, mut seen) = (true, true, 0u8);
    while let Some(key) = cursor.key(&mut first)? {
        let Some(key) = key.plain() else {
            cursor.skip()?;
            ok = false;
            continue;
        };
        let Some((index, rule)) = PROFILE_RULES.iter().enumerate().find(|(_, (name, _))| *name == key) else {
            cursor.skip()?;
            continue;
        };
        ok &= seen & (1 << index) == 0;
        seen |= 1 << index;
        ok &= match cursor.value()? {
            Some(Scalar::Null) => true,
            Some(value) => (rule.1)(value),
            None => false,
        };
    }
    Ok(ok)
}

type ProfileRule = fn(Scalar) -> bool;

/// The profile fields the rules check, each with its test on a non-null value.
const PROFILE_RULES: [(&str, ProfileRule); 7] = [
    ("Gender", |v| one_of(v, &["M", "F"])),
    ("Email", |v| plain(v).is_some_and(valid_email)),
    ("Phone", |v| plain(v).is_some_and(valid_phone)),
    ("Employed", |v| one_of(v, &["Y", "N"])),
    ("Education", |v| one_of(v, &["School", "College", "Graduate"])),
    ("Married", |v| one_of(v, &["Y", "N"])),
    ("Age", |v| match v {
        Scalar::Num(_) => true,
        other => plain(other).is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())),
    }),
];

fn plain(value: Scalar<'_>) -> Option<&str> {
    match value {
        Scalar::Str(token) => token.plain(),
        _ => None,
    }
}

fn one_of(value: Scalar, allowed: &[&str]) -> bool {
    plain(value).is_some_and(|s| allowed.contains(&s))
}
