//! The mail layer against a real SMTP server and a real outbox folder; the
//! received messages are read back with mail-parser, as a mail client would.

use crate::smtp_server::TestSmtp;
use feedletter::config::{Config, MailConfig};
use feedletter::domain::SubscriberEmail;
use feedletter::mail::{MailError, Mailer, OutgoingMail, SendError};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use std::path::Path;
use std::time::Duration;

const SUBJECT: &str = "Niacinamide, café-style — week 47";
const UNSUBSCRIBE: &str = "https://dewline.test/unsubscribe/0f3c9a?list=weekly";
const LIST_ID: &str = "The Dewline digest <weekly.dewline.test>";
/// Bytes 0..32 in base64: a fixed Ed25519 seed.
pub const ED25519_SEED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Mail settings as an operator would write them, read through `Config`.
fn mail_config(dir: &Path, title: &str, mail_toml: &str) -> MailConfig {
    let text =
        format!("[site]\ntitle = \"{title}\"\nbase_url = \"https://dewline.test\"\n\n{mail_toml}");
    Config::from_toml_str(&text, &dir.join("feedletter.toml"), &[])
        .unwrap_or_else(|e| panic!("test config: {e}"))
        .mail
}

fn smtp_toml(port: u16, extra: &str) -> String {
    format!(
        r#"[mail]
from = "The Dewline <digest@dewline.test>"
transport = "smtp"
postal_address = "The Dewline, 14 Rue des Lilas, 75011 Paris"
{extra}

[mail.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
pool_size = 2
timeout = "5s"
"#
    )
}

fn smtp_mailer(server: &TestSmtp) -> (tempfile::TempDir, Mailer) {
    let dir = tempfile::tempdir().unwrap();
    let config = mail_config(dir.path(), "The Dewline", &smtp_toml(server.port(), ""));
    let mailer = Mailer::from_config_with_password(&config, None).unwrap();
    (dir, mailer)
}

fn outgoing(mailer: &Mailer, to: &str) -> OutgoingMail {
    OutgoingMail {
        to: SubscriberEmail::parse(to).unwrap(),
        subject: SUBJECT.into(),
        text: "This week: niacinamide at 4% and 10%.\nRead on at the site.\n".into(),
        html: "<p>This week: <b>niacinamide</b> at 4% and 10%, café-tested.</p>\n".into(),
        message_id: mailer.new_message_id(),
        list_unsubscribe: Some(UNSUBSCRIBE.into()),
        list_id: Some(LIST_ID.into()),
        extra_headers: vec![("X-Feedletter-Digest".into(), "weekly".into())],
        bounce: None,
    }
}

/// The value of header `name`, continuation lines unfolded.
fn raw_header(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    message.header_raw(name).map(|v| {
        v.split(['\r', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    })
}

#[tokio::test]
async fn smtp_delivers_every_header_and_both_parts() {
    let server = TestSmtp::start();
    let (_dir, mailer) = smtp_mailer(&server);
    let mail = outgoing(&mailer, "Reader.One@Inbox.Example");
    let before = chrono::Utc::now().timestamp();
    mailer.send(&mail).await.unwrap();

    let received = server.received();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.from, "digest@dewline.test");
    assert_eq!(got.to, vec!["Reader.One@inbox.example".to_string()]);

    let m = got.parsed();
    let from = m.from().and_then(|a| a.first()).unwrap();
    assert_eq!(from.address(), Some("digest@dewline.test"));
    assert_eq!(from.name(), Some("The Dewline"));
    let to = m.to().and_then(|a| a.first()).unwrap();
    assert_eq!(to.address(), Some("Reader.One@inbox.example"));
    assert_eq!(m.subject(), Some(SUBJECT));
    let date = m.date().expect("Date header").to_timestamp();
    assert!(
        (before - 5..=before + 60).contains(&date),
        "Date {date} far from {before}"
    );
    assert_eq!(m.message_id(), Some(mail.message_id.as_str()));
    assert!(mail.message_id.ends_with("@dewline.test"));
    assert_eq!(
        raw_header(&m, "List-Unsubscribe").as_deref(),
        Some(format!("<{UNSUBSCRIBE}>").as_str())
    );
    assert_eq!(
        raw_header(&m, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(raw_header(&m, "List-Id").as_deref(), Some(LIST_ID));
    assert_eq!(
        raw_header(&m, "X-Feedletter-Digest").as_deref(),
        Some("weekly")
    );

    // multipart/alternative: text/plain first, then text/html.
    let root = m.root_part();
    let ct = root.content_type().unwrap();
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("alternative"))
    );
    let PartType::Multipart(ids) = &root.body else {
        panic!("root is not multipart: {:?}", root.body)
    };
    let kinds: Vec<String> = ids
        .iter()
        .map(|&i| {
            let ct = m.parts[i as usize].content_type().unwrap();
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
        })
        .collect();
    assert_eq!(kinds, ["text/plain", "text/html"]);
    let text = m.body_text(0).unwrap().replace("\r\n", "\n");
    assert_eq!(text, mail.text);
    let html = m.body_html(0).unwrap().replace("\r\n", "\n");
    assert_eq!(html, mail.html);
}

#[tokio::test]
async fn refused_recipients_are_permanent_or_transient_by_reply_code() {
    let server = TestSmtp::start();
    server.reject_rcpt("gone@inbox.example", 550);
    server.reject_rcpt("busy@inbox.example", 451);
    let (_dir, mailer) = smtp_mailer(&server);

    let err = mailer
        .send(&outgoing(&mailer, "gone@inbox.example"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SendError::Permanent { ref reason } if reason.contains("550")),
        "{err:?}"
    );
    let err = mailer
        .send(&outgoing(&mailer, "busy@inbox.example"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SendError::Transient { ref reason } if reason.contains("451")),
        "{err:?}"
    );

    // One refused address does not spoil the pool for the rest of a batch.
    mailer
        .send(&outgoing(&mailer, "fine@inbox.example"))
        .await
        .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, vec!["fine@inbox.example".to_string()]);
}

#[tokio::test]
async fn unreachable_server_is_transient() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = mail_config(dir.path(), "The Dewline", &smtp_toml(port, ""));
    let mailer = Mailer::from_config_with_password(&config, None).unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        mailer.send(&outgoing(&mailer, "reader@inbox.example")),
    )
    .await
    .expect("send gives up within its timeout")
    .unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
}

