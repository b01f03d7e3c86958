//! The mails the service queues for a subscriber: the confirmation, the
//! welcome, and the notice to an address that asked again. They go to the
//! store's mail queue (`queue.rs` sends them), each with fresh links.

use super::{CONFIRM_DAYS, SubscribeError, Subscriptions, tokens};
use crate::domain::{Subscriber, TokenPurpose};
use crate::mail::OutgoingMail;
use crate::store::MailKind;
use chrono::Duration;

impl Subscriptions {
    /// The labels of topic ids, for the mails' "you follow" lines.
    async fn labels(&self, topics: &[String]) -> Vec<String> {
        let matcher = crate::topics::load_matcher(&self.config).ok();
        let mut out = Vec::new();
        for t in topics {
            let label = match matcher.as_ref().and_then(|m| m.vocabulary().get(t)) {
                Some(topic) => topic.label.clone(),
                None => self
                    .store
                    .topic_label(t)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| t.clone()),
            };
            out.push(label);
        }
        out
    }

    /// A fresh manage token for `s`: (unsubscribe URL, preferences URL).
    /// Tokens are stored only as hashes, so every mail carries a new one;
    /// old ones keep working.
    pub async fn manage_links(&self, s: &Subscriber) -> Result<(String, String), SubscribeError> {
        let (token, hash) = tokens::new_token().map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
        self.store
            .add_token(s.id, TokenPurpose::Manage, &hash, self.clock.now(), None)
            .await?;
        Ok((
            self.url(&format!("/unsubscribe/{token}")),
            self.url(&format!("/preferences/{token}")),
        ))
    }

    fn base_context(&self, s: &Subscriber, labels: Vec<String>) -> tera::Context {
        let mut ctx = tera::Context::new();
        ctx.insert("site_title", &self.config.site.title);
        ctx.insert("site_url", &format!("{}/", self.config.site.base()));
        ctx.insert("topics", &labels);
        ctx.insert("frequency", s.frequency.as_str());
        ctx.insert("postal_address", &self.config.mail.postal_address);
        ctx
    }

    fn sender_domain(&self) -> &str {
        self.config.mail.from.email.domain()
    }

    async fn enqueue(
        &self,
        s: &Subscriber,
        kind: MailKind,
        subject: String,
        template: &str,
        ctx: &tera::Context,
        list_unsubscribe: Option<String>,
    ) -> Result<(), SubscribeError> {
        let html = crate::templates::render(&self.tera, &format!("email/{template}.html"), ctx)
            .map_err(anyhow::Error::from)?;
        let text = crate::templates::render(&self.tera, &format!("email/{template}.txt"), ctx)
            .map_err(anyhow::Error::from)?;
        let mail = OutgoingMail {
            to: s.email.clone(),
            subject,
            text,
            html,
            message_id: OutgoingMail::new_message_id(self.sender_domain()),
            list_unsubscribe,
            list_id: None,
            extra_headers: Vec::new(),
            bounce: Some(crate::bounces::verp::BounceRef {
                subscriber: s.id,
                run: None,
            }),
        };
        let json = serde_json::to_string(&mail).map_err(anyhow::Error::from)?;
        self.store
            .enqueue_mail(Some(s.id), kind, &json, self.clock.now())
            .await?;
        self.queued.notify_one();
        Ok(())
    }

    pub(super) async fn queue_confirmation(&self, s: &Subscriber) -> Result<(), SubscribeError> {
        let now = self.clock.now();
        let (token, hash) = tokens::new_token().map_err(|e| anyhow::anyhow!("randomness: {e}"))?;
        self.store
            .add_token(
                s.id,
                TokenPurpose::Confirm,
                &hash,
                now,
                Some(now + Duration::days(CONFIRM_DAYS)),
            )
            .await?;
        let mut ctx = self.base_context(s, self.labels(&s.topics).await);
        ctx.insert("confirm_url", &self.url(&format!("/confirm/{token}")));
        ctx.insert("expires_days", &CONFIRM_DAYS);
        let subject = format!("Confirm your subscription to {}", self.config.site.title);
        self.enqueue(s, MailKind::Confirm, subject, "confirm", &ctx, None)
            .await
    }

    pub(super) async fn queue_welcome(&self, s: &Subscriber) -> Result<(), SubscribeError> {
        let subject = format!("Welcome to {}", self.config.site.title);
        self.queue_with_links(s, MailKind::Welcome, subject).await
    }

    /// For an address that is already confirmed and asked again: its links.
    pub(super) async fn queue_notice(&self, s: &Subscriber) -> Result<(), SubscribeError> {
        let subject = format!("You are already subscribed to {}", self.config.site.title);
        self.queue_with_links(s, MailKind::Notice, subject).await
    }

    /// A mail (template `kind`) carrying fresh preferences and unsubscribe
    /// links and the list headers.
    async fn queue_with_links(
        &self,
        s: &Subscriber,
        kind: MailKind,
        subject: String,
    ) -> Result<(), SubscribeError> {
        let (unsubscribe, preferences) = self.manage_links(s).await?;
        let mut ctx = self.base_context(s, self.labels(&s.topics).await);
        ctx.insert("unsubscribe_url", &unsubscribe);
        ctx.insert("preferences_url", &preferences);
        self.enqueue(s, kind, subject, kind.as_str(), &ctx, Some(unsubscribe))
            .await
    }
}
