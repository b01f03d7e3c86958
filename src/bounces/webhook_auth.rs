//! How each provider's webhook proves it is the provider, as each
//! documents it:
//! - Mailgun signs every event: HMAC-SHA256, keyed with the HTTP webhook
//!   signing key, over `timestamp` followed by `token`, hex, in the body's
//!   `signature` object;
//! - SendGrid's Signed Event Webhook signs `timestamp + body` with ECDSA
//!   P-256 (SHA-256), base64 DER in `X-Twilio-Email-Event-Webhook-Signature`,
//!   the timestamp in `X-Twilio-Email-Event-Webhook-Timestamp`;
//! - Postmark sends HTTP basic auth credentials put in the webhook URL;
//! - Amazon SNS (for SES) signs with a certificate that would have to be
//!   fetched from AWS, which a daemon without outbound access cannot do:
//!   the endpoint is instead given a shared secret, as HTTP basic auth in
//!   the subscription URL (which SNS supports) or `?secret=`.
//!
//! Signed events older or newer than `MAX_SKEW` are refused (replays).

use crate::subscribers::tokens::constant_time_eq;
use base64::Engine as _;
use ring::{hmac, signature};

/// How far a signed event's timestamp may be from now.
pub const MAX_SKEW: i64 = 15 * 60;

/// The DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed
/// point: what SendGrid's verification key is.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The public point of a P-256 SubjectPublicKeyInfo (DER).
pub fn p256_point(spki: &[u8]) -> Option<&[u8]> {
    let point = spki.strip_prefix(&P256_SPKI_PREFIX[..])?;
    (point.len() == 65 && point[0] == 0x04).then_some(point)
}

/// Mailgun: `signature` is the hex HMAC-SHA256 of `timestamp + token`.
pub fn mailgun(key: &str, timestamp: &str, token: &str, signature: &str, now: i64) -> bool {
    let Ok(sig) = hex::decode(signature.trim()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    let signed = format!("{timestamp}{token}");
    fresh(timestamp, now) && hmac::verify(&key, signed.as_bytes(), &sig).is_ok()
}

/// SendGrid: `signature_b64` is an ECDSA P-256 SHA-256 signature (ASN.1
/// DER, base64) of `timestamp` followed by the raw body.
pub fn sendgrid(spki: &[u8], timestamp: &str, body: &[u8], signature_b64: &str, now: i64) -> bool {
    let Some(point) = p256_point(spki) else {
        return false;
    };
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    let mut signed = timestamp.as_bytes().to_vec();
    signed.extend_from_slice(body);
    let key = signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point);
    fresh(timestamp, now) && key.verify(&signed, &sig).is_ok()
}

/// HTTP basic auth whose password is `secret` (any user name).
pub fn basic(authorization: Option<&str>, secret: &str) -> bool {
    let Some(encoded) = authorization.and_then(|a| {
        let (scheme, rest) = a.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
    }) else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return false;
    };
    let Some((_, password)) = std::str::from_utf8(&decoded)
        .ok()
        .and_then(|d| d.split_once(':'))
    else {
        return false;
    };
    constant_time_eq(password.as_bytes(), secret.as_bytes())
}

/// A shared secret given as `?secret=` (or basic auth's password).
pub fn shared_secret(authorization: Option<&str>, query: Option<&str>, secret: &str) -> bool {
    let in_query = query.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "secret" && constant_time_eq(v.as_bytes(), secret.as_bytes()))
    });
    in_query || basic(authorization, secret)
}

fn fresh(timestamp: &str, now: i64) -> bool {
    timestamp
        .trim()
        .parse::<i64>()
        .is_ok_and(|t| (now - t).abs() <= MAX_SKEW)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};

    #[test]
    fn mailgun_signatures_check_key_content_and_age() {
        let key = "key-abc";
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
            b"1700000000tok123",
        );
        let sig = hex::encode(tag.as_ref());
        assert!(mailgun(key, "1700000000", "tok123", &sig, 1_700_000_100));
        assert!(!mailgun(
            "key-other",
            "1700000000",
            "tok123",
            &sig,
            1_700_000_100
        ));
        assert!(!mailgun(key, "1700000000", "tok124", &sig, 1_700_000_100));
        assert!(!mailgun(
            key,
            "1700000000",
            "tok123",
            &sig,
            1_700_000_000 + 3600
        ));
        assert!(!mailgun(key, "1700000000", "tok123", "zz", 1_700_000_100));
    }

    #[test]
    fn sendgrid_signatures_check_against_the_public_key() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(pair.public_key().as_ref());
        let body = br#"[{"email":"a@b.example","event":"bounce"}]"#;
        let mut signed = b"1700000000".to_vec();
        signed.extend_from_slice(body);
        let sig = base64::engine::general_purpose::STANDARD
            .encode(pair.sign(&rng, &signed).unwrap().as_ref());
        assert!(sendgrid(&spki, "1700000000", body, &sig, 1_700_000_010));
        assert!(!sendgrid(&spki, "1700000001", body, &sig, 1_700_000_010));
        assert!(!sendgrid(&spki, "1700000000", b"[]", &sig, 1_700_000_010));
        assert!(!sendgrid(
            &spki[1..],
            "1700000000",
            body,
            &sig,
            1_700_000_010
        ));
    }

    #[test]
    fn basic_auth_and_query_secrets() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("hooks:s3cret")
        );
        assert!(basic(Some(&header), "s3cret"));
        assert!(!basic(Some(&header), "other"));
        assert!(!basic(Some("Bearer s3cret"), "s3cret"));
        assert!(!basic(None, "s3cret"));
        assert!(shared_secret(None, Some("a=1&secret=s3cret"), "s3cret"));
        assert!(!shared_secret(None, Some("secret=nope"), "s3cret"));
        assert!(shared_secret(Some(&header), None, "s3cret"));
    }
}