#[tokio::test]
async fn file_transport_writes_one_parsable_eml_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = mail_config(
        dir.path(),
        "The Dewline",
        "[mail]\nfrom = \"The Dewline <digest@dewline.test>\"\ntransport = \"file\"\noutbox_dir = \"spool/outbox\"\n",
    );
    let outbox = dir.path().join("spool/outbox");
    assert!(!outbox.exists());
    let mailer = Mailer::from_config(&config).unwrap();
    assert!(outbox.is_dir(), "from_config creates the outbox");

    let first = outgoing(&mailer, "one@inbox.example");
    let second = outgoing(&mailer, "two@inbox.example");
    mailer.send(&first).await.unwrap();
    mailer.send(&second).await.unwrap();

    let mut ids = Vec::new();
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(path.extension().and_then(|e| e.to_str()), Some("eml"));
        let bytes = std::fs::read(&path).unwrap();
        let m = MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(m.subject(), Some(SUBJECT));
        ids.push(m.message_id().unwrap().to_owned());
    }
    ids.sort();
    let mut want = vec![first.message_id.clone(), second.message_id.clone()];
    want.sort();
    assert_eq!(ids, want);
}

#[tokio::test]
async fn dkim_signature_verifies_and_covers_the_list_headers() {
    let server = TestSmtp::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dkim.key"), format!("{ED25519_SEED}\n")).unwrap();
    let dkim =
        "[mail.dkim]\nselector = \"dew2026\"\ndomain = \"dewline.test\"\nkey_file = \"dkim.key\"\n";
    let config = mail_config(dir.path(), "The Dewline", &smtp_toml(server.port(), dkim));
    let mailer = Mailer::from_config_with_password(&config, None).unwrap();
    let mut mail = outgoing(&mailer, "reader@inbox.example");
    // Long non-ASCII lines: quoted-printable soft breaks in the signed body.
    mail.html
        .push_str(&"<p>Ceramides, café au lait, \tand   spaces.</p>\n".repeat(20));
    mailer.send(&mail).await.unwrap();

    let received = server.received();
    let raw = &received[0].data;
    let key =
        ed25519_dalek::SigningKey::from_bytes(&std::array::from_fn(|i| i as u8)).verifying_key();
    let tags = verify_ed25519_dkim(raw, &key).unwrap_or_else(|e| panic!("DKIM: {e}"));
    let tag = |name: &str| {
        tags.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(tag("a"), Some("ed25519-sha256"));
    assert_eq!(tag("d"), Some("dewline.test"));
    assert_eq!(tag("s"), Some("dew2026"));
    assert_signs_list_headers(&tags);

    // A relay that rewrites the unsubscribe link breaks the signature.
    let text = String::from_utf8(raw.clone()).unwrap();
    let tampered = text.replace(
        "https://dewline.test/unsubscribe",
        "https://evil.test/unsubscribe",
    );
    assert_ne!(tampered, text);
    assert!(verify_ed25519_dkim(tampered.as_bytes(), &key).is_err());
}

/// The signature's `h=` covers From, Subject, Date, Message-ID and both
/// List-Unsubscribe headers (what every digest must carry).
pub fn assert_signs_list_headers(tags: &[(String, String)]) {
    let signed: Vec<String> = tags
        .iter()
        .find(|(k, _)| k == "h")
        .map(|(_, v)| {
            v.split(':')
                .map(|h| h.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    for header in [
        "from",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        assert!(
            signed.iter().any(|h| h == header),
            "{header} not in h={signed:?}"
        );
    }
}

/// An independent DKIM check (RFC 6376 relaxed/relaxed, RFC 8463 Ed25519)
/// of the first DKIM-Signature; returns its tags.
pub fn verify_ed25519_dkim(
    raw: &[u8],
    key: &ed25519_dalek::VerifyingKey,
) -> Result<Vec<(String, String)>, String> {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no header/body split")?;
    // (name, raw value with its folding)
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().ok_or("continuation first")?;
            last.1.push_str("\r\n");
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').ok_or("header without colon")?;
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    let relaxed = |name: &str, value: &str| {
        let value = value.replace("\r\n", "");
        let value: Vec<&str> = value.split([' ', '\t']).filter(|s| !s.is_empty()).collect();
        format!(
            "{}:{}\r\n",
            name.trim().to_ascii_lowercase(),
            value.join(" ")
        )
    };
    let sig_value = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("DKIM-Signature"))
        .map(|(_, v)| v.clone())
        .ok_or("no DKIM-Signature")?;
    let tags: Vec<(String, String)> = sig_value
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.split_whitespace().collect()))
        .collect();
    let tag = |name: &str| {
        tags.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or(format!("no {name}= tag"))
    };
    if tag("c")? != "relaxed/relaxed" || tag("a")? != "ed25519-sha256" {
        return Err(format!("unexpected c= or a= in {sig_value}"));
    }

    let mut lines: Vec<String> = body
        .split("\r\n")
        .map(|l| {
            let words: Vec<&str> = l.split([' ', '\t']).filter(|s| !s.is_empty()).collect();
            let lead = if l.starts_with([' ', '\t']) { " " } else { "" };
            format!("{lead}{}", words.join(" "))
        })
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let mut canon_body = lines.join("\r\n");
    if !canon_body.is_empty() {
        canon_body.push_str("\r\n");
    }
    if b64.encode(Sha256::digest(canon_body.as_bytes())) != tag("bh")? {
        return Err("body hash mismatch".into());
    }

    let mut hashed = String::new();
    for name in tag("h")?.split(':') {
        if let Some((n, v)) = headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            hashed.push_str(&relaxed(n, v));
        }
    }
    let without_b: Vec<String> = sig_value
        .split(';')
        .map(|t| match t.split_once('=') {
            Some((k, _)) if k.trim() == "b" => format!("{k}="),
            _ => t.to_owned(),
        })
        .collect();
    hashed.push_str(relaxed("DKIM-Signature", &without_b.join(";")).trim_end_matches("\r\n"));
    let signature = b64.decode(tag("b")?).map_err(|e| e.to_string())?;
    let signature = ed25519_dalek::Signature::from_slice(&signature).map_err(|e| e.to_string())?;
    key.verify_strict(&Sha256::digest(hashed.as_bytes()), &signature)
        .map_err(|e| format!("signature does not verify: {e}"))?;
    Ok(tags)
}

