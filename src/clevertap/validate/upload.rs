//! [`Upload`]: the records of one request, checked the fast way when possible.
//!
//! [`Upload::read`] first tries the streaming pass ([`stream`](super::stream)): one scan of
//! the body that proves most records valid without building anything. Records it cannot
//! prove valid are parsed alone into a [`View`] and checked by [`check_view`]; a body it
//! cannot vouch for at all is parsed whole, as before ([`Upload::parse`], also the oracle
//! the tests compare against). Either way the answers are the same, byte for byte.

use serde_json::Value;

use super::stream::{Span, scan_upload};
use super::{EnvelopeError, MAX_BODY_BYTES, RecordError, Rules, check_view, parse_envelope};
use crate::clevertap::view::View;

/// The records of an upload whose envelope passed.
#[derive(Debug)]
pub(crate) enum Upload<'a> {
    /// Checked in one streaming pass; `parsed` holds the records the pass could not prove
    /// valid, each parsed alone (sorted by index).
    Scanned { text: &'a str, spans: Vec<Span>, parsed: Vec<(usize, View<'a>)> },
    /// Every record parsed as a [`View`].
    Parsed(Vec<View<'a>>),
}

/// One record's result as the answer needs it: `Err((code, message))` when skipped.
pub(crate) type RecordResult = Result<(), (u16, String)>;

impl<'a> Upload<'a> {
    /// Reads the envelope and checks what can be checked in the streaming pass.
    pub(crate) fn read(body: &'a [u8], rules: &Rules) -> Result<Upload<'a>, EnvelopeError> {
        Upload::scan(body, rules).map_or_else(|| Upload::parse(body), Ok)
    }

    fn scan(body: &'a [u8], rules: &Rules) -> Option<Upload<'a>> {
        if body.len() > MAX_BODY_BYTES {
            return None;
        }
        let text = std::str::from_utf8(body).ok()?;
        let spans = scan_upload(text, rules).ok()?;
        let mut parsed = Vec::new();
        for (index, span) in spans.iter().enumerate().filter(|(_, span)| !span.valid) {
            // The pass checked the syntax of the whole body, so this parse cannot fail; if it
            // ever did, the whole body goes the slow way.
            parsed.push((index, serde_json::from_str::<View>(&text[span.start..span.end]).ok()?));
        }
        Some(Upload::Scanned { text, spans, parsed })
    }

    /// Parses every record into a [`View`] (the way before the streaming pass).
    pub(crate) fn parse(body: &'a [u8]) -> Result<Upload<'a>, EnvelopeError> {
        parse_envelope(body).map(Upload::Parsed)
    }

    /// How many records the upload holds.
    pub(crate) fn len(&self) -> usize {
        match self {
            Upload::Scanned { spans, .. } => spans.len(),
            Upload::Parsed(records) => records.len(),
        }
    }

    fn view(&self, index: usize) -> Option<&View<'a>> {
        match self {
            Upload::Scanned { parsed, .. } => {
                parsed.binary_search_by_key(&index, |(i, _)| *i).ok().map(|at| &parsed[at].1)
            }
            Upload::Parsed(records) => records.get(index),
        }
    }

    /// Checks the record at 0-based `index`.
    pub(crate) fn check(&self, index: usize, rules: &Rules) -> Result<(), RecordError> {
        match self {
            Upload::Scanned { spans, .. } if spans[index].valid => Ok(()),
            _ => self.view(index).map_or(Ok(()), |view| check_view(view, rules)),
        }
    }

    /// Each record's result; the records numbered (1-based) in `partial` that pass get the
    /// `Partial` fault's code.
    pub(crate) fn results(&self, rules: &Rules, partial: &[usize]) -> Vec<RecordResult> {
        (0..self.len())
            .map(|index| match self.check(index, rules) {
                Err(e) => Err((e.code, e.message)),
                Ok(()) if partial.contains(&(index + 1)) => Err((
                    crate::clevertap::answer::PARTIAL_FAULT_CODE,
                    crate::clevertap::answer::PARTIAL_FAULT_TEXT.to_string(),
                )),
                Ok(()) => Ok(()),
            })
            .collect()
    }

    /// The record at 0-based `index` as a `Value`, to echo in `unprocessed`.
    pub(crate) fn echo(&self, index: usize) -> Value {
        if let Some(view) = self.view(index) {
            return view.to_value();
        }
        match self {
            Upload::Scanned { text, spans, .. } => spans
                .get(index)
                .and_then(|span| serde_json::from_str::<View>(&text[span.start..span.end]).ok())
                .map_or(Value::Null, |view| view.to_value()),
            Upload::Parsed(_) => Value::Null,
        }
    }

    /// True when the streaming pass read this upload (for tests and benchmarks).
    #[cfg(test)]
    pub(crate) fn streamed(&self) -> bool {
        matches!(self, Upload::Scanned { .. })
    }

    /// How many records the streaming pass proved valid without parsing them.
    #[cfg(test)]
    pub(crate) fn proven_valid(&self) -> usize {
        match self {
            Upload::Scanned { spans, .. } => spans.iter().filter(|span| span.valid).count(),
            Upload::Parsed(_) => 0,
        }
    }
}
