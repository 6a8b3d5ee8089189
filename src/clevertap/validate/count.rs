//! Counting an upload's records without checking them (a whole-request refusal journals one
//! outcome per record): one pass of the [`Cursor`] that skips each record, nothing parsed.

use super::MAX_RECORDS;
use super::scan::{Cursor, Next, Scan, Unsure};
use super::stream::scan_envelope;

/// Counts the records of an upload body without checking them: `Ok` when the body is
/// well-formed JSON with exactly one `d` array of 1 to [`MAX_RECORDS`] records (the count
/// [`parse_envelope`](super::parse_envelope) would give); [`Unsure`] otherwise.
pub(crate) fn count_records(text: &str) -> Scan<usize> {
    match scan_envelope(text, count_items)? {
        count @ 1..=MAX_RECORDS => Ok(count),
        _ => Err(Unsure),
    }
}

fn count_items(cursor: &mut Cursor) -> Scan<usize> {
    if cursor.next()? != Next::Array {
        return Err(Unsure);
    }
    cursor.open(b'[')?;
    let (mut first, mut count) = (true, 0);
    while cursor.item(&mut first)? {
        cursor.skip()?;
        count += 1;
    }
    Ok(count)
}
