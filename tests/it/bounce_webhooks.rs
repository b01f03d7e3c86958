//! `POST /webhooks/{provider}`: each provider's documented JSON, with good
//! and bad authentication, against the daemon on a free port.

use crate::bounces::{Daemon, about, reload, subscribe, verp};
use crate::helpers::TestSite;
use base64::Engine as _;
use feedletter::Clock as _;
use feedletter::domain::SubscriberStatus;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};

const SECRET: &str = "hook-secret-7f3a";
const MAILGUN_KEY: &str = "mg-signing-key-41";

/// The DER prefix of a P-256 public key, as SendGrid shows its key.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

struct Hooks {
    site: TestSite,
    daemon: Daemon,
    client: reqwest::Client,
    sendgrid: EcdsaKeyPair,
}

impl Hooks {
    async fn start() -> Self {
        let site = TestSite::new("").await;
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let sendgrid =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap();
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(sendgrid.public_key().as_ref());
        let mut config = site.config.clone();
        // What the environment and `bounces.sendgrid_public_key` give.
        config.bounces.webhook_secret = Some(SECRET.into());
        config.bounces.mailgun_signing_key = Some(MAILGUN_KEY.into());
        config.bounces.sendgrid_public_key = Some(spki);
        let daemon = Daemon::start_with(config, &site).await;
        Self {
            site,
            daemon,
            client: reqwest::Client::new(),
            sendgrid,
        }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.daemon.http))
    }

    fn now(&self) -> i64 {
        self.site.clock.now().timestamp()
    }
}

