//! HEXONET (ISPAPI) wire codec: the plain-text response parser and the form-body encoder.
//!
//! Both follow `hexonet.apiconnector` 4.0.2 to the byte (docs/protocols/hexonet.md):
//!
//! - [`parse`] scans the response once with `memchr`, borrowing every key and value from the
//!   input (only keys that need upper-casing are copied). Nothing here can panic on any input.
//! - [`post_data`] writes the `s_*` connection fields and the `s_command` block, percent-encoded
//!   exactly like Python's `urllib.parse.quote` with its default `safe="/"`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use memchr::{memchr, memchr2, memmem};

/// The text a response is parsed from: `str`, or the bytes of a Python `str` that holds lone
/// surrogates (which no Rust `str` can; see the `[u8]` impl). The grammar only cuts at ASCII
/// bytes, so both parse alike; they differ in how a key is upper-cased and stripped of
/// whitespace. The per-line helpers are `#[inline]`: [`parse_text`] is generic, so it may be
/// compiled in another crate, where they must still inline.
pub trait Text: ToOwned + Eq + Hash + fmt::Debug {
    fn as_bytes(&self) -> &[u8];
    /// The bytes in `range` as this text. Every caller cuts next to ASCII bytes, which are
    /// char boundaries; `None` only if that were ever not so.
    fn cut(&self, range: std::ops::Range<usize>) -> Option<&Self>;
    /// Python's `str.upper()`, without a copy when the text is already upper-case ASCII.
    fn upper(&self) -> Cow<'_, Self>;
    /// A property name as the original stores it: upper-cased, every whitespace removed.
    fn property_key(&self) -> Cow<'_, Self>;
}

impl Text for str {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        str::as_bytes(self)
    }

    #[inline]
    fn cut(&self, range: std::ops::Range<usize>) -> Option<&str> {
        self.get(range)
    }

    fn upper(&self) -> Cow<'_, str> {
        if self.is_ascii() {
            if self.bytes().any(|b| b.is_ascii_lowercase()) {
                Cow::Owned(self.to_ascii_uppercase())
            } else {
                Cow::Borrowed(self)
            }
        } else {
            Cow::Owned(self.to_uppercase())
        }
    }

    fn property_key(&self) -> Cow<'_, str> {
        let name = self.upper();
        let has_space = if name.is_ascii() {
            // `is_python_space` on ASCII: \t \n \v \f \r, U+001C..U+001F and the space.
            name.bytes()
                .any(|b| matches!(b, b'\t'..=b'\r' | 0x1c..=0x1f | b' '))
        } else {
            name.chars().any(is_python_space)
        };
        if has_space {
            Cow::Owned(name.chars().filter(|&c| !is_python_space(c)).collect())
        } else {
            name
        }
    }
}

/// The valid UTF-8 runs of `bytes` mapped by `f`, the other bytes (surrogates) kept as they are.
fn map_utf8_runs(bytes: &[u8], f: impl Fn(&str) -> Cow<'_, str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.extend_from_slice(f(chunk.valid()).as_bytes());
        out.extend_from_slice(chunk.invalid());
    }
    out
}

/// Bytes that are UTF-8 except for lone surrogates, encoded like any other code point (what
/// Python's `str.encode("utf-8", "surrogatepass")` gives: a `str` no Rust `str` can hold).
/// Surrogates have no case and are not whitespace: key normalisation passes them through.
impl Text for [u8] {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        self
    }

    #[inline]
    fn cut(&self, range: std::ops::Range<usize>) -> Option<&[u8]> {
        self.get(range)
    }

    fn upper(&self) -> Cow<'_, [u8]> {
        match std::str::from_utf8(self).map(Text::upper) {
            Ok(Cow::Borrowed(_)) => Cow::Borrowed(self),
            Ok(Cow::Owned(up)) => Cow::Owned(up.into_bytes()),
            Err(_) => Cow::Owned(map_utf8_runs(self, Text::upper)),
        }
    }

    fn property_key(&self) -> Cow<'_, [u8]> {
        match std::str::from_utf8(self).map(Text::property_key) {
            Ok(Cow::Borrowed(_)) => Cow::Borrowed(self),
            Ok(Cow::Owned(key)) => Cow::Owned(key.into_bytes()),
            Err(_) => Cow::Owned(map_utf8_runs(self, Text::property_key)),
        }
    }
}

