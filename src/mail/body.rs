//! Encoding a text part for the wire in one linear pass: line endings to
//! CRLF, then `7bit` when the text allows it, else quoted-printable
//! (RFC 2045 §6.7). lettre's own path (0.11) turns LF into CRLF by
//! inserting one byte at a time into the string, which moves the rest of
//! the string each time: on a 60 KB digest with 1,500 lines that was most
//! of the send's CPU. The result goes to lettre pre-encoded.

use lettre::message::Body;
use lettre::message::header::ContentTransferEncoding;

/// Longest line `7bit` allows, without its CRLF (RFC 5322 §2.1.1).
const MAX_7BIT_LINE: usize = 998;
/// Longest quoted-printable line before its soft break's `=`.
const QP_LINE: usize = 75;

/// `text` as a body lettre sends as it is.
pub fn encode(text: &str) -> Body {
    encode_keeping(text, "")
}

/// `encode`, with every occurrence of `keep` left whole on one line of
/// the encoded text, so that another string of the same length and kind
/// can later be written over it. `keep` must be literal in
/// quoted-printable (printable ASCII without `=`) and fit on one line;
/// any other `keep` is ignored.
pub fn encode_keeping(text: &str, keep: &str) -> Body {
    if seven_bit(text) {
        Body::dangerous_pre_encoded(crlf(text), ContentTransferEncoding::SevenBit)
    } else {
        let keep = if keep.len() <= QP_LINE
            && keep.bytes().all(|b| literal(b) && b != b' ' && b != b'\t')
        {
            keep
        } else {
            ""
        };
        Body::dangerous_pre_encoded(
            quoted_printable(text, keep),
            ContentTransferEncoding::QuotedPrintable,
        )
    }
}

/// Printable ASCII, spaces and tabs only, with short lines and no bare CR.
fn seven_bit(text: &str) -> bool {
    text.split('\n').all(|line| {
        let line = line.strip_suffix('\r').unwrap_or(line);
        line.len() <= MAX_7BIT_LINE
            && line
                .bytes()
                .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    })
}

/// Every line ending (LF or CRLF) as CRLF.
fn crlf(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 32);
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        out.extend_from_slice(line.strip_suffix('\r').unwrap_or(line).as_bytes());
        if lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn literal(b: u8) -> bool {
    (b.is_ascii_graphic() && b != b'=') || b == b' ' || b == b'\t'
}

