//! [`Cursor`]: a validating JSON tokenizer over a UTF-8 body. It allocates one thing, the
//! body's string [`Stops`] (a bit per byte), and nothing per token.
//!
//! It accepts a subset of what `serde_json::from_str` accepts, never more: whatever it is not
//! sure of (invalid JSON, a `\u` escape of a UTF-16 surrogate, an exponent or integer part large
//! enough to overflow an `f64`, nesting deeper than [`MAX_DEPTH`]) is [`Unsure`], and the
//! caller then parses the body the slow way, which gives the exact answer (often a 400).

use super::stops::Stops;

/// The cursor cannot vouch for the body: check it on the slow path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsure;

/// A scan result.
pub(crate) type Scan<T> = Result<T, Unsure>;

/// Deepest nesting the cursor follows (serde_json refuses at 128).
const MAX_DEPTH: usize = 100;
/// Most integer digits of a number without exponent: 10^300 is far below `f64::MAX`.
const MAX_INT_DIGITS: usize = 300;
/// Most integer digits of a number with a positive exponent of at most [`MAX_EXP_DIGITS`].
const MAX_INT_DIGITS_WITH_EXP: usize = 200;
/// Most exponent digits followed (10^(200 + 99) is still finite).
const MAX_EXP_DIGITS: usize = 2;

/// A string: its raw text between the quotes, and whether that text holds escapes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub raw: &'a str,
    pub escaped: bool,
}

impl<'a> Token<'a> {
    /// The string's value when it has no escapes (then the raw text is the value).
    pub(crate) fn plain(self) -> Option<&'a str> {
        (!self.escaped).then_some(self.raw)
    }
}

/// The kind of the next value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Str,
    Num,
    Null,
    Bool,
    Array,
    Object,
}

/// A scalar value that has been consumed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar<'a> {
    Str(Token<'a>),
    /// A number; the value when it is a plain unsigned integer of at most 19 digits.
    Num(Option<u64>),
    Null,
    Bool,
}