/// One parsed response: top-level `KEY = VALUE` lines and `PROPERTY[NAME][i]` columns.
///
/// Property values sit in one flat list tagged with their column, rather than one list per
/// column: a response then costs three allocations however many columns it has.
pub struct Parsed<'a, T: Text + ?Sized = str> {
    /// Top-level keys (upper-cased) in line order, duplicates included: a consumer that
    /// inserts them into a map in order gets "last value wins, first position kept".
    pub top: Vec<(Cow<'a, T>, &'a T)>,
    /// Property column names (normalised) in order of first appearance.
    pub columns: Vec<Cow<'a, T>>,
    /// Every property value in order of appearance with the index of its column in
    /// `columns` (the `[N]` index in the text is ignored, as in the original).
    pub values: Vec<(usize, &'a T)>,
    /// How many `top` entries precede the first property line (`top.len()` when there is
    /// none): the original's hash gets its `PROPERTY` table at that place in key order.
    pub property_at: usize,
}

impl<T: Text + ?Sized> fmt::Debug for Parsed<'_, T>
where
    T::Owned: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parsed")
            .field("top", &self.top)
            .field("columns", &self.columns)
            .field("values", &self.values)
            .field("property_at", &self.property_at)
            .finish()
    }
}

/// Whether a response may hold a `{KEY}` placeholder (it has a `{`): only such responses
/// need the substitution pass.
pub fn may_have_placeholder(body: &[u8]) -> bool {
    memchr(b'{', body).is_some()
}

/// Parse a response text with the original's line grammar.
///
/// A top-level key that upper-cases to exactly `PROPERTY` is ignored: in the original it
/// either raises or replaces the property table with a string that breaks every accessor.
pub fn parse(text: &str) -> Parsed<'_> {
    parse_text(text)
}

/// [`parse`] of any [`Text`]: also the bytes of a Python `str` with lone surrogates.
pub fn parse_text<T: Text + ?Sized>(text: &T) -> Parsed<'_, T> {
    let bytes = text.as_bytes();
    // Typical responses have a handful of top-level keys and columns: one allocation each.
    let mut parsed = Parsed {
        top: Vec::with_capacity(8),
        columns: Vec::with_capacity(8),
        // A property line takes some 30-60 bytes: start near the count, grow rarely.
        values: Vec::with_capacity((bytes.len() / 64).max(8)),
        property_at: usize::MAX,
    };
    // Built only for responses with many columns (see `column_of`).
    let mut index: Option<HashMap<Cow<'_, T>, usize>> = None;
    let mut start = 0;
    // The previous property line's `PROPERTY[NAME]` prefix as written, and its column: list
    // pages give each column as one run of lines, so most lines only need that prefix
    // compared and their value cut out.
    let mut last: Option<(&[u8], usize)> = None;
    loop {
        let run = last
            .and_then(|(prefix, column)| run_line(text, start, prefix, column, &mut parsed.values));
        let next = match run {
            Some(next) => next,
            None => {
                let (end, next) = line_end(bytes, start, start);
                if let Some(line) = text.cut(start..end) {
                    parse_line(line, &mut parsed, &mut index, &mut last);
                }
                next
            }
        };
        match next {
            Some(n) => start = n,
            None => break,
        }
    }
    parsed.property_at = parsed.property_at.min(parsed.top.len());
    parsed
}

