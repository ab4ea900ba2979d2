//! Where a response's lines end and where their `=` signs are, found 64 bytes at a time.
//!
//! The parser asks two questions from a position that only moves forward: "the next `\n`"
//! and "the next `=` or `\n`". Each 64-byte block is classified once into one bit per byte
//! for each of the two bytes (SSE2 on x86-64, a word at a time elsewhere), and the answers are
//! read off those bits: a line then costs a few bit operations instead of a byte search.

const BLOCK: usize = 64;

/// A forward cursor over the `\n` and `=` bytes of a text.
pub(super) struct Marks<'a> {
    bytes: &'a [u8],
    /// The offset of the block whose bits are held (`usize::MAX` before the first).
    block: usize,
    newlines: u64,
    equals: u64,
}

impl<'a> Marks<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Marks {
            bytes,
            block: usize::MAX,
            newlines: 0,
            equals: 0,
        }
    }

    /// The first `\n` at or after `from`.
    #[inline(always)]
    pub(super) fn newline(&mut self, from: usize) -> Option<usize> {
        self.next(from, false)
    }

    /// The first `=` or `\n` at or after `from`.
    #[inline(always)]
    pub(super) fn equals_or_newline(&mut self, from: usize) -> Option<usize> {
        self.next(from, true)
    }

    #[inline(always)]
    fn next(&mut self, from: usize, equals: bool) -> Option<usize> {
        let mut block = from - from % BLOCK;
        let mut below = from % BLOCK; // bits of the block before `from`
        while block < self.bytes.len() {
            if block != self.block {
                self.load(block);
            }
            let marks = if equals {
                self.newlines | self.equals
            } else {
                self.newlines
            };
            let found = marks & (u64::MAX << below);
            if found != 0 {
                return Some(block + found.trailing_zeros() as usize);
            }
            block += BLOCK;
            below = 0;
        }
        None
    }

    #[inline(never)]
    fn load(&mut self, block: usize) {
        let rest = self.bytes.get(block..).unwrap_or_default();
        let (newlines, equals) = match rest.first_chunk::<BLOCK>() {
            Some(chunk) => classify(chunk),
            None => {
                // The last, short block: zero bytes after the text mark nothing.
                let mut padded = [0; BLOCK];
                padded[..rest.len()].copy_from_slice(rest);
                classify(&padded)
            }
        };
        self.block = block;
        self.newlines = newlines;
        self.equals = equals;
    }
}

/// One bit per byte of `chunk` (bit `i` for byte `i`): which are `\n`, which are `=`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn classify(chunk: &[u8; BLOCK]) -> (u64, u64) {
    // SAFETY: SSE2 is part of every x86-64 processor.
    unsafe { classify_sse2(chunk) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn classify(chunk: &[u8; BLOCK]) -> (u64, u64) {
    classify_words(chunk)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn classify_sse2(chunk: &[u8; BLOCK]) -> (u64, u64) {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let newline = _mm_set1_epi8(b'\n' as i8);
    let equals = _mm_set1_epi8(b'=' as i8);
    let (mut newlines, mut equal_signs) = (0, 0);
    for (i, lane) in chunk.chunks_exact(16).enumerate() {
        // SAFETY: `lane` is 16 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm_loadu_si128(lane.as_ptr().cast()) };
        // movemask gives 16 bits in the low half of an i32: keep exactly those.
        let bits = |needle| u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)) as u16);
        newlines |= bits(newline) << (16 * i);
        equal_signs |= bits(equals) << (16 * i);
    }
    (newlines, equal_signs)
}

/// [`classify`] eight bytes at a time in a plain register (for targets without SSE2).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_words(chunk: &[u8; BLOCK]) -> (u64, u64) {
    let (mut newlines, mut equals) = (0, 0);
    for (i, word) in chunk.chunks_exact(8).enumerate() {
        let word = word.try_into().map_or(0, u64::from_le_bytes);
        newlines |= u64::from(byte_bits(word, b'\n')) << (8 * i);
        equals |= u64::from(byte_bits(word, b'=')) << (8 * i);
    }
    (newlines, equals)
}

