//! The header-like blocks of report parts (RFC 3464 §2.1, RFC 5965 §3.1):
//! `Name: value` lines, folded lines continued with white space, groups
//! separated by blank lines; and the status codes found in free text.

/// One block's fields, names lower-cased, values unfolded and trimmed.
pub type Fields = Vec<(String, String)>;

/// Every block of `text`, in order.
pub fn blocks(text: &str) -> Vec<Fields> {
    let mut out = Vec::new();
    let mut block: Fields = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !block.is_empty() {
                out.push(std::mem::take(&mut block));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    if !block.is_empty() {
        out.push(block);
    }
    out
}

/// The value of field `name` (lower case) in `block`.
pub fn get<'a>(block: &'a Fields, name: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The address of a typed field such as `rfc822; jane@example.com`.
pub fn typed_address(value: &str) -> &str {
    value
        .split_once(';')
        .map_or(value, |(_, a)| a)
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
}

/// The first enhanced status code (RFC 3463: `class.subject.detail`, class
/// 2, 4 or 5) in `text`, such as `5.1.1` in `550 5.1.1 <x>: user unknown`
/// or `(#5.1.1)`.
pub fn enhanced_status(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = matches!(bytes[i], b'2' | b'4' | b'5')
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.'));
        if starts && let Some(len) = status_len(&bytes[i..]) {
            return Some(text[i..i + len].to_owned());
        }
        i += 1;
    }
    None
}

/// The length of `c.s.d` at the start of `b` (1-3 digits each after the
/// class), when nothing but a boundary follows.
fn status_len(b: &[u8]) -> Option<usize> {
    if b.len() < 5 || b[1] != b'.' {
        return None;
    }
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let subject = digits(2);
    if !(1..=3).contains(&subject) || b.get(2 + subject) != Some(&b'.') {
        return None;
    }
    let detail_at = 3 + subject;
    let detail = digits(detail_at);
    if !(1..=3).contains(&detail) {
        return None;
    }
    let end = detail_at + detail;
    match b.get(end) {
        Some(c)
            if c.is_ascii_alphanumeric()
                || *c == b'.' && b.get(end + 1).is_some_and(u8::is_ascii_digit) =>
        {
            None
        }
        _ => Some(end),
    }
}

/// The first SMTP reply code of a failure (4yz or 5yz, y 0-5) standing as
/// a word in `text`, such as `550` in `said: 550-Mailbox unavailable`.
pub fn smtp_code(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(2)).find_map(|i| {
        let w = &bytes[i..i + 3];
        let boundary_before =
            i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'.';
        let boundary_after = bytes
            .get(i + 3)
            .is_none_or(|c| matches!(c, b' ' | b'-' | b'\t' | b'\r' | b'\n'));
        let shaped =
            matches!(w[0], b'4' | b'5') && (b'0'..=b'5').contains(&w[1]) && w[2].is_ascii_digit();
        (boundary_before && boundary_after && shaped).then(|| {
            u16::from(w[0] - b'0') * 100 + u16::from(w[1] - b'0') * 10 + u16::from(w[2] - b'0')
        })
    })
}

/// `text` on one line, at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let squashed = crate::domain::text::squash_whitespace(
        &text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>(),
    );
    if squashed.chars().count() <= max {
        squashed
    } else {
        let mut cut: String = squashed.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_unfold_and_split_on_blank_lines() {
        let text = "Reporting-MTA: dns; mx.example\r\nArrival-Date: Mon, 1 Jan 2026\r\n\r\n\
                    Final-Recipient: rfc822; jane@example.com\r\nAction: failed\r\n\
                    Diagnostic-Code: smtp; 550 5.1.1 <jane@example.com>:\r\n    user unknown\r\n";
        let b = blocks(text);
        assert_eq!(b.len(), 2);
        assert_eq!(get(&b[1], "action"), Some("failed"));
        assert_eq!(
            get(&b[1], "diagnostic-code"),
            Some("smtp; 550 5.1.1 <jane@example.com>: user unknown")
        );
        assert_eq!(
            typed_address(get(&b[1], "final-recipient").unwrap()),
            "jane@example.com"
        );
    }

    #[test]
    fn status_codes_are_found_as_words_only() {
        assert_eq!(
            enhanced_status("550 5.1.1 user unknown").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            enhanced_status("no mailbox (#5.1.1)").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            enhanced_status("550 5.1.10 RESOLVER.ADR").as_deref(),
            Some("5.1.10")
        );
        assert_eq!(
            enhanced_status("4.2.2 (mailbox full)").as_deref(),
            Some("4.2.2")
        );
        assert_eq!(enhanced_status("version 1.5.1.2 and 10.4.2.1"), None);
        assert_eq!(enhanced_status("at 192.168.5.1"), None);
        assert_eq!(
            smtp_code("host said: 550-5.1.1 The email account").unwrap(),
            550
        );
        assert_eq!(smtp_code("452 4.2.2 over quota").unwrap(), 452);
        assert_eq!(smtp_code("port 587 and id 5501"), None);
    }
}