/// The end of the line starting at `start` (`\r\n` or `\n`, not included; a lone `\r`
/// elsewhere stays in the text) and where the next line starts, searching from `from`.
#[inline]
fn line_end(bytes: &[u8], start: usize, from: usize) -> (usize, Option<usize>) {
    match find(bytes, from, b'\n') {
        Some(nl) if nl > start && bytes[nl - 1] == b'\r' => (nl - 1, Some(nl + 1)),
        Some(nl) => (nl, Some(nl + 1)),
        None => (bytes.len(), None),
    }
}

/// `hay.starts_with(prefix)` for a prefix of a few words, compared a word at a time in
/// registers (a `memcmp` call costs more than the comparison on every run line).
#[inline]
fn has_prefix(hay: &[u8], prefix: &[u8]) -> bool {
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

/// The first `needle` at or after `from` (see [`find_with`]).
#[inline]
fn find(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    find_with(
        bytes,
        from,
        |word| flags(word, needle),
        |rest| memchr(needle, rest),
    )
}

/// The first `a` or `b` at or after `from` (see [`find_with`]).
#[inline]
fn find_either(bytes: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    let both = |word| flags(word, a) | flags(word, b);
    find_with(bytes, from, both, |rest| memchr2(a, b, rest))
}

/// The first byte at or after `from` that `flag` marks. Response lines are short: their first
/// bytes are searched eight at a time in a plain register, where memchr's vector set-up would
/// cost more than the search; `far` (memchr) takes over for a longer line.
#[inline]
fn find_with(
    bytes: &[u8],
    from: usize,
    flag: impl Fn(u64) -> u64,
    far: impl Fn(&[u8]) -> Option<usize>,
) -> Option<usize> {
    const SHORT: usize = 96;
    let mut at = from;
    while at < from + SHORT {
        let Some(Ok(chunk)) = bytes.get(at..at + 8).map(<[u8; 8]>::try_from) else {
            break;
        };
        let marked = flag(u64::from_le_bytes(chunk));
        if marked != 0 {
            return Some(at + (marked.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    far(bytes.get(at..)?).map(|i| at + i)
}

/// The high bit of every byte of `word` (little-endian) that equals `needle`, exact up to
/// the first one: a flag above a real match may be false, never below it, so the lowest
/// flag is the first match (and the lowest of two needles' flags, the first of either).
#[inline]
fn flags(word: u64, needle: u8) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let x = word ^ u64::from_ne_bytes([needle; 8]);
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// A line in a run of one column's lines (list pages give each column as one run), when the
/// line at `start` begins with that column's `PROPERTY[NAME]` prefix as written: its value
/// (if it has an `=`) is added to `values`, and the result is where the next line starts.
/// The same result as the general path, since the prefix holds no `=` and ends the key's
/// name; only the value is searched for.
#[inline]
fn run_line<'a, T: Text + ?Sized>(
    text: &'a T,
    start: usize,
    prefix: &[u8],
    column: usize,
    values: &mut Vec<(usize, &'a T)>,
) -> Option<Option<usize>> {
    let bytes = text.as_bytes();
    if !has_prefix(bytes.get(start..)?, prefix) {
        return None;
    }
    // The `=`, or the line's end when it has none.
    let eq = find_either(bytes, start + prefix.len(), b'=', b'\n').unwrap_or(bytes.len());
    let (end, next) = line_end(bytes, start, eq);
    if eq < end && bytes[eq] == b'=' {
        if let Some(value) = text.cut(trimmed(bytes, eq + 1, end)) {
            values.push((column, value));
        }
    }
    Some(next)
}

fn parse_line<'a, T: Text + ?Sized>(
    line: &'a T,
    parsed: &mut Parsed<'a, T>,
    index: &mut Option<HashMap<Cow<'a, T>, usize>>,
    last: &mut Option<(&'a [u8], usize)>,
) {
    let bytes = line.as_bytes();
    let Some((key, value)) = split_line(line) else {
        return;
    };
    match property_name(key) {
        Some(raw_name) => {
            if parsed.values.is_empty() {
                parsed.property_at = parsed.top.len();
            }
            let column = column_of(&mut parsed.columns, index, raw_name);
            *last = bytes
                .get(..PROPERTY_PREFIX.len() + raw_name.as_bytes().len() + 1)
                .map(|prefix| (prefix, column));
            parsed.values.push((column, value));
        }
        None => {
            let key = key.upper();
            if key.as_ref().as_bytes() != b"PROPERTY" {
                parsed.top.push((key, value));
            }
        }
    }
}

/// The index of the column a property name (as written) belongs to, added if new.
fn column_of<'a, T: Text + ?Sized>(
    columns: &mut Vec<Cow<'a, T>>,
    index: &mut Option<HashMap<Cow<'a, T>, usize>>,
    raw_name: &'a T,
) -> usize {
    let name = raw_name.property_key();
    // Few columns: a linear scan beats hashing; many: switch to the index.
    let found = if columns.len() <= LINEAR_LOOKUP_MAX {
        columns.iter().position(|c| *c == name)
    } else {
        index
            .get_or_insert_with(|| {
                let pairs = columns.iter().enumerate();
                pairs.map(|(i, c)| (c.clone(), i)).collect()
            })
            .get(&name)
            .copied()
    };
    found.unwrap_or_else(|| {
        let i = columns.len();
        if let Some(index) = index {
            index.insert(name.clone(), i);
        }
        columns.push(name);
        i
    })
}

/// Up to this many columns, look names up by scanning instead of hashing.
const LINEAR_LOOKUP_MAX: usize = 16;

#[inline]
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `KEY = VALUE` per the original's regex `^([^=]*[^\t= ])[\t ]*=[\t ]*(.*)$`, with the
/// value's trailing spaces and tabs removed.
fn split_line<T: Text + ?Sized>(line: &T) -> Option<(&T, &T)> {
    let bytes = line.as_bytes();
    let eq = find(bytes, 0, b'=')?;
    let key_end = bytes[..eq]
        .iter()
        .rposition(|&b| !is_blank(b))
        .map(|i| i + 1)?;
    Some((line.cut(0..key_end)?, value_from(line, eq + 1)?))
}

/// The value of a line from `start` (just after its `=`): spaces and tabs trimmed.
fn value_from<T: Text + ?Sized>(line: &T, start: usize) -> Option<&T> {
    // All cut points sit next to ASCII bytes, so they are char boundaries.
    line.cut(trimmed(line.as_bytes(), start, line.as_bytes().len()))
}

/// `start..end` without the spaces and tabs at either end.
#[inline]
fn trimmed(bytes: &[u8], mut start: usize, mut end: usize) -> std::ops::Range<usize> {
    while start < end && is_blank(bytes[start]) {
        start += 1;
    }
    while end > start && is_blank(bytes[end - 1]) {
        end -= 1;
    }
    start..end
}

/// The text inside the first brackets of a `PROPERTY[...]` key (prefix matched
/// case-insensitively), or `None` for a top-level key.
fn property_name<T: Text + ?Sized>(key: &T) -> Option<&T> {
    let bytes = key.as_bytes();
    let n = PROPERTY_PREFIX.len();
    if bytes.len() < n || !bytes[..n].eq_ignore_ascii_case(PROPERTY_PREFIX) {
        return None;
    }
    let close = find(bytes, n, b']')? - n;
    key.cut(n..n + close)
}

const PROPERTY_PREFIX: &[u8] = b"property[";

/// What Python's regex `\s` matches in a `str` (`str.isspace()`): Unicode White_Space plus
/// the ASCII information separators U+001C..U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Append `s` percent-encoded like `urllib.parse.quote(s)` (safe: `A-Za-z0-9_.-~/`).
pub fn quote_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// `quote(s)` as a new string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    quote_into(s, &mut out);
    out
}

/// The `s_command` block of a command given as `(KEY, VALUE)` pairs already in the order to
/// send (the caller sorts): one `KEY=VALUE` line each, `\r`/`\n` removed from values, joined
/// with `\n`, trailing newlines stripped.
pub fn command_block<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut block = String::new();
    for (key, value) in pairs {
        block.push_str(key.as_ref());
        block.push('=');
        let value = value.as_ref();
        if value.contains(['\r', '\n']) {
            block.extend(value.chars().filter(|&c| c != '\r' && c != '\n'));
        } else {
            block.push_str(value);
        }
        block.push('\n');
    }
    let trimmed = block.trim_end_matches('\n').len();
    block.truncate(trimmed);
    block
}

/// Whether a flattened command key names a domain the client may convert to ACE form:
/// `DOMAIN`, `NAMESERVER` or `DNSZONE`, optionally numbered. Matched as the original's
/// case-insensitive Unicode regex does: `ı`, `İ` and `ſ` stand for `I`, `I` and `S`, and one
/// trailing `\n` is allowed (a regex `$` matches before it).
pub fn is_idn_key(key: &str) -> bool {
    let key = key.strip_suffix('\n').unwrap_or(key);
    ["DOMAIN", "NAMESERVER", "DNSZONE"].iter().any(|name| {
        let mut chars = key.chars();
        let named = name.chars().all(|want| {
            chars.next().is_some_and(|c| {
                c.eq_ignore_ascii_case(&want)
                    || (want == 'I' && matches!(c, '\u{130}' | '\u{131}'))
                    || (want == 'S' && c == '\u{17f}')
            })
        });
        named && chars.all(|c| c.is_ascii_digit())
    })
}

/// Whether a domain value needs IDN conversion: anything but letters, digits, dots and
/// hyphens (empty too), with the original regex's case-insensitive matches `İ`, `ı`, `ſ` and
/// the Kelvin sign counted as letters.
pub fn needs_idn_conversion(value: &str) -> bool {
    value.is_empty()
        || !value.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '.' | '-' | '\u{130}' | '\u{131}' | '\u{17f}' | '\u{212a}'
                )
        })
}

