//! Event-name and key rules without allocation: the restricted system events (513, compared
//! case-insensitively with whitespace ignored) and the prohibited characters (512).

use super::{PROHIBITED_CHARS, RESTRICTED_EVENTS};

/// Lower-case with every whitespace character removed (513's comparison).
pub fn normalise_event_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// True when `a` and `b` are equal ignoring ASCII case and whitespace (no allocation).
pub(super) fn same_ignoring_case_and_spaces(a: &str, b: &str) -> bool {
    let mut a = a.chars().filter(|c| !c.is_whitespace());
    let mut b = b.chars().filter(|c| !c.is_whitespace());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.to_lowercase().eq(y.to_lowercase()) => {}
            _ => return false,
        }
    }
}

/// True when `name` is one of [`RESTRICTED_EVENTS`] (case and spaces ignored).
pub fn is_restricted(name: &str) -> bool {
    if name.is_ascii() {
        return is_restricted_ascii(name);
    }
    RESTRICTED_EVENTS.iter().any(|restricted| same_ignoring_case_and_spaces(restricted, name))
}

/// [`is_restricted`] for an ASCII name, without Unicode case tables; the same answer (tested
/// against the slow path). Only the restricted names with the name's first letter (either case)
/// and length (spaces left out) are compared in full.
fn is_restricted_ascii(name: &str) -> bool {
    let Some(first) = name.bytes().find(|b| !is_ascii_space(*b)) else { return false };
    let mut candidates = RESTRICTED_BY_FIRST_BYTE[usize::from(first)];
    if candidates == 0 {
        return false;
    }
    let squeezed = name.bytes().filter(|b| !is_ascii_space(*b)).count();
    while candidates != 0 {
        let index = candidates.trailing_zeros() as usize;
        candidates &= candidates - 1;
        if RESTRICTED_SQUEEZED_LENGTHS[index] == squeezed
            && same_ascii_ignoring_case_and_spaces(RESTRICTED_EVENTS[index], name)
        {
            return true;
        }
    }
    false
}

/// For each byte, the restricted names (bit `i` for [`RESTRICTED_EVENTS`]`[i]`) that start with
/// it in either case.
static RESTRICTED_BY_FIRST_BYTE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < RESTRICTED_EVENTS.len() {
        let first = RESTRICTED_EVENTS[i].as_bytes()[0];
        table[first.to_ascii_lowercase() as usize] |= 1 << i;
        table[first.to_ascii_uppercase() as usize] |= 1 << i;
        i += 1;
    }
    table
};

/// The length of each of [`RESTRICTED_EVENTS`] without its spaces (all are ASCII).
static RESTRICTED_SQUEEZED_LENGTHS: [usize; RESTRICTED_EVENTS.len()] = {
    let mut lengths = [0; RESTRICTED_EVENTS.len()];
    let mut i = 0;
    while i < lengths.len() {
        let name = RESTRICTED_EVENTS[i].as_bytes();
        let mut j = 0;
        while j < name.len() {
            lengths[i] += (name[j] != b' ') as usize;
            j += 1;
        }
        i += 1;
    }
    lengths
};

/// ASCII whitespace as `char::is_whitespace` sees it (which, unlike `u8::is_ascii_whitespace`,
/// includes the vertical tab).
fn is_ascii_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// [`same_ignoring_case_and_spaces`] for ASCII `b`.
fn same_ascii_ignoring_case_and_spaces(a: &str, b: &str) -> bool {
    let mut a = a.bytes().filter(|c| !is_ascii_space(*c));
    let mut b = b.bytes().filter(|c| !is_ascii_space(*c));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
            _ => return false,
        }
    }
}

/// The bytes of [`PROHIBITED_CHARS`] (all ASCII), as a table.
static PROHIBITED_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < PROHIBITED_CHARS.len() {
        table[PROHIBITED_CHARS[i] as usize] = true;
        i += 1;
    }
    table
};

pub(super) fn prohibited_char(text: &str) -> Option<char> {
    // Every prohibited character is ASCII: look bytes up.
    text.bytes().find(|b| PROHIBITED_BYTES[usize::from(*b)]).map(char::from)
}

/// True when `text` holds a prohibited character: [`prohibited_char`]`(text).is_some()`,
/// eight bytes at a time. Text of only digits, letters, `_` and the like (`?`..`{` without
/// `\`) is passed in a few operations per word; other text is looked up byte by byte.
pub(super) fn has_prohibited_char(text: &str) -> bool {
    !all_plain(text.as_bytes()) && text.bytes().any(|b| PROHIBITED_BYTES[usize::from(b)])
}

/// True when every byte is certainly not prohibited ([`plain_word`]), read as whole words:
/// overlapping loads at both ends cover short and odd lengths without a byte loop.
#[inline(always)]
fn all_plain(bytes: &[u8]) -> bool {
    const PAD: u64 = u64::from_le_bytes([b'a'; 8]);
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
    let half = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes")));
    let quarter = |at: usize| u64::from(u16::from_le_bytes(bytes[at..at + 2].try_into().expect("two bytes")));
    let len = bytes.len();
    match len {
        0 => true,
        1 => plain_word(PAD << 8 | u64::from(bytes[0])),
        2..=3 => plain_word(PAD << 32 | quarter(0) | quarter(len - 2) << 16),
        4..=7 => plain_word(half(0) | half(len - 4) << 32),
        _ => (0..len / 8).all(|i| plain_word(word(i * 8))) && plain_word(word(len - 8)),
    }
}

/// True when every byte of `word` is certainly not prohibited: an ASCII digit, or in
/// `?`..=`{` and not `\`. `false` says nothing (the caller looks the bytes up).
#[inline(always)]
fn plain_word(word: u64) -> bool {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    if word & HIGH != 0 {
        return false; // non-ASCII: left to the table
    }
    // Per byte b < 0x80: the high bit of b + (0x80 - c) is set exactly when b >= c (no carry
    // crosses into the next byte).
    let at_least = |c: u8| word.wrapping_add(ONES * u64::from(0x80 - c)) & HIGH;
    let letters = at_least(b'?') & !at_least(b'|');
    let digits = at_least(b'0') & !at_least(b':');
    let backslash = word ^ (ONES * u64::from(b'\\'));
    // Flags every `\` (and may flag bytes above one: then the table decides).
    let backslashes = backslash.wrapping_sub(ONES) & !backslash & HIGH;
    (letters | digits) & HIGH == HIGH && backslashes == 0
}
