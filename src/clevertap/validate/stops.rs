//! [`Stops`]: where a body's strings may end, found for the whole body in one pass.
//!
//! Bit `i` of word `w` is set when byte `64 w + i` is a `"`, a `\` or a control character:
//! the bytes that end the fast run of a string. With the bits at hand, finding the end of a
//! string is a shift and a count of trailing zeros. A loop over the string's bytes instead
//! leaves it at a point the CPU cannot predict, once per string: with some 15 strings per
//! record, those mispredictions were a large part of the streaming pass.
//!
//! The pass is SSE2 on x86-64 (part of its baseline: no detection needed) and eight bytes at
//! a time elsewhere; the tests compare both with a byte-by-byte table.

/// The string stops of one body.
pub(crate) struct Stops {
    words: Vec<u64>,
    len: usize,
}

impl Stops {
    /// Finds every stop of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> Stops {
        let mut words = Vec::with_capacity(bytes.len() / 64 + 1);
        let mut chunks = bytes.chunks_exact(64);
        for chunk in &mut chunks {
            words.push(block(chunk.try_into().expect("64 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut padded = [b'a'; 64]; // not a stop
            padded[..rest.len()].copy_from_slice(rest);
            words.push(block(&padded));
        }
        Stops { words, len: bytes.len() }
    }

    /// The index of the first stop at or after `at`, or the body's length if none.
    #[inline(always)]
    pub(crate) fn next(&self, at: usize) -> usize {
        let mut index = at / 64;
        let Some(&word) = self.words.get(index) else { return self.len };
        let word = word >> (at % 64);
        if word != 0 {
            return at + word.trailing_zeros() as usize;
        }
        loop {
            index += 1;
            match self.words.get(index) {
                Some(0) => {}
                Some(word) => return index * 64 + word.trailing_zeros() as usize,
                None => return self.len,
            }
        }
    }
}

/// The stops of 64 bytes, bit `i` for byte `i`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block(chunk: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut mask = 0u64;
    // SAFETY: SSE2 is part of the x86-64 baseline; each load reads 16 bytes inside `chunk`
    // (unaligned loads).
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let last_control = _mm_set1_epi8(0x1F);
        for i in 0..4 {
            let bytes = _mm_loadu_si128(chunk.as_ptr().add(16 * i).cast::<__m128i>());
            // A byte b is a control character when min(b, 0x1F) == b (unsigned).
            let control = _mm_cmpeq_epi8(_mm_min_epu8(bytes, last_control), bytes);
            let marks = _mm_cmpeq_epi8(bytes, quote);
            let stops = _mm_or_si128(_mm_or_si128(marks, _mm_cmpeq_epi8(bytes, backslash)), control);
            mask |= u64::from(_mm_movemask_epi8(stops) as u16) << (16 * i);
        }
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn block(chunk: &[u8; 64]) -> u64 {
    block_swar(chunk)
}

/// [`block`] without SIMD: eight bytes at a time, exact (no borrow crosses into another byte).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn block_swar(chunk: &[u8; 64]) -> u64 {
    const LOW7: u64 = u64::MAX / 255 * 0x7F;
    const HIGH: u64 = !LOW7;
    // The high bit of each byte that equals zero.
    let zero = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let mut mask = 0u64;
    for (i, word) in chunk.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let quote = zero(x ^ (u64::MAX / 255 * u64::from(b'"')));
        let backslash = zero(x ^ (u64::MAX / 255 * u64::from(b'\\')));
        // Below 0x20: the high bit clear, and (b & 0x7F) + 0x60 below 0x80.
        let control = !((x & LOW7) + u64::MAX / 255 * 0x60) & !x & HIGH;
        let found = (quote | backslash | control) & HIGH;
        // Gather the eight high bits into one byte (bit j for byte j).
        let bits = ((found >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
        mask |= bits << (8 * i);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_stop(byte: u8) -> bool {
        byte == b'"' || byte == b'\\' || byte < 0x20
    }

    /// Every byte value at every position of a block, both ways, against the byte test.
    #[test]
    fn blocks_flag_exactly_the_stops() {
        for byte in 0..=255u8 {
            for at in 0..64 {
                let mut chunk = [b'a'; 64];
                chunk[at] = byte;
                // A neighbour that is a stop must not hide or shift this one.
                chunk[(at + 1) % 64] = if byte % 3 == 0 { b'"' } else { 0xFF };
                let expected =
                    chunk.iter().enumerate().fold(0u64, |m, (i, b)| m | (u64::from(is_stop(*b)) << i));
                assert_eq!(block(&chunk), expected, "byte {byte:#04x} at {at}");
                assert_eq!(block_swar(&chunk), expected, "byte {byte:#04x} at {at} (SWAR)");
            }
        }
    }

    /// `next` agrees with a byte-by-byte search from every position of mixed bodies, tail
    /// blocks and empty ones included.
    #[test]
    fn next_finds_the_first_stop_from_every_position() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in [0usize, 1, 7, 63, 64, 65, 127, 128, 200, 1000] {
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    match state % 40 {
                        0 => b'"',
                        1 => b'\\',
                        2 => (state >> 8) as u8 % 0x20,
                        _ => b' ' + (state >> 16) as u8 % 0x5F,
                    }
                })
                .collect();
            let stops = Stops::of(&body);
            for at in 0..=len + 70 {
                let expected = body.iter().skip(at).position(|b| is_stop(*b)).map_or(len, |i| at + i);
                assert_eq!(stops.next(at), expected, "len {len}, from {at}");
            }
        }
    }
}