/// A position in the body; every method checks what it consumes.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
    /// Where strings may end, found for the whole body at once.
    stops: Stops,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0, depth: 0, stops: Stops::of(text.as_bytes()) }
    }

    /// The byte offset of the cursor.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    #[inline(always)]
    fn byte(&self) -> Scan<u8> {
        self.bytes().get(self.pos).copied().ok_or(Unsure)
    }

    /// Skips JSON whitespace (serde_json's four bytes).
    #[inline(always)]
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn expect(&mut self, byte: u8) -> Scan<()> {
        if self.byte()? != byte {
            return Err(Unsure);
        }
        self.pos += 1;
        Ok(())
    }

    /// Skips whitespace and says what the next value is.
    #[inline(always)]
    pub(crate) fn next(&mut self) -> Scan<Next> {
        self.ws();
        Ok(match self.byte()? {
            b'"' => Next::Str,
            b'-' | b'0'..=b'9' => Next::Num,
            b'n' => Next::Null,
            b't' | b'f' => Next::Bool,
            b'[' => Next::Array,
            b'{' => Next::Object,
            _ => return Err(Unsure),
        })
    }

    /// The end of the body: only whitespace may follow the value.
    pub(crate) fn end(&mut self) -> Scan<()> {
        self.ws();
        if self.pos == self.text.len() { Ok(()) } else { Err(Unsure) }
    }

    /// Consumes the scalar `next` says is there (not an array or object).
    #[inline(always)]
    pub(crate) fn scalar(&mut self, next: Next) -> Scan<Scalar<'a>> {
        Ok(match next {
            Next::Str => Scalar::Str(self.string()?),
            Next::Num => Scalar::Num(self.number()?),
            Next::Null => {
                self.literal(b"null")?;
                Scalar::Null
            }
            Next::Bool => {
                let word: &[u8] = if self.byte()? == b't' { b"true" } else { b"false" };
                self.literal(word)?;
                Scalar::Bool
            }
            Next::Array | Next::Object => return Err(Unsure),
        })
    }

    /// Consumes the next value, whatever it is: a scalar, or an array or object if `None`.
    #[inline(always)]
    pub(crate) fn value(&mut self) -> Scan<Option<Scalar<'a>>> {
        match self.next()? {
            next @ (Next::Array | Next::Object) => {
                self.skip_container(next)?;
                Ok(None)
            }
            next => self.scalar(next).map(Some),
        }
    }

    /// Consumes the next value.
    pub(crate) fn skip(&mut self) -> Scan<()> {
        self.value().map(drop)
    }

    fn skip_container(&mut self, next: Next) -> Scan<()> {
        let mut first = true;
        if next == Next::Array {
            self.open(b'[')?;
            while self.item(&mut first)? {
                self.skip()?;
            }
        } else {
            self.open(b'{')?;
            while self.key(&mut first)?.is_some() {
                self.skip()?;
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Scan<()> {
        if !self.bytes()[self.pos..].starts_with(word) {
            return Err(Unsure);
        }
        self.pos += word.len();
        Ok(())
    }

    /// Enters an array (`[`) or object (`{`) after whitespace.
    #[inline(always)]
    pub(crate) fn open(&mut self, bracket: u8) -> Scan<()> {
        self.ws();
        self.expect(bracket)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(Unsure) } else { Ok(()) }
    }

    /// Moves to the next array item; false (the `]` consumed) at the end of the array.
    #[inline(always)]
    pub(crate) fn item(&mut self, first: &mut bool) -> Scan<bool> {
        self.ws();
        let byte = self.byte()?;
        if std::mem::take(first) {
            return if byte == b']' { self.close() } else { Ok(true) };
        }
        match byte {
            b']' => self.close(),
            b',' => {
                self.pos += 1;
                self.ws();
                // `]` here is a trailing comma; any other mistake fails in the item itself.
                if self.byte()? == b']' { Err(Unsure) } else { Ok(true) }
            }
            _ => Err(Unsure),
        }
    }

    /// Moves to the next object key and past its `:`; `None` (the `}` consumed) at the end.
    #[inline(always)]
    pub(crate) fn key(&mut self, first: &mut bool) -> Scan<Option<Token<'a>>> {
        self.ws();
        let byte = self.byte()?;
        if !std::mem::take(first) {
            if byte == b'}' {
                return self.close().map(|_| None);
            }
            if byte != b',' {
                return Err(Unsure);
            }
            self.pos += 1;
            self.ws();
        } else if byte == b'}' {
            return self.close().map(|_| None);
        }
        if self.byte()? != b'"' {
            return Err(Unsure); // a trailing comma, or a key that is not a string
        }
        let key = self.string()?;
        self.ws();
        self.expect(b':')?;
        Ok(Some(key))
    }

    #[inline(always)]
    fn close(&mut self) -> Scan<bool> {
        self.pos += 1;
        self.depth -= 1;
        Ok(false)
    }

    /// Consumes a string (the cursor is on its `"`).
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Scan<Token<'a>> {
        self.expect(b'"')?;
        let start = self.pos;
        let bytes = self.bytes();
        let mut escaped = false;
        loop {
            self.pos = self.stops.next(self.pos);
            match bytes.get(self.pos) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    self.escape()?;
                }
                _ => return Err(Unsure), // a control character, or the end of the body
            }
        }
        // SAFETY: `text` is UTF-8, `start` follows a `"` and `self.pos` is on one: both are
        // char boundaries (an ASCII byte never occurs inside a multi-byte character).
        let raw = unsafe { std::str::from_utf8_unchecked(&bytes[start..self.pos]) };
        self.pos += 1;
        Ok(Token { raw, escaped })
    }

    /// Checks one escape (after its `\`). `\u` escapes of UTF-16 surrogates are [`Unsure`]:
    /// serde_json's pairing rules decide those.
    fn escape(&mut self) -> Scan<()> {
        match self.byte()? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.pos += 1;
                Ok(())
            }
            b'u' => {
                let hex = self.bytes().get(self.pos + 1..self.pos + 5).ok_or(Unsure)?;
                let hex = std::str::from_utf8(hex).map_err(|_| Unsure)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Unsure);
                }
                let unit = u16::from_str_radix(hex, 16).map_err(|_| Unsure)?;
                if (0xD800..=0xDFFF).contains(&unit) {
                    return Err(Unsure);
                }
                self.pos += 5;
                Ok(())
            }
            _ => Err(Unsure),
        }
    }

    #[inline(always)]
    fn digits(&mut self) -> usize {
        self.digits_value().0
    }

    /// Consumes a run of digits: how many, and their value (wrapped past 19 digits).
    #[inline(always)]
    fn digits_value(&mut self) -> (usize, u64) {
        let start = self.pos;
        let mut value = 0u64;
        while let Some(digit @ b'0'..=b'9') = self.bytes().get(self.pos) {
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
            self.pos += 1;
        }
        (self.pos - start, value)
    }

    /// Consumes a number in JSON's grammar, `Unsure` where serde_json could find it out of range.
    #[inline(always)]
    pub(crate) fn number(&mut self) -> Scan<Option<u64>> {
        let negative = self.byte()? == b'-';
        if negative {
            self.pos += 1;
        }
        let (int_digits, int_value) = match self.byte()? {
            b'0' => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.bytes().get(self.pos) {
                    return Err(Unsure); // a leading zero
                }
                (1, 0)
            }
            b'1'..=b'9' => self.digits_value(),
            _ => return Err(Unsure),
        };
        let mut plain = !negative;
        if self.bytes().get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(Unsure);
            }
            plain = false;
        }
        if let Some(b'e' | b'E') = self.bytes().get(self.pos) {
            self.pos += 1;
            let sign = self.bytes().get(self.pos).copied();
            if let Some(b'-' | b'+') = sign {
                self.pos += 1;
            }
            let positive = sign != Some(b'-');
            let exp_digits = self.digits();
            let too_big = positive && int_digits > MAX_INT_DIGITS_WITH_EXP;
            if exp_digits == 0 || exp_digits > MAX_EXP_DIGITS || too_big {
                return Err(Unsure);
            }
            plain = false;
        }
        if int_digits > MAX_INT_DIGITS {
            return Err(Unsure);
        }
        if !plain || int_digits > 19 {
            return Ok(None);
        }
        Ok(Some(int_value)) // at most 19 digits: below `u64::MAX`, never wrapped
    }
}
