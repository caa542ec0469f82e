//! RFC 9218 Extensible Priorities: the `priority` field's parameters.
//!
//! A request says how soon it wants its response with the `priority`
//! header field (§5) or, later, a PRIORITY_UPDATE frame (§7.1); both carry
//! a Structured Fields dictionary (RFC 8941 §3.2) with two parameters:
//! `u` (urgency, 0 to 7, lower first, default 3, §4.1) and `i`
//! (incremental: the response is useful in pieces, default false, §4.2).
//! A server's write scheduler serves lower urgencies first, shares the link
//! between incremental responses of one urgency and sends non-incremental
//! ones one at a time (§10).
//!
//! ```
//! use h2actor::priority::Priority;
//!
//! let p = Priority::parse(b"u=1, i");
//! assert_eq!(p, Priority { urgency: 1, incremental: true });
//! // Unknown keys and bad values are ignored (§4): the defaults stay.
//! assert_eq!(Priority::parse(b"u=9, foo=bar, i=3"), Priority::default());
//! assert_eq!(p.to_field(), "u=1, i");
//! ```

/// The urgency when none is given (RFC 9218 §4.1).
pub const DEFAULT_URGENCY: u8 = 3;
/// The lowest priority urgency (RFC 9218 §4.1).
pub const MAX_URGENCY: u8 = 7;

/// The parameters of RFC 9218 §4: urgency and incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Priority {
    /// 0 (most urgent) to 7 (least); default 3 (§4.1).
    pub urgency: u8,
    /// The response is processed as it arrives, so sharing the link with
    /// others of the same urgency helps; default false (§4.2).
    pub incremental: bool,
}

impl Default for Priority {
    fn default() -> Self {
        Priority {
            urgency: DEFAULT_URGENCY,
            incremental: false,
        }
    }
}

impl Priority {
    /// A priority with `urgency` clamped to 0..=7.
    pub fn new(urgency: u8, incremental: bool) -> Self {
        Priority {
            urgency: urgency.min(MAX_URGENCY),
            incremental,
        }
    }

    /// Parses a `priority` field value (or a PRIORITY_UPDATE's Priority
    /// Field Value). Never fails: a value that is not a Structured Fields
    /// dictionary is ignored as a whole (RFC 8941 §4.2), and unknown keys,
    /// an urgency that is not an integer in 0..=7 and an `i` that is not a
    /// boolean are ignored one by one (RFC 9218 §4, §4.1, §4.2); what is
    /// not given takes its default.
    pub fn parse(value: &[u8]) -> Priority {
        let mut p = Priority::default();
        let Some((u, i)) = parse_dictionary(value) else {
            return p;
        };
        if let Some(Bare::Int(n)) = u {
            if (0..=i64::from(MAX_URGENCY)).contains(&n) {
                p.urgency = n as u8;
            }
        }
        if let Some(Bare::Bool(b)) = i {
            p.incremental = b;
        }
        p
    }

    /// The priority a request's header fields ask for (RFC 9218 §5): its
    /// `priority` field lines, joined with commas as one value (RFC 9110
    /// §5.3); the default when there is none.
    pub fn from_headers(headers: &http::HeaderMap) -> Priority {
        let mut lines = headers
            .get_all(http::header::HeaderName::from_static("priority"))
            .iter();
        let Some(first) = lines.next() else {
            return Priority::default();
        };
        let Some(second) = lines.next() else {
            return Priority::parse(first.as_bytes());
        };
        let mut joined = first.as_bytes().to_vec();
        for v in std::iter::once(second).chain(lines) {
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(v.as_bytes());
        }
        Priority::parse(&joined)
    }

    /// The field value that says this priority, leaving out defaults
    /// (`""` for the default priority; `"u=1, i"`, `"u=5"`, `"i"`).
    pub fn to_field(&self) -> String {
        let mut s = String::new();
        if self.urgency != DEFAULT_URGENCY {
            s.push_str("u=");
            s.push(char::from(b'0' + self.urgency.min(MAX_URGENCY)));
        }
        if self.incremental {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push('i');
        }
        s
    }
}