/// Debug-output masking of a command block: every `PASSWORD=<rest of line>` (unanchored,
/// so `NEWPASSWORD=` too) becomes `PASSWORD=***`, as the original's `PASSWORD=[^\n]+`.
pub fn mask_passwords(block: &str) -> Cow<'_, str> {
    const NEEDLE: &[u8] = b"PASSWORD=";
    let bytes = block.as_bytes();
    let finder = memmem::Finder::new(NEEDLE);
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `block` already handled
    let mut search = 0;
    while let Some(found) = finder.find(&bytes[search..]) {
        let value_start = search + found + NEEDLE.len();
        let value_end =
            memchr(b'\n', &bytes[value_start..]).map_or(bytes.len(), |i| value_start + i);
        if value_end == value_start {
            // `PASSWORD=` followed by nothing on its line: no match here.
            search = search + found + 1;
            continue;
        }
        let buf = out.get_or_insert_with(|| String::with_capacity(block.len()));
        buf.push_str(&block[copied..value_start]);
        buf.push_str("***");
        copied = value_end;
        search = value_end;
    }
    match out {
        None => Cow::Borrowed(block),
        Some(mut buf) => {
            buf.push_str(&block[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// The connection fields in wire order; `None` and `""` are left out.
#[derive(Debug, Default, Clone, Copy)]
pub struct Connection<'a> {
    pub entity: Option<&'a str>,
    pub login: Option<&'a str>,
    pub otp: Option<&'a str>,
    pub pw: Option<&'a str>,
    pub remoteaddr: Option<&'a str>,
    pub session: Option<&'a str>,
    pub user: Option<&'a str>,
}

impl Connection<'_> {
    /// `SocketConfig.getPOSTData()`: `s_name=value&` per present field. `secured` writes the
    /// password as the literal `***`.
    pub fn write(&self, secured: bool, out: &mut String) {
        let fields = [
            ("s_entity", self.entity),
            ("s_login", self.login),
            ("s_otp", self.otp),
            ("s_pw", self.pw),
            ("s_remoteaddr", self.remoteaddr),
            ("s_session", self.session),
            ("s_user", self.user),
        ];
        for (name, value) in fields {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                out.push_str(name);
                out.push('=');
                if secured && name == "s_pw" {
                    out.push_str("***");
                } else {
                    quote_into(value, out);
                }
                out.push('&');
            }
        }
    }
}

/// An unsecured request body from connection fields already written by
/// [`Connection::write`] (a client caches them between requests) and a command block.
pub fn post_data_after(fields: &str, block: &str) -> String {
    let block = block.trim_end_matches('\n');
    let mut out = String::with_capacity(fields.len() + 16 + block.len() * 3 / 2);
    out.push_str(fields);
    out.push_str("s_command=");
    quote_into(block, &mut out);
    out
}

/// A whole request body: connection fields, then `s_command=<quoted block>`.
/// `block` is the command text (see [`command_block`]); trailing newlines are stripped and,
/// when `secured`, password lines are masked.
pub fn post_data(connection: &Connection<'_>, block: &str, secured: bool) -> String {
    let block = block.trim_end_matches('\n');
    let block = if secured {
        mask_passwords(block)
    } else {
        Cow::Borrowed(block)
    };
    let mut out = String::with_capacity(64 + block.len() * 3 / 2);
    connection.write(secured, &mut out);
    out.push_str("s_command=");
    quote_into(&block, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_either_gives_the_first_of_two() {
        for len in 1..120 {
            for at in 0..len {
                let mut line = vec![b'x'; len];
                line[at] = b'=';
                if at + 1 < len {
                    line[at + 1] = b'\n';
                }
                assert_eq!(find_either(&line, 0, b'=', b'\n'), Some(at), "{len} {at}");
                line[at] = b'\n';
                assert_eq!(find_either(&line, 0, b'=', b'\n'), Some(at), "{len} {at}");
                assert_eq!(find_either(&line, at + 2, b'=', b'\n'), None, "{len} {at}");
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

    #[test]
    fn find_gives_the_first_needle() {
        let text = b"a\nb\n";
        assert_eq!(find(text, 0, b'\n'), Some(1));
        assert_eq!(find(text, 2, b'\n'), Some(3));
        assert_eq!(find(text, 4, b'\n'), None);
        assert_eq!(find(text, 9, b'\n'), None);
        for needle in [b'\n', b'=', b']', 0, 0xff] {
            for len in 0..200 {
                for at in 0..len {
                    let mut line = vec![b'x'; len];
                    line[at] = needle;
                    // The byte a borrow would flag falsely, just after the needle.
                    if at + 1 < len {
                        line[at + 1] = needle ^ 0x01;
                    }
                    assert_eq!(find(&line, 0, needle), Some(at), "{needle} {len} {at}");
                    assert_eq!(find(&line, at + 1, needle), None, "{needle} {len} {at}");
                }
            }
        }
    }

    #[test]
    fn idn_keys_match_the_original_regex() {
        for key in [
            "DOMAIN",
            "DOMAIN0",
            "NAMESERVER12",
            "DNSZONE",
            "domain",
            "DOMA\u{130}N",
            "DN\u{17f}ZONE",
            "DOMAIN\n",
        ] {
            assert!(is_idn_key(key), "{key:?}");
        }
        for key in [
            "",
            "DOMAINX",
            "XDOMAIN",
            "DOMAIN1A",
            "DOMAIN\n\n",
            "DOMAIN\r",
            "DOMAIN\u{661}",
            "OWNERCONTACT0",
        ] {
            assert!(!is_idn_key(key), "{key:?}");
        }
    }

    #[test]
    fn idn_values_need_conversion_unless_plain() {
        for value in ["example.com", "A-1.de", "\u{212a}.com", "x\u{17f}.com"] {
            assert!(!needs_idn_conversion(value), "{value:?}");
        }
        for value in [
            "",
            "d\u{f6}m\u{e4}in.example",
            "a b",
            "*.example",
            "a_b.com",
            "\u{661}.com",
        ] {
            assert!(needs_idn_conversion(value), "{value:?}");
        }
    }

    /// Column views the binding builds in Python; here only to state the tests.
    impl<'a> Parsed<'a> {
        fn column_lengths(&self) -> Vec<usize> {
            let mut lengths = vec![0; self.columns.len()];
            for &(column, _) in &self.values {
                lengths[column] += 1;
            }
            lengths
        }

        fn column_values(&self, column: usize) -> Vec<&'a str> {
            self.values
                .iter()
                .filter(|&&(c, _)| c == column)
                .map(|&(_, v)| v)
                .collect()
        }

        fn row_count(&self) -> usize {
            self.column_lengths().into_iter().max().unwrap_or(0)
        }
    }

    fn top<'a>(p: &'a Parsed<'_>, key: &str) -> Option<&'a str> {
        p.top.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    #[test]
    fn parses_the_spec_example() {
        let text = "[RESPONSE]\r\ncode = 200\r\nDESCRIPTION = Command completed successfully\r\n\
                    PROPERTY[DOMAIN][0] = example.com\r\nproperty[domain][1] = example.net\r\n\
                    PROPERTY[TOTAL][0] = 2\r\nQUEUETIME = 0\r\nRUNTIME = 0.004\r\nEOF\r\n";
        let p = parse(text);
        assert_eq!(top(&p, "CODE"), Some("200"));
        assert_eq!(p.columns.len(), 2);
        assert_eq!(p.columns[0], "DOMAIN");
        assert_eq!(p.column_values(0), ["example.com", "example.net"]);
        assert_eq!(p.column_lengths(), [2, 1]);
        assert_eq!(p.row_count(), 2);
        // CODE and DESCRIPTION come before the table, QUEUETIME and RUNTIME after it.
        assert_eq!(p.property_at, 2);
        assert_eq!(parse("A=1\nB=2").property_at, 2);
        assert_eq!(parse("property[a][0]=1\nB=2").property_at, 0);
    }

    #[test]
    fn grammar_edge_cases() {
        let p = parse("  code = 200\nA\t=\t x = y \t\nB=\n=x\n \t=x\nC=200\r\nD=1\r");
        assert_eq!(top(&p, "  CODE"), Some("200"));
        assert_eq!(top(&p, "A"), Some("x = y"));
        assert_eq!(top(&p, "B"), Some(""));
        assert_eq!(top(&p, "C"), Some("200"));
        assert_eq!(top(&p, "D"), Some("1\r"));
        assert_eq!(p.top.len(), 5);
        let p =
            parse("property[expiration date][0] = x\nPROPERTY[X] = y\nPROPERTY=z\nproperty[a=b");
        assert_eq!(p.columns[0], "EXPIRATIONDATE");
        assert_eq!(p.columns[1], "X");
        assert_eq!(top(&p, "PROPERTY[A"), Some("b"));
        assert!(top(&p, "PROPERTY").is_none());
        // Runs of the same column, spelled differently, interleaved with others.
        let p = parse("property[a][0]=1\nproperty[a][1]=2\nPROPERTY[A][2]=3\nPROPERTY[B][0]=x\nproperty[a][3]=4");
        assert_eq!(p.column_values(0), ["1", "2", "3", "4"]);
        assert_eq!(p.column_values(1), ["x"]);
        let p = parse("PROPERTY[A][0] = 1\nPROPERTY[A][1]\nPROPERTY[A]\t=\t \nPROPERTY[A][2]=x = y \nPROPERTY[AB][0]=z");
        assert_eq!(p.column_values(0), ["1", "", "x = y"]);
        assert_eq!(p.column_values(1), ["z"]);
    }

    #[test]
    fn unicode_and_garbage_never_panic() {
        for text in [
            "ä=ö\n",
            "ß=1",
            "\u{0}=\u{0}",
            "property[\u{1c}ä\u{2003}]=1",
            "=",
            "\r\n\r",
        ] {
            let _ = parse(text);
        }
        assert_eq!(parse("ß=1").top[0].0, "SS");
        assert_eq!(parse("property[\u{1c}ä\u{2003}]=1").columns[0], "Ä");
    }

    #[test]
    fn surrogate_bytes_parse_like_text() {
        // "\u{dcff}" as Python's surrogatepass writes it: ED B3 BF.
        let text: &[u8] =
            b"code=200\nDESCRIPTION = \xed\xb3\xbf \nproperty[n\xed\xb3\xbfa me\xc3\xa4][0]=x";
        let p = parse_text(text);
        assert_eq!(p.top[0].0.as_ref(), b"CODE");
        assert_eq!(p.top[1].1, b"\xed\xb3\xbf");
        assert_eq!(p.columns[0].as_ref(), b"N\xed\xb3\xbfAME\xc3\x84");
        assert_eq!(p.values, [(0, b"x".as_slice())]);
        // Valid UTF-8 bytes give what the `str` parse gives.
        let plain = "property[ä b][0]=1\nß=2";
        let (bytes, text) = (parse_text(plain.as_bytes()), parse(plain));
        assert_eq!(bytes.columns[0].as_ref(), text.columns[0].as_bytes());
        assert_eq!(bytes.top[0].0.as_ref(), text.top[0].0.as_bytes());
    }

    #[test]
    fn quote_matches_urllib() {
        assert_eq!(quote("u/s+r"), "u/s%2Br");
        assert_eq!(quote("a b!*=\n~_.-"), "a%20b%21%2A%3D%0A~_.-");
        assert_eq!(quote("ä"), "%C3%A4");
    }

    #[test]
    fn wire_vectors() {
        let conn = Connection {
            entity: Some("54cd"),
            ..Connection::default()
        };
        let block = command_block(&[("AUTH", "gwrgwqg%&\\44t3*"), ("COMMAND", "ModifyDomain")]);
        assert_eq!(
            post_data(&conn, &block, false),
            "s_entity=54cd&s_command=AUTH%3Dgwrgwqg%25%26%5C44t3%2A%0ACOMMAND%3DModifyDomain"
        );
        let conn = Connection {
            entity: Some("54cd"),
            login: Some("test.user"),
            pw: Some("test.passw0rd"),
            otp: Some(""),
            ..Connection::default()
        };
        let block = command_block(&[
            ("COMMAND", "CheckAuthentication"),
            ("PASSWORD", "test.passw0rd"),
            ("SUBUSER", "test.user"),
        ]);
        let mut fields = String::new();
        conn.write(false, &mut fields);
        assert_eq!(
            post_data_after(&fields, &format!("{block}\n")),
            post_data(&conn, &block, false)
        );
        assert_eq!(
            post_data(&conn, &block, true),
            "s_entity=54cd&s_login=test.user&s_pw=***&s_command=COMMAND%3DCheckAuthentication\
             %0APASSWORD%3D%2A%2A%2A%0ASUBUSER%3Dtest.user"
        );
    }

    #[test]
    fn masking_rules() {
        assert_eq!(mask_passwords("NEWPASSWORD=a\nX=1"), "NEWPASSWORD=***\nX=1");
        assert_eq!(
            mask_passwords("PASSWORD=\nPASSWORD=b"),
            "PASSWORD=\nPASSWORD=***"
        );
        assert_eq!(mask_passwords("PASSWORD=aPASSWORD=b"), "PASSWORD=***");
        assert_eq!(mask_passwords("X=1"), "X=1");
    }
}