async fn answer(r: reqwest::RequestBuilder) -> (u16, Value) {
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn sns(message: &Value) -> String {
    json!({
        "Type": "Notification",
        "MessageId": "0e1f2a3b-1111-2222-3333-444455556666",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:dewline-ses",
        "Message": message.to_string(),
        "Timestamp": "2026-11-25T06:30:00.000Z",
        "SignatureVersion": "1",
        "Signature": "c2lnbmF0dXJl",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem"
    })
    .to_string()
}

#[tokio::test]
async fn ses_notifications_through_sns_need_the_shared_secret() {
    let h = Hooks::start().await;
    let people = subscribe(
        &h.site,
        &["ann@inbox.example", "ben@inbox.example", "cy@inbox.example"],
    )
    .await;
    let v = verp(&h.site).await;
    // SES sent Ann's digest from her VERP address: the notification's
    // mail.source names her even if the bounced address were rewritten.
    let bounce = json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "ann@inbox.example", "action": "failed",
                "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2026-11-25T06:29:58.000Z",
            "feedbackId": "0100019abc-bounce-1"
        },
        "mail": {"timestamp": "2026-11-25T06:29:50.000Z", "source": v.address(about(&people[0], 4)),
            "messageId": "0100019abc", "destination": ["ann@inbox.example"]}
    });
    let body = sns(&bounce);
    let path = "/webhooks/ses";
    assert_eq!(answer(h.post(path).body(body.clone())).await.0, 401);
    assert_eq!(
        answer(
            h.post(path)
                .basic_auth("sns", Some("wrong"))
                .body(body.clone())
        )
        .await
        .0,
        401
    );
    assert_eq!(
        answer(h.post(&format!("{path}?secret=wrong")).body(body.clone()))
            .await
            .0,
        401
    );
    assert_eq!(reload(&h.site, &people[0]).await.bounce_count, 0);
    let (status, got) = answer(
        h.post(path)
            .basic_auth("sns", Some(SECRET))
            .body(body.clone()),
    )
    .await;
    assert_eq!((status, &got["recorded"]), (200, &json!(1)), "{got}");
    // SNS delivers at least once: the same notification again counts once.
    let (status, _) = answer(h.post(&format!("{path}?secret={SECRET}")).body(body)).await;
    assert_eq!(status, 200);
    assert_eq!(reload(&h.site, &people[0]).await.bounce_count, 1);

    let complaint = json!({
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "ben@inbox.example"}],
            "timestamp": "2026-11-25T07:00:00.000Z", "feedbackId": "0100019abc-complaint-1",
            "userAgent": "Yahoo!-Mail-Feedback/2.0", "complaintFeedbackType": "abuse"},
        "mail": {"source": "digest@dewline.test", "destination": ["ben@inbox.example"]}
    });
    let (status, _) = answer(
        h.post(path)
            .basic_auth("sns", Some(SECRET))
            .body(sns(&complaint)),
    )
    .await;
    assert_eq!(status, 200);
    let ben = reload(&h.site, &people[1]).await;
    assert_eq!(ben.status, SubscriberStatus::Unsubscribed);
    assert!(ben.status_reason.unwrap().contains("Yahoo"));

    // A transient bounce (SES gave up) is soft; a delivery is nothing.
    let soft = json!({"notificationType": "Bounce",
        "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull",
            "bouncedRecipients": [{"emailAddress": "cy@inbox.example"}], "feedbackId": "fb-soft-1"},
        "mail": {"source": "digest@dewline.test"}});
    let delivery = json!({"notificationType": "Delivery", "mail": {"source": "digest@dewline.test"},
        "delivery": {"recipients": ["cy@inbox.example"]}});
    for n in [soft, delivery] {
        assert_eq!(
            answer(h.post(path).basic_auth("sns", Some(SECRET)).body(sns(&n)))
                .await
                .0,
            200
        );
    }
    let cy = reload(&h.site, &people[2]).await;
    assert_eq!((cy.soft_bounce_count, cy.bounce_count), (1, 0));

    // The subscription handshake: nothing fetched, the URL handed on.
    let handshake = json!({"Type": "SubscriptionConfirmation", "MessageId": "m-sub",
        "Token": "2336412f37f", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:dewline-ses",
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37f"});
    let (status, got) = answer(
        h.post(path)
            .basic_auth("sns", Some(SECRET))
            .body(handshake.to_string()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got["subscription"], "pending");
    assert!(
        got["confirm_by_opening"]
            .as_str()
            .unwrap()
            .contains("ConfirmSubscription")
    );
    assert_eq!(
        answer(
            h.post(path)
                .basic_auth("sns", Some(SECRET))
                .body("{not json")
        )
        .await
        .0,
        400
    );
    h.daemon.stop().await;
}

#[tokio::test]
async fn postmark_posts_need_basic_auth() {
    let h = Hooks::start().await;
    let people = subscribe(&h.site, &["dee@inbox.example", "eli@inbox.example"]).await;
    let hard = json!({"RecordType": "Bounce", "ID": 4323372036854775807_u64, "Type": "HardBounce",
        "TypeCode": 1, "Name": "Hard bounce", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "dee@inbox.example", "From": "digest@dewline.test",
        "BouncedAt": "2026-11-25T06:30:00Z", "Inactive": true, "MessageStream": "broadcast"});
    let path = "/webhooks/postmark";
    assert_eq!(answer(h.post(path).json(&hard)).await.0, 401);
    assert_eq!(
        answer(
            h.post(path)
                .basic_auth("postmark", Some("nope"))
                .json(&hard)
        )
        .await
        .0,
        401
    );
    assert_eq!(reload(&h.site, &people[0]).await.bounce_count, 0);
    assert_eq!(
        answer(
            h.post(path)
                .basic_auth("postmark", Some(SECRET))
                .json(&hard)
        )
        .await
        .0,
        200
    );
    let dee = reload(&h.site, &people[0]).await;
    assert_eq!(dee.bounce_count, 1);

    // Or a custom header set with the webhook.
    let again = json!({"RecordType": "Bounce", "ID": 7, "Type": "HardBounce",
        "Email": "dee@inbox.example", "Details": "smtp;550 5.1.1 unknown"});
    assert_eq!(
        answer(
            h.post(path)
                .header("X-Feedletter-Secret", "nope")
                .json(&again)
        )
        .await
        .0,
        401
    );
    assert_eq!(
        answer(
            h.post(path)
                .header("X-Feedletter-Secret", SECRET)
                .json(&again)
        )
        .await
        .0,
        200
    );
    assert_eq!(reload(&h.site, &people[0]).await.bounce_count, 2);

    let auto = json!({"RecordType": "Bounce", "ID": 5, "Type": "AutoResponder",
        "Email": "eli@inbox.example", "Details": "I am away"});
    let (_, got) = answer(
        h.post(path)
            .basic_auth("postmark", Some(SECRET))
            .json(&auto),
    )
    .await;
    assert_eq!(got["ignored"], 1, "{got}");
    let spam = json!({"RecordType": "SpamComplaint", "ID": 6, "Type": "SpamComplaint",
        "TypeCode": 512, "Email": "eli@inbox.example", "BouncedAt": "2026-11-25T07:00:00Z"});
    assert_eq!(
        answer(
            h.post(path)
                .basic_auth("postmark", Some(SECRET))
                .json(&spam)
        )
        .await
        .0,
        200
    );
    let eli = reload(&h.site, &people[1]).await;
    assert_eq!(eli.status, SubscriberStatus::Unsubscribed);
    assert!(eli.status_reason.unwrap().contains("Postmark"));
    h.daemon.stop().await;
}

#[tokio::test]
async fn sendgrid_events_need_a_valid_signature() {
    let h = Hooks::start().await;
    let people = subscribe(
        &h.site,
        &[
            "fay@inbox.example",
            "gus@inbox.example",
            "hal@inbox.example",
        ],
    )
    .await;
    let events = json!([
        {"email": "fay@inbox.example", "event": "bounce", "type": "bounce", "status": "5.1.1",
         "reason": "550 5.1.1 The email account that you tried to reach does not exist",
         "sg_event_id": "sg-ev-1", "timestamp": 1795933800},
        {"email": "gus@inbox.example", "event": "spamreport", "sg_event_id": "sg-ev-2",
         "timestamp": 1795933801},
        {"email": "hal@inbox.example", "event": "deferred", "response": "451 try later",
         "sg_event_id": "sg-ev-3", "timestamp": 1795933802}
    ])
    .to_string();
    let rng = SystemRandom::new();
    let sign = |ts: &str, body: &str| {
        let mut signed = ts.as_bytes().to_vec();
        signed.extend_from_slice(body.as_bytes());
        base64::engine::general_purpose::STANDARD
            .encode(h.sendgrid.sign(&rng, &signed).unwrap().as_ref())
    };
    let ts = h.now().to_string();
    let post = |body: &str, sig: &str, ts: &str| {
        h.post("/webhooks/sendgrid")
            .header("content-type", "application/json")
            .header("X-Twilio-Email-Event-Webhook-Signature", sig)
            .header("X-Twilio-Email-Event-Webhook-Timestamp", ts)
            .body(body.to_owned())
    };
    let good = sign(&ts, &events);
    let tampered = events.replace("fay@", "gus@");
    assert_eq!(answer(post(&tampered, &good, &ts)).await.0, 403);
    let old = (h.now() - 3600).to_string();
    assert_eq!(
        answer(post(&events, &sign(&old, &events), &old)).await.0,
        403
    );
    assert_eq!(
        answer(h.post("/webhooks/sendgrid").body(events.clone()))
            .await
            .0,
        403
    );
    assert_eq!(reload(&h.site, &people[0]).await.bounce_count, 0);
    let (status, got) = answer(post(&events, &good, &ts)).await;
    assert_eq!(
        (status, &got["recorded"], &got["ignored"]),
        (200, &json!(2), &json!(1)),
        "{got}"
    );
    // SendGrid retries a batch it thinks failed: counted once.
    assert_eq!(answer(post(&events, &good, &ts)).await.0, 200);
    assert_eq!(reload(&h.site, &people[0]).await.bounce_count, 1);
    assert_eq!(
        reload(&h.site, &people[1]).await.status,
        SubscriberStatus::Unsubscribed
    );
    let hal = reload(&h.site, &people[2]).await;
    assert_eq!(
        (hal.bounce_count, hal.soft_bounce_count, hal.status),
        (0, 0, SubscriberStatus::Confirmed)
    );
    h.daemon.stop().await;
}

fn mailgun_post(ts: i64, token: &str, key: &str, event: Value) -> Value {
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes()),
        format!("{ts}{token}").as_bytes(),
    );
    json!({
        "signature": {"timestamp": ts.to_string(), "token": token, "signature": hex::encode(tag.as_ref())},
        "event-data": event
    })
}