/// A bare item (RFC 8941 §3.3), as far as `u` and `i` care.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bare {
    Int(i64),
    Bool(bool),
    /// Any other type, or an inner list.
    Other,
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// RFC 8941 §4.2.3.3.
    fn key(&mut self) -> Option<&[u8]> {
        let start = self.at;
        match self.peek()? {
            b'a'..=b'z' | b'*' => self.at += 1,
            _ => return None,
        }
        while let Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*') = self.peek() {
            self.at += 1;
        }
        Some(&self.s[start..self.at])
    }

    /// RFC 8941 §4.2.3.2.
    fn parameters(&mut self) -> Option<()> {
        while self.eat(b';') {
            self.skip_sp();
            self.key()?;
            if self.eat(b'=') {
                self.bare()?;
            }
        }
        Some(())
    }

    /// RFC 8941 §4.2.1.1: an item or an inner list, with its parameters.
    fn member(&mut self) -> Option<Bare> {
        if self.eat(b'(') {
            loop {
                self.skip_sp();
                if self.eat(b')') {
                    break;
                }
                self.bare()?;
                self.parameters()?;
                if !matches!(self.peek(), Some(b' ' | b')')) {
                    return None;
                }
            }
            self.parameters()?;
            return Some(Bare::Other);
        }
        let b = self.bare()?;
        self.parameters()?;
        Some(b)
    }

    /// RFC 8941 §4.2.3.1.
    fn bare(&mut self) -> Option<Bare> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number(),
            b'"' => {
                self.at += 1;
                loop {
                    match self.peek()? {
                        b'\\' => {
                            self.at += 1;
                            if !matches!(self.peek()?, b'"' | b'\\') {
                                return None;
                            }
                            self.at += 1;
                        }
                        b'"' => {
                            self.at += 1;
                            return Some(Bare::Other);
                        }
                        0x20..=0x7e => self.at += 1,
                        _ => return None,
                    }
                }
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'*' => {
                self.at += 1;
                while let Some(c) = self.peek() {
                    let tchar = c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c);
                    if !tchar {
                        break;
                    }
                    self.at += 1;
                }
                Some(Bare::Other)
            }
            b':' => {
                self.at += 1;
                while let Some(c) = self.peek() {
                    if c == b':' {
                        self.at += 1;
                        return Some(Bare::Other);
                    }
                    if !(c.is_ascii_alphanumeric() || b"+/=".contains(&c)) {
                        return None;
                    }
                    self.at += 1;
                }
                None
            }
            b'?' => {
                self.at += 1;
                let b = match self.peek()? {
                    b'0' => false,
                    b'1' => true,
                    _ => return None,
                };
                self.at += 1;
                Some(Bare::Bool(b))
            }
            _ => None,
        }
    }

    /// RFC 8941 §4.2.4: an integer (at most 15 digits) or a decimal (at
    /// most 12 integer and 1 to 3 fraction digits).
    fn number(&mut self) -> Option<Bare> {
        let neg = self.eat(b'-');
        let start = self.at;
        let mut n: i64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            self.at += 1;
            if self.at - start > 15 {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        let int_digits = self.at - start;
        if int_digits == 0 {
            return None;
        }
        if self.eat(b'.') {
            if int_digits > 12 {
                return None;
            }
            let f = self.at;
            while let Some(b'0'..=b'9') = self.peek() {
                self.at += 1;
            }
            if !(1..=3).contains(&(self.at - f)) {
                return None;
            }
            return Some(Bare::Other);
        }
        Some(Bare::Int(if neg { -n } else { n }))
    }
}