#[tokio::test]
async fn a_username_without_the_password_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let toml =
        smtp_toml(2525, "").replace("tls = \"none\"", "tls = \"none\"\nusername = \"dewline\"");
    let config = mail_config(dir.path(), "The Dewline", &toml);
    let err = Mailer::from_config_with_password(&config, None).unwrap_err();
    assert!(matches!(err, MailError::MissingPassword));
    assert!(
        err.to_string().contains("FEEDLETTER_SMTP_PASSWORD"),
        "{err}"
    );
    assert!(Mailer::from_config_with_password(&config, Some("secret".into())).is_ok());
}

#[tokio::test]
async fn a_bad_dkim_key_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.key"), "not a key at all").unwrap();
    let dkim =
        "[mail.dkim]\nselector = \"s\"\ndomain = \"dewline.test\"\nkey_file = \"broken.key\"\n";
    let config = mail_config(dir.path(), "The Dewline", &smtp_toml(2525, dkim));
    let err = Mailer::from_config_with_password(&config, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.key"), "{err}");
}

#[tokio::test]
async fn the_default_from_uses_the_site_title_even_with_parentheses() {
    let dir = tempfile::tempdir().unwrap();
    let config = mail_config(
        dir.path(),
        "The Dewline (test)",
        "[mail]\ntransport = \"file\"\n",
    );
    let mailer = Mailer::from_config(&config).unwrap();
    let bytes = mailer
        .build(&outgoing(&mailer, "reader@inbox.example"))
        .unwrap()
        .formatted();
    let m = MessageParser::default().parse(&bytes).unwrap();
    let from = m.from().and_then(|a| a.first()).unwrap();
    assert_eq!(from.name(), Some("The Dewline (test)"));
    assert_eq!(from.address(), Some("digest@dewline.test"));
}