/// Quoted-printable: `=XX` for `=`, control and non-ASCII bytes and for a
/// space or tab that ends a line; soft breaks keep lines within 76
/// characters, and never fall inside an occurrence of `keep` (empty: no
/// such care); line endings become CRLF.
fn quoted_printable(text: &str, keep: &str) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    let mut lines = text.split('\n').peekable();
    // Where `keep` occurs on the current line: (start, end), in order.
    let mut kept: Vec<(usize, usize)> = Vec::new();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        kept.clear();
        if !keep.is_empty() {
            kept.extend(
                line.match_indices(keep)
                    .map(|(at, _)| (at, at + keep.len())),
            );
        }
        let line = line.as_bytes();
        let (n, mut i, mut width) = (line.len(), 0, 0);
        // The first kept span not yet passed.
        let mut next_kept = 0;
        while i < n {
            let b = line[i];
            let plain = literal(b) && !(i + 1 == n && (b == b' ' || b == b'\t'));
            if plain {
                if width == QP_LINE {
                    out.extend_from_slice(b"=\r\n");
                    width = 0;
                }
                while kept.get(next_kept).is_some_and(|&(start, _)| start < i) {
                    next_kept += 1;
                }
                // A kept span that starts here goes on one line whole.
                if let Some(&(start, end)) = kept.get(next_kept)
                    && start == i
                    && width + (end - start) > QP_LINE
                {
                    out.extend_from_slice(b"=\r\n");
                    width = 0;
                }
                // The longest run of literal bytes that fits on this line;
                // a space or tab that ends the line is not one; nor does
                // the run end inside a kept span (one that starts here
                // fits, so the run still moves on).
                let mut limit = (i + QP_LINE - width).min(n);
                if let Some(&(start, _)) = kept[next_kept..]
                    .iter()
                    .find(|&&(start, end)| start < limit && limit < end)
                {
                    limit = start;
                }
                let mut j = i + 1;
                while j < limit && literal(line[j]) {
                    j += 1;
                }
                if j == n && matches!(line[j - 1], b' ' | b'\t') {
                    j -= 1;
                }
                out.extend_from_slice(&line[i..j]);
                width += j - i;
                i = j;
            } else {
                if width + 3 > QP_LINE {
                    out.extend_from_slice(b"=\r\n");
                    width = 0;
                }
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
                width += 3;
                i += 1;
            }
        }
        if lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(body: &Body) -> &str {
        std::str::from_utf8(body.as_ref()).unwrap()
    }

    /// Decodes quoted-printable the plain way, for checking.
    fn decode(qp: &str) -> String {
        let joined = qp.replace("=\r\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' {
                out.push(u8::from_str_radix(&joined[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_ascii_goes_as_7bit_with_crlf() {
        let body = encode("Hello.\nSecond line\r\nthird");
        assert_eq!(body.encoding(), ContentTransferEncoding::SevenBit);
        assert_eq!(text(&body), "Hello.\r\nSecond line\r\nthird");
    }

    #[test]
    fn non_ascii_long_lines_and_bare_cr_go_as_quoted_printable() {
        for input in ["Caf\u{e9} \u{2014} ok", &"x".repeat(1200), "a\rb"] {
            let body = encode(input);
            assert_eq!(
                body.encoding(),
                ContentTransferEncoding::QuotedPrintable,
                "{input}"
            );
        }
    }

    #[test]
    fn quoted_printable_round_trips_with_short_lines() {
        let input = "<p style=\"color: red\">Ni\u{f1}o \u{2014} caf\u{e9}</p>  \n\
                     trailing tab\t\r\n"
            .to_owned()
            + &"long words and = signs ".repeat(20)
            + "\nend \u{1f33f}";
        let edges = [
            "x".repeat(75) + " \u{e9}",
            "\u{e9}".to_owned() + &"y".repeat(150) + " ",
            "z".repeat(74) + "\u{e9}\t\n" + &"w".repeat(76),
            "\u{2014}".repeat(30) + "\n\n \n",
        ];
        for input in std::iter::once(&input).chain(&edges) {
            let body = encode(input);
            assert_eq!(body.encoding(), ContentTransferEncoding::QuotedPrintable);
            let qp = text(&body);
            for line in qp.split("\r\n") {
                assert!(line.len() <= 76, "{line:?} is {} long", line.len());
                assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
            }
            assert!(!qp.replace("\r\n", "").contains('\n'));
            assert_eq!(
                decode(qp),
                input.replace("\r\n", "\n").replace('\n', "\r\n")
            );
        }
    }

    #[test]
    fn a_kept_string_is_never_split_and_a_token_written_over_it_decodes_as_if_encoded() {
        let keep = "ffffeeeeddddccccbbbbaaaa99998888ffffeeeeddddccccbbbbaaaa9999zzzz";
        let token = "0123456789abcdef".repeat(4);
        // The placeholder at every offset of a 76-character line, after
        // escaped and plain bytes, and twice on one line.
        let mut input = String::new();
        for offset in 0..80 {
            input.push_str(&"\u{e9}".repeat(offset % 7));
            input.push_str(&"a".repeat(offset));
            input.push_str(&format!("https://x.example/u/{keep}?r=1 {keep}\n"));
        }
        let body = encode_keeping(&input, keep);
        assert_eq!(body.encoding(), ContentTransferEncoding::QuotedPrintable);
        let qp = text(&body);
        assert_eq!(qp.matches(keep).count(), 160);
        for line in qp.split("\r\n") {
            assert!(line.len() <= 76, "{line:?} is {} long", line.len());
        }
        let filled = qp.replace(keep, &token);
        assert_eq!(
            decode(&filled),
            input.replace(keep, &token).replace('\n', "\r\n")
        );
        // Text that can go as 7bit keeps it whole anyway.
        let plain = encode_keeping(&format!("Unsubscribe: https://x.example/{keep}\n"), keep);
        assert_eq!(plain.encoding(), ContentTransferEncoding::SevenBit);
        assert!(text(&plain).contains(keep));
        // A string quoted-printable would escape is not kept: no panic,
        // the text is still encoded and decodes back.
        let odd = encode_keeping("caf\u{e9} a=b", "a=b");
        assert_eq!(decode(text(&odd)), "caf\u{e9} a=b");
    }

    #[test]
    fn lettre_parses_what_we_encode() {
        // mail-parser, as the tests read mail, gets the text back.
        let input = "Line one \u{2014} caf\u{e9}\n".repeat(40) + "=end=";
        let message = lettre::Message::builder()
            .from("a@b.example".parse().unwrap())
            .to("c@d.example".parse().unwrap())
            .subject("s")
            .singlepart(
                lettre::message::SinglePart::builder()
                    .header(lettre::message::header::ContentType::TEXT_PLAIN)
                    .body(encode(&input)),
            )
            .unwrap();
        let raw = message.formatted();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let body = parsed.body_text(0).unwrap();
        // lettre ends the part with a line break of its own.
        assert_eq!(body.replace("\r\n", "\n").trim_end(), input);
    }
}
