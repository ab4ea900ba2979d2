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

use memchr::{memchr, memchr_iter, memmem};

/// One parsed response: top-level `KEY = VALUE` lines and `PROPERTY[NAME][i]` columns.
///
/// Property values sit in one flat list tagged with their column, rather than one list per
/// column: a response then costs three allocations however many columns it has.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// Top-level keys (upper-cased) in line order, duplicates included: a consumer that
    /// inserts them into a map in order gets "last value wins, first position kept".
    pub top: Vec<(Cow<'a, str>, &'a str)>,
    /// Property column names (normalised) in order of first appearance.
    pub columns: Vec<Cow<'a, str>>,
    /// Every property value in order of appearance with the index of its column in
    /// `columns` (the `[N]` index in the text is ignored, as in the original).
    pub values: Vec<(usize, &'a str)>,
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
    // Typical responses have a handful of top-level keys and columns: one allocation each.
    let mut parsed = Parsed {
        top: Vec::with_capacity(8),
        columns: Vec::with_capacity(8),
        // A property line takes some 30-60 bytes: start near the count, grow rarely.
        values: Vec::with_capacity((text.len() / 64).max(8)),
    };
    // Built only for responses with many columns (see `column_of`).
    let mut index: Option<HashMap<Cow<'_, str>, usize>> = None;
    let bytes = text.as_bytes();
    let mut start = 0;
    // The previous property line's `PROPERTY[NAME]` prefix as written, and its column: list
    // pages give each column as one run of lines, so most lines only need that prefix
    // compared and their value cut out.
    let mut last: Option<(&str, usize)> = None;
    let mut ends = memchr_iter(b'\n', bytes);
    loop {
        let (line, next) = match ends.next() {
            // `\r\n` ends a line; a lone `\r` elsewhere stays in the text.
            Some(nl) => {
                let end = if nl > start && bytes[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                (&text[start..end], Some(nl + 1))
            }
            None => (&text[start..], None),
        };
        let same_column =
            last.and_then(|(prefix, column)| Some((line.strip_prefix(prefix)?, column)));
        if let Some((rest, column)) = same_column {
            // Same result as the general path: the prefix holds no `=` and ends the key's
            // name, so only the value remains to find.
            // The `=` follows the `[N]` index within a few bytes: a plain scan beats memchr.
            if let Some(value) = rest
                .bytes()
                .position(|b| b == b'=')
                .and_then(|eq| value_from(rest, eq + 1))
            {
                parsed.values.push((column, value));
            }
        } else if let Some((key, value)) = split_line(line) {
            match property_name(key) {
                Some(raw_name) => {
                    let column = column_of(&mut parsed.columns, &mut index, raw_name);
                    last = line
                        .get(..PROPERTY_PREFIX.len() + raw_name.len() + 1)
                        .map(|prefix| (prefix, column));
                    parsed.values.push((column, value));
                }
                None => {
                    let key = upper(key);
                    if key != "PROPERTY" {
                        parsed.top.push((key, value));
                    }
                }
            }
        }
        match next {
            Some(n) => start = n,
            None => break,
        }
    }
    parsed
}

/// The index of the column a property name (as written) belongs to, added if new.
fn column_of<'a>(
    columns: &mut Vec<Cow<'a, str>>,
    index: &mut Option<HashMap<Cow<'a, str>, usize>>,
    raw_name: &'a str,
) -> usize {
    let name = property_key(raw_name);
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

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `KEY = VALUE` per the original's regex `^([^=]*[^\t= ])[\t ]*=[\t ]*(.*)$`, with the
/// value's trailing spaces and tabs removed.
fn split_line(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let eq = memchr(b'=', bytes)?;
    let key_end = bytes[..eq]
        .iter()
        .rposition(|&b| !is_blank(b))
        .map(|i| i + 1)?;
    Some((line.get(..key_end)?, value_from(line, eq + 1)?))
}

/// The value of a line from `start` (just after its `=`): spaces and tabs trimmed.
fn value_from(line: &str, start: usize) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut value_start = start;
    while value_start < bytes.len() && is_blank(bytes[value_start]) {
        value_start += 1;
    }
    let mut value_end = bytes.len();
    while value_end > value_start && is_blank(bytes[value_end - 1]) {
        value_end -= 1;
    }
    // All cut points sit next to ASCII bytes, so they are char boundaries.
    line.get(value_start..value_end)
}

/// The text inside the first brackets of a `PROPERTY[...]` key (prefix matched
/// case-insensitively), or `None` for a top-level key.
fn property_name(key: &str) -> Option<&str> {
    let bytes = key.as_bytes();
    let n = PROPERTY_PREFIX.len();
    if bytes.len() < n || !bytes[..n].eq_ignore_ascii_case(PROPERTY_PREFIX) {
        return None;
    }
    let close = memchr(b']', &bytes[n..])?;
    key.get(n..n + close)
}

const PROPERTY_PREFIX: &[u8] = b"property[";

/// Python's `str.upper()`, without a copy when the text is already upper-case ASCII.
fn upper(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(s.to_ascii_uppercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_uppercase())
    }
}

/// What Python's regex `\s` matches in a `str` (`str.isspace()`): Unicode White_Space plus
/// the ASCII information separators U+001C..U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A property name as the original stores it: upper-cased, every whitespace removed.
fn property_key(raw: &str) -> Cow<'_, str> {
    let name = upper(raw);
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
