//! Reading real-shaped reports: the fixtures in `tests/fixtures/bounces`
//! are written after RFC 3464 and RFC 5965 and the variations the big
//! mail systems send.

use super::*;

const VERP: &str = "bounces+3-42-0123456789abcdef0123@dewline.example";
const RECIPIENT: &str = "jane@inbox.example";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bounces")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("VERP_ADDRESS", VERP)
        .replace("RECIPIENT", RECIPIENT)
        .into_bytes()
}

fn bounce(name: &str) -> (BounceKind, Option<String>, String) {
    match classify(&fixture(name)).0 {
        Classified::Bounce {
            kind,
            status,
            reason,
        } => (kind, status, reason),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn permanent_failures_from_each_mail_system_are_hard_bounces() {
    for (name, status, said) in [
        (
            "postfix-hard.eml",
            "5.1.1",
            "User unknown in virtual mailbox table",
        ),
        ("gmail-no-such-user.eml", "5.1.1", "does not exist"),
        (
            "outlook-recipient-not-found.eml",
            "5.1.10",
            "RecipientNotFound",
        ),
        ("qmail-text-only.eml", "5.1.1", "no mailbox here"),
    ] {
        let (kind, got, reason) = bounce(name);
        assert_eq!(kind, BounceKind::Hard, "{name}");
        assert_eq!(got.as_deref(), Some(status), "{name}");
        assert!(reason.contains(said), "{name}: {reason}");
        assert!(!reason.contains('\n'), "{name}: {reason:?}");
    }
}

#[test]
fn a_full_mailbox_is_a_soft_bounce() {
    let (kind, status, reason) = bounce("exim-mailbox-full.eml");
    assert_eq!(kind, BounceKind::Soft);
    assert_eq!(status.as_deref(), Some("4.2.2"));
    assert!(reason.contains("full"), "{reason}");
}

#[test]
fn delay_warnings_auto_replies_and_other_feedback_are_not_acted_on() {
    for (name, why) in [
        ("postfix-delayed.eml", "delay"),
        ("out-of-office.eml", "auto-reply"),
        ("vacation-no-headers.eml", "auto-reply"),
        ("not-spam-report.eml", "not-spam"),
    ] {
        match classify(&fixture(name)).0 {
            Classified::Ignored(reason) => assert!(reason.contains(why), "{name}: {reason}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn feedback_reports_are_complaints_that_point_at_the_verp_address() {
    for (name, agent) in [
        ("yahoo-complaint.eml", "Yahoo"),
        ("outlook-complaint.eml", "Microsoft"),
    ] {
        let (c, hints) = classify(&fixture(name));
        let Classified::Complaint(f) = c else {
            panic!("{name}: {c:?}");
        };
        assert_eq!(f.feedback_type, "abuse");
        assert!(f.reason().contains(agent), "{name}: {}", f.reason());
        assert!(hints.iter().any(|h| h.contains(VERP)), "{name}: {hints:?}");
    }
}

#[test]
fn a_report_with_several_recipients_is_read_for_its_worst_news() {
    let text = "From: MAILER-DAEMON@relay.example\nTo: x@y\nSubject: Undelivered\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n\
        Content-Type: text/plain\n\nsee below\n--b\nContent-Type: message/delivery-status\n\n\
        Reporting-MTA: dns; relay.example\n\nFinal-Recipient: rfc822; a@example.com\n\
        Action: delivered\nStatus: 2.0.0\n\nFinal-Recipient: rfc822; b@example.com\n\
        Action: failed\nStatus: 5.0.0 (permanent failure)\n\
        Diagnostic-Code: smtp; 550 5.2.1 mailbox disabled\n--b--\n";
    let (c, _) = classify(text.as_bytes());
    assert_eq!(
        c,
        Classified::Bounce {
            kind: BounceKind::Hard,
            status: Some("5.0.0".into()),
            reason: "550 5.2.1 mailbox disabled".into()
        }
    );
}

#[test]
fn text_bounces_without_codes_read_their_words() {
    let permanent = "From: Mail Delivery System <MAILER-DAEMON@old.example>\nTo: x@y\n\
        Subject: Mail delivery failed\n\nThe following address failed:\n  a@b.example\n  \
        Unrouteable address\n";
    let (c, _) = classify(permanent.as_bytes());
    assert!(
        matches!(
            &c,
            Classified::Bounce {
                kind: BounceKind::Hard,
                ..
            }
        ),
        "{c:?}"
    );
    let temporary = permanent.replace("Unrouteable address", "retry timeout exceeded");
    let (c, _) = classify(temporary.as_bytes());
    assert!(
        matches!(
            &c,
            Classified::Bounce {
                kind: BounceKind::Soft,
                ..
            }
        ),
        "{c:?}"
    );
    // Old Exim marks its prose bounces as auto-replies: still a bounce.
    let exim = permanent.replace("Subject:", "Auto-Submitted: auto-replied\nSubject:");
    let (c, _) = classify(exim.as_bytes());
    assert!(
        matches!(
            &c,
            Classified::Bounce {
                kind: BounceKind::Hard,
                ..
            }
        ),
        "{c:?}"
    );
    // The same words from a person are not a bounce.
    let person = "From: Jane <jane@inbox.example>\nTo: x@y\nSubject: re: your digest\n\n\
        My old address does not exist any more.\n";
    assert!(matches!(
        classify(person.as_bytes()).0,
        Classified::Ignored(_)
    ));
}

#[test]
fn policy_refusals_and_full_mailboxes_are_soft_even_with_class_5() {
    assert_eq!(dsn::kind_of(Some("5.7.1")), BounceKind::Soft);
    assert_eq!(dsn::kind_of(Some("5.2.2")), BounceKind::Soft);
    assert_eq!(dsn::kind_of(Some("5.1.1")), BounceKind::Hard);
    assert_eq!(dsn::kind_of(Some("5.2.1")), BounceKind::Hard);
    assert_eq!(dsn::kind_of(Some("4.4.7")), BounceKind::Soft);
    assert_eq!(dsn::kind_of(None), BounceKind::Soft);
}

#[test]
fn garbage_is_ignored_not_an_error() {
    for junk in [&b""[..], b"\x00\x01\x02", b"just some words"] {
        assert!(matches!(classify(junk).0, Classified::Ignored(_)));
    }
}