// ------------------------------------------------------------- templates

fn email_templates() -> tera::Tera {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/email");
    let sources: Vec<(String, String)> =
        ["confirm.html", "confirm.txt", "welcome.html", "welcome.txt"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(dir.join(name)).unwrap();
                (format!("email/{name}"), text)
            })
            .collect();
    let mut tera = tera::Tera::new();
    tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .unwrap();
    tera
}

fn template_context(topics: &[&str]) -> tera::Context {
    let mut c = tera::Context::new();
    c.insert("site_title", "The Dewline");
    c.insert("site_url", "https://dewline.test");
    c.insert(
        "confirm_url",
        "https://dewline.test/subscribe/confirm/tok?x=1&y=2",
    );
    c.insert("preferences_url", "https://dewline.test/preferences/tok");
    c.insert("unsubscribe_url", "https://dewline.test/unsubscribe/tok");
    c.insert("expires_days", &7);
    c.insert("topics", topics);
    c.insert("frequency", "weekly");
    c.insert(
        "postal_address",
        "The Dewline\n14 Rue des Lilas\n75011 Paris",
    );
    c
}

#[test]
fn confirm_and_welcome_templates_render_for_html_and_text() {
    let tera = email_templates();
    let with_topics = template_context(&["Sunscreen & SPF", "Retinoids"]);
    let everything = template_context(&[]);

    let html = tera.render("email/confirm.html", &with_topics).unwrap();
    assert!(
        html.contains("href=\"https://dewline.test/subscribe/confirm/tok?x=1&amp;y=2\""),
        "{html}"
    );
    assert!(html.contains("Sunscreen &amp; SPF, Retinoids"), "{html}");
    assert!(html.contains("max-width:600px"));
    assert!(html.contains("14 Rue des Lilas<br>75011 Paris"), "{html}");
    assert!(html.contains("7 days"));
    assert!(!html.contains("<link") && !html.contains("<img") && !html.contains("<style"));

    let text = tera.render("email/confirm.txt", &with_topics).unwrap();
    assert!(
        text.contains("https://dewline.test/subscribe/confirm/tok?x=1&y=2"),
        "{text}"
    );
    assert!(
        text.contains("  - Sunscreen & SPF\n  - Retinoids\n"),
        "{text}"
    );
    assert!(text.contains("14 Rue des Lilas\n75011 Paris"));
    assert!(!text.contains('<'), "text part holds markup:\n{text}");

    let text = tera.render("email/confirm.txt", &everything).unwrap();
    assert!(text.contains("every topic"), "{text}");

    let html = tera.render("email/welcome.html", &with_topics).unwrap();
    assert!(html.contains("href=\"https://dewline.test/unsubscribe/tok\""));
    assert!(html.contains("href=\"https://dewline.test/preferences/tok\""));
    assert!(html.contains("weekly digest"));
    let text = tera.render("email/welcome.txt", &everything).unwrap();
    assert!(
        text.contains("Unsubscribe: https://dewline.test/unsubscribe/tok"),
        "{text}"
    );
    assert!(text.contains("You follow every topic"), "{text}");
    assert!(!text.contains('<'), "text part holds markup:\n{text}");
}

#[tokio::test]
async fn a_rendered_confirmation_arrives_intact() {
    let server = TestSmtp::start();
    let (_dir, mailer) = smtp_mailer(&server);
    let tera = email_templates();
    let context = template_context(&["Sunscreen & SPF"]);
    let mut mail = outgoing(&mailer, "new.reader@inbox.example");
    mail.subject = "Confirm your subscription to The Dewline".into();
    mail.text = tera.render("email/confirm.txt", &context).unwrap();
    mail.html = tera.render("email/confirm.html", &context).unwrap();
    mail.list_unsubscribe = None;
    mail.list_id = None;
    mailer.send(&mail).await.unwrap();

    let received = server.wait_for(1, Duration::from_secs(5)).await;
    let m = received[0].parsed();
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), mail.text);
    assert_eq!(m.body_html(0).unwrap().replace("\r\n", "\n"), mail.html);
    assert!(m.header_raw("List-Unsubscribe").is_none());
}