#[tokio::test]
async fn mailgun_events_need_the_signing_key() {
    let h = Hooks::start().await;
    let people = subscribe(
        &h.site,
        &["ida@inbox.example", "jo@inbox.example", "kai@inbox.example"],
    )
    .await;
    let failed = json!({"event": "failed", "severity": "permanent", "reason": "bounce",
        "id": "mg-1", "recipient": "ida@inbox.example", "timestamp": 1795933800.5,
        "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist",
            "description": "", "attempt-no": 1}});
    let complained = json!({"event": "complained", "id": "mg-2", "recipient": "jo@inbox.example"});
    let temporary = json!({"event": "failed", "severity": "temporary", "reason": "generic",
        "id": "mg-3", "recipient": "kai@inbox.example",
        "delivery-status": {"code": 452, "message": "4.2.2 mailbox full"}});
    let path = "/webhooks/mailgun";
    let now = h.now();
    let forged = mailgun_post(now, "t0k3n-a", "not-the-key", failed.clone());
    assert_eq!(answer(h.post(path).json(&forged)).await.0, 403);
    let stale = mailgun_post(now - 7200, "t0k3n-b", MAILGUN_KEY, failed.clone());
    assert_eq!(answer(h.post(path).json(&stale)).await.0, 403);
    assert_eq!(reload(&h.site, &people[0]).await.bounce_count, 0);
    for (i, event) in [failed, complained, temporary].into_iter().enumerate() {
        let body = mailgun_post(now, &format!("t0k3n-{i}"), MAILGUN_KEY, event);
        assert_eq!(answer(h.post(path).json(&body)).await.0, 200);
    }
    let ida = reload(&h.site, &people[0]).await;
    assert_eq!(ida.bounce_count, 1);
    assert_eq!(
        reload(&h.site, &people[1]).await.status,
        SubscriberStatus::Unsubscribed
    );
    let kai = reload(&h.site, &people[2]).await;
    assert_eq!(
        (kai.bounce_count, kai.soft_bounce_count),
        (0, 0),
        "Mailgun retries these itself"
    );
    h.daemon.stop().await;
}

#[tokio::test]
async fn webhooks_without_their_secret_do_not_exist() {
    let site = TestSite::new("").await;
    let daemon = Daemon::start(&site).await;
    let client = reqwest::Client::new();
    for provider in ["ses", "postmark", "sendgrid", "mailgun", "sparkpost"] {
        let r = client
            .post(format!("{}/webhooks/{provider}", daemon.http))
            .basic_auth("x", Some("anything"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{provider}");
    }
    daemon.stop().await;
}
