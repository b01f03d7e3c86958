//! Subscriptions: double opt-in, the links in every mail, preferences,
//! unsubscribing, and the queue that sends transactional mail. HTTP
//! handlers, the CLI and the admin API all go through `Subscriptions`.

pub mod import;
mod notices;
pub mod queue;
pub mod tokens;

use crate::config::Config;
use crate::domain::ConsentSource;
use crate::domain::email::EmailError;
use crate::domain::{
    Clock, Consent, Frequency, Subscriber, SubscriberEmail, SubscriberStatus, TokenPurpose,
};
use crate::store::{NewSubscriber, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::Notify;

/// A confirmation link works for this long.
pub const CONFIRM_DAYS: i64 = 7;
/// At most one confirmation or notice mail per address in this time, so
/// that the public form cannot be used to flood someone's inbox.
pub const NOTICE_GAP_MINUTES: i64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("email: {0}")]
    Email(#[from] EmailError),
    #[error("topics: `{0}` is not a topic of this publication")]
    UnknownTopic(String),
    #[error("frequency: {0}")]
    Frequency(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl SubscribeError {
    /// Whether the request is at fault (its address, topics or frequency)
    /// rather than the service: the caller says so instead of failing.
    pub fn is_request_error(&self) -> bool {
        matches!(
            self,
            Self::Email(_) | Self::UnknownTopic(_) | Self::Frequency(_)
        )
    }
}

/// A request to subscribe, from any channel.
#[derive(Debug, Clone)]
pub struct Request {
    pub email: String,
    pub topics: Vec<String>,
    pub frequency: Option<Frequency>,
    pub source: ConsentSource,
    pub client: Option<String>,
}

/// A topic a subscriber may pick.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TopicChoice {
    pub id: String,
    pub label: String,
    pub articles: u32,
}

#[derive(Clone)]
pub struct Subscriptions {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub tera: Arc<tera::Tera>,
    pub clock: Arc<dyn Clock>,
    /// Woken when mail is queued.
    pub queued: Arc<Notify>,
}

impl Subscriptions {
    pub fn new(
        store: Arc<dyn Store>,
        config: Arc<Config>,
        tera: Arc<tera::Tera>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            config,
            tera,
            clock,
            queued: Arc::new(Notify::new()),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.site.base())
    }

    /// The top-level vocabulary concepts that have articles, most covered
    /// first: a reader follows "Exosomes" and gets exosome facials and
    /// plant exosomes with it, never has to choose between them. Tags are
    /// not offered.
    pub async fn topic_choices(&self, limit: usize) -> Result<Vec<TopicChoice>, SubscribeError> {
        let matcher =
            crate::topics::load_matcher(&self.config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let vocabulary = matcher.vocabulary();
        let mut all: Vec<TopicChoice> = self
            .store
            .topics()
            .await?
            .into_iter()
            .filter_map(|topic| {
                let concept = vocabulary.get(&topic.id).filter(|t| t.parent.is_none())?;
                Some(TopicChoice {
                    label: concept.label.clone(),
                    id: topic.id,
                    articles: topic.articles,
                })
            })
            .collect();
        all.sort_by(|a, b| b.articles.cmp(&a.articles).then_with(|| a.id.cmp(&b.id)));
        all.truncate(limit);
        Ok(all)
    }

    /// Checks topic ids against the vocabulary and the topics in the store.
    pub async fn validate_topics(&self, topics: &[String]) -> Result<Vec<String>, SubscribeError> {
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let matcher =
            crate::topics::load_matcher(&self.config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let known = self.store.topics().await?;
        let mut out = Vec::new();
        for t in topics {
            let t = t.trim();
            if t.is_empty() {
                continue;
            }
            if matcher.vocabulary().get(t).is_none() && !known.iter().any(|k| k.id == t) {
                return Err(SubscribeError::UnknownTopic(t.to_owned()));
            }
            if !out.iter().any(|o| o == t) {
                out.push(t.to_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// The public subscribe: the caller answers the same whatever happened
    /// here, so that the form does not tell who is subscribed.
    pub async fn subscribe(&self, request: Request) -> Result<(), SubscribeError> {
        let email = SubscriberEmail::parse(&request.email)?;
        let topics = self.validate_topics(&request.topics).await?;
        let frequency = request.frequency.unwrap_or(Frequency::Weekly);
        let now = self.clock.now();
        let consent = Consent {
            at: now,
            source: request.source.clone(),
            client: request.client.clone(),
        };
        let (mut s, created) = self
            .store
            .insert_subscriber(
                &NewSubscriber {
                    email,
                    status: SubscriberStatus::Pending,
                    topics: topics.clone(),
                    frequency,
                    consent: consent.clone(),
                },
                now,
            )
            .await?;
        let gap = now - Duration::minutes(NOTICE_GAP_MINUTES);
        match s.status {
            SubscriberStatus::Confirmed => {
                // Preferences change only through the subscriber's own
                // link; they get that link by mail.
                if self.store.claim_notice(s.id, now, gap).await? {
                    self.queue_notice(&s).await?;
                }
            }
            SubscriberStatus::Pending
            | SubscriberStatus::Unsubscribed
            | SubscriberStatus::Bounced => {
                if !created {
                    // A new request: its preferences and consent replace the
                    // unconfirmed ones. The status stays until confirmation.
                    s.topics = topics;
                    s.frequency = frequency;
                    s.consent = consent;
                    s.updated_at = now;
                    self.store.update_subscriber(&s).await?;
                }
                if self.store.claim_notice(s.id, now, gap).await? || created {
                    self.queue_confirmation(&s).await?;
                }
            }
        }
        Ok(())
    }

    /// Adds a subscriber directly (CLI, admin API). Without `confirmed` the
    /// address gets a confirmation mail like a web sign-up.
    pub async fn add(
        &self,
        request: Request,
        confirmed: bool,
    ) -> Result<(Subscriber, bool), SubscribeError> {
        let email = SubscriberEmail::parse(&request.email)?;
        let topics = self.validate_topics(&request.topics).await?;
        let now = self.clock.now();
        let (s, created) = self
            .store
            .insert_subscriber(
                &NewSubscriber {
                    email,
                    status: if confirmed {
                        SubscriberStatus::Confirmed
                    } else {
                        SubscriberStatus::Pending
                    },
                    topics,
                    frequency: request.frequency.unwrap_or(Frequency::Weekly),
                    consent: Consent {
                        at: now,
                        source: request.source,
                        client: request.client,
                    },
                },
                now,
            )
            .await?;
        if created && !confirmed {
            self.store.claim_notice(s.id, now, now).await?;
            self.queue_confirmation(&s).await?;
        }
        Ok((s, created))
    }

    async fn subscriber_for(
        &self,
        token: &str,
        purpose: TokenPurpose,
    ) -> Result<Option<Subscriber>, SubscribeError> {
        let hash = tokens::hash(token);
        if !tokens::well_formed(token) {
            return Ok(None);
        }
        let now = self.clock.now();
        match self.store.token_subscriber(&hash, purpose, now).await? {
            Some(id) => Ok(self.store.subscriber(id).await?),
            None => Ok(None),
        }
    }

    /// The pending subscription behind a confirmation link, changing
    /// nothing: what `GET /confirm/{token}` shows above its button. None
    /// for an unknown, forged, expired or used token.
    pub async fn to_confirm(&self, token: &str) -> Result<Option<Subscriber>, SubscribeError> {
        self.subscriber_for(token, TokenPurpose::Confirm).await
    }

    /// `POST /confirm/{token}`: None for an unknown, forged or expired token.
    pub async fn confirm(
        &self,
        token: &str,
        client: Option<String>,
    ) -> Result<Option<Subscriber>, SubscribeError> {
        let Some(mut s) = self.subscriber_for(token, TokenPurpose::Confirm).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        s.status = SubscriberStatus::Confirmed;
        s.confirmed_at = Some(now);
        s.confirmed_client = client;
        s.unsubscribed_at = None;
        s.updated_at = now;
        self.store.update_subscriber(&s).await?;
        self.store
            .delete_tokens(s.id, TokenPurpose::Confirm)
            .await?;
        self.queue_welcome(&s).await?;
        Ok(Some(s))
    }

    /// The subscriber behind an unsubscribe or preferences link.
    pub async fn manage(&self, token: &str) -> Result<Option<Subscriber>, SubscribeError> {
        self.subscriber_for(token, TokenPurpose::Manage).await
    }

    /// Unsubscribes `s` (found through a manage token or by address).
    /// Doing it twice is fine.
    pub async fn unsubscribe(&self, mut s: Subscriber) -> Result<Subscriber, SubscribeError> {
        if s.status != SubscriberStatus::Unsubscribed {
            let now = self.clock.now();
            s.status = SubscriberStatus::Unsubscribed;
            s.unsubscribed_at = Some(now);
            s.updated_at = now;
            self.store.update_subscriber(&s).await?;
            tracing::info!(subscriber = s.id, "unsubscribed");
        }
        Ok(s)
    }

    /// Changes the topics and frequency of `s` (found through a manage
    /// token).
    pub async fn set_preferences(
        &self,
        mut s: Subscriber,
        topics: &[String],
        frequency: Frequency,
    ) -> Result<Subscriber, SubscribeError> {
        s.topics = self.validate_topics(topics).await?;
        s.frequency = frequency;
        s.updated_at = self.clock.now();
        self.store.update_subscriber(&s).await?;
        Ok(s)
    }

    /// Unsubscribes by address (CLI, admin); `erase` deletes every record.
    pub async fn remove(&self, email: &str, erase: bool) -> Result<bool, SubscribeError> {
        let email = SubscriberEmail::parse(email)?;
        if erase {
            return Ok(self.store.erase_subscriber(email.as_str()).await?);
        }
        let Some(s) = self.store.subscriber_by_email(email.as_str()).await? else {
            return Ok(false);
        };
        self.unsubscribe(s).await?;
        Ok(true)
    }

    /// When the clock says it is.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