/// Parses a dictionary (RFC 8941 §4.2.2) and keeps the last value of `u`
/// and of `i` (a later member of a key replaces an earlier one, §3.2);
/// `None` if the text is not a dictionary.
fn parse_dictionary(s: &[u8]) -> Option<(Option<Bare>, Option<Bare>)> {
    let mut p = Parser { s, at: 0 };
    let (mut u, mut i) = (None, None);
    p.skip_sp();
    if p.peek().is_none() {
        return Some((u, i));
    }
    loop {
        let key = p.key()?;
        let is_u = key == b"u";
        let is_i = key == b"i";
        let value = if p.eat(b'=') {
            p.member()?
        } else {
            p.parameters()?;
            Bare::Bool(true)
        };
        if is_u {
            u = Some(value);
        } else if is_i {
            i = Some(value);
        }
        p.skip_ows();
        if p.peek().is_none() {
            return Some((u, i));
        }
        if !p.eat(b',') {
            return None;
        }
        p.skip_ows();
        p.peek()?; // a trailing comma fails the dictionary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Priority {
        Priority::parse(s.as_bytes())
    }

    #[test]
    fn rfc9218_s4_absent_parameters_take_the_defaults_u3_not_incremental() {
        assert_eq!(p(""), Priority::new(3, false));
        assert_eq!(p("   "), Priority::new(3, false));
        assert_eq!(p("u=0"), Priority::new(0, false));
        assert_eq!(p("i"), Priority::new(3, true));
    }

    #[test]
    fn rfc9218_s4_1_urgency_is_an_integer_0_to_7_others_ignored() {
        for u in 0..=7 {
            assert_eq!(p(&format!("u={u}")).urgency, u);
        }
        for bad in [
            "u=8", "u=-1", "u=1.0", "u=\"1\"", "u=?1", "u", "u=a", "u=(1)",
        ] {
            assert_eq!(p(bad).urgency, 3, "{bad}");
        }
        // One bad parameter does not spoil the other.
        assert_eq!(p("u=9, i"), Priority::new(3, true));
    }

    #[test]
    fn rfc9218_s4_2_incremental_is_a_boolean_others_ignored() {
        assert!(p("i").incremental);
        assert!(p("i=?1").incremental);
        assert!(!p("i=?0").incremental);
        for bad in ["i=1", "i=0", "i=\"?1\"", "i=tok", "i=(?1)"] {
            assert!(!p(bad).incremental, "{bad}");
        }
    }

    #[test]
    fn rfc9218_s4_unknown_keys_and_parameters_are_ignored() {
        assert_eq!(
            p("x=1, u=2;foo=\"b\\\"a\", zz=(a b);q=1.5, i, *k=:AQI=:"),
            Priority::new(2, true)
        );
        assert_eq!(p("u=5;i"), Priority::new(5, false), "a parameter of u");
    }

    #[test]
    fn rfc8941_s3_2_a_later_member_replaces_an_earlier_one() {
        assert_eq!(p("u=1, u=4"), Priority::new(4, false));
        // The later value is bad: the key's value is bad, so the default.
        assert_eq!(p("u=1, u=9"), Priority::new(3, false));
        assert_eq!(p("i, i=?0"), Priority::new(3, false));
    }

    #[test]
    fn rfc8941_s4_2_a_field_that_is_not_a_dictionary_is_ignored_whole() {
        for bad in [
            "u=1,",
            "u=1 i",
            "U=1",
            "u=1,,i",
            "u=\"open",
            "u=1, i=?2",
            ",u=1",
            "u=1\u{7f}",
            "u=1234567890123456",
            "u=1.2345",
            "u=:@@:",
        ] {
            assert_eq!(p(bad), Priority::default(), "{bad:?}");
        }
        assert_eq!(
            Priority::parse(&[0xff, b'u', b'=', b'1']),
            Priority::default()
        );
    }

    #[test]
    fn rfc8941_whitespace_around_members_is_allowed() {
        assert_eq!(p("  u=1 ,\ti  "), Priority::new(1, true));
    }

    #[test]
    fn rfc9218_s5_field_lines_are_joined_into_one_dictionary() {
        let mut h = http::HeaderMap::new();
        assert_eq!(Priority::from_headers(&h), Priority::default());
        h.append("priority", http::HeaderValue::from_static("u=1"));
        assert_eq!(Priority::from_headers(&h), Priority::new(1, false));
        h.append("priority", http::HeaderValue::from_static("i"));
        assert_eq!(Priority::from_headers(&h), Priority::new(1, true));
        h.append("priority", http::HeaderValue::from_static("u=6"));
        assert_eq!(Priority::from_headers(&h), Priority::new(6, true));
    }

    #[test]
    fn to_field_round_trips_every_priority() {
        for u in 0..=7 {
            for i in [false, true] {
                let pr = Priority::new(u, i);
                assert_eq!(p(&pr.to_field()), pr);
            }
        }
        assert_eq!(Priority::default().to_field(), "");
        assert_eq!(Priority::new(200, false).urgency, 7);
    }
}