/// Bit `i` set where byte `i` of `word` (little-endian) is `needle`: exact for every byte.
fn byte_bits(word: u64, needle: u8) -> u8 {
    const LOW7: u64 = u64::from_ne_bytes([0x7f; 8]);
    let x = word ^ u64::from_ne_bytes([needle; 8]);
    // A byte's high bit ends up set exactly when the byte of `x` is zero (no carries across).
    let zero = !(((x & LOW7) + LOW7) | x | LOW7);
    // Gather the eight high bits into one byte, byte 0's bit lowest.
    ((zero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

/// `hay.starts_with(prefix)` for a prefix of a few words, compared a word at a time in
/// registers (a `memcmp` call costs more than the comparison on every run line).
#[inline]
pub(super) fn has_prefix(hay: &[u8], prefix: &[u8]) -> bool {
    let n = prefix.len();
    if hay.len() < n {
        return false;
    }
    if n < 8 {
        return hay[..n] == *prefix;
    }
    let mut at = 0;
    while at + 8 <= n {
        if word(&hay[at..at + 8]) != word(&prefix[at..at + 8]) {
            return false;
        }
        at += 8;
    }
    // The last bytes as one word overlapping the previous one.
    word(&hay[n - 8..n]) == word(&prefix[n - 8..n])
}

/// Eight bytes as one word (`chunk` is eight bytes long).
#[inline]
fn word(chunk: &[u8]) -> u64 {
    <[u8; 8]>::try_from(chunk).map_or(0, u64::from_ne_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(bytes: &[u8], from: usize, equals: bool) -> Option<usize> {
        let hit = |&(_, &b): &(usize, &u8)| b == b'\n' || (equals && b == b'=');
        bytes
            .iter()
            .enumerate()
            .skip(from)
            .find(hit)
            .map(|(i, _)| i)
    }

    /// A small deterministic generator: the same cases on every run.
    fn texts() -> impl Iterator<Item = Vec<u8>> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        (0..400).map(move |n| {
            let len = n % 7 * 40 + n / 7;
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    [b'\n', b'=', b'x', b'\r', 0, 0xff, b'<', b'>'][(state % 8) as usize]
                })
                .collect()
        })
    }

    #[test]
    fn marks_find_what_a_byte_search_finds() {
        for text in texts() {
            for equals in [false, true] {
                // From every position in order, as the parser asks, and past the end.
                let mut marks = Marks::new(&text);
                for from in 0..text.len() + 70 {
                    let got = if equals {
                        marks.equals_or_newline(from)
                    } else {
                        marks.newline(from)
                    };
                    assert_eq!(got, naive(&text, from, equals), "{text:?} {from}");
                }
                // And jumping ahead from a fresh cursor.
                for from in (0..text.len()).step_by(37) {
                    let got = Marks::new(&text).next(from, equals);
                    assert_eq!(got, naive(&text, from, equals), "{text:?} {from}");
                }
            }
        }
    }

    #[test]
    fn both_classifiers_agree_with_each_byte() {
        for text in texts().filter(|t| t.len() >= BLOCK) {
            let chunk: &[u8; BLOCK] = text.first_chunk().expect("long enough");
            let bits = |needle: u8| {
                let each = chunk.iter().enumerate();
                each.map(|(i, &b)| u64::from(b == needle) << i).sum::<u64>()
            };
            let expected = (bits(b'\n'), bits(b'='));
            assert_eq!(classify(chunk), expected);
            assert_eq!(classify_words(chunk), expected);
        }
        for needle in [b'\n', b'='] {
            for byte in 0..=255u8 {
                for at in 0..8 {
                    let mut word = [needle ^ 0x01; 8];
                    word[at] = byte;
                    let expected = if byte == needle { 1 << at } else { 0 };
                    assert_eq!(byte_bits(u64::from_le_bytes(word), needle), expected);
                }
            }
        }
    }

    #[test]
    fn has_prefix_is_starts_with() {
        let hay = b"PROPERTY[DOMAIN][12] = x";
        for len in 0..=hay.len() {
            let prefix = &hay[..len];
            assert!(has_prefix(hay, prefix));
            assert!(!has_prefix(&hay[..len.saturating_sub(1)], prefix) || len == 0);
            for at in 0..len {
                let mut other = prefix.to_vec();
                other[at] ^= 0x20;
                assert!(!has_prefix(hay, &other), "{len} {at}");
            }
        }
    }
}
