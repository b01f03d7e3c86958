//! Subscribers: status, preferences and the consent record.

use super::email::SubscriberEmail;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    Daily,
    Weekly,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    /// The length of one period, in days.
    pub fn days(self) -> i64 {
        match self {
            Self::Daily => 1,
            Self::Weekly => 7,
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "daily" => Ok(Self::Daily),
            "weekly" => Ok(Self::Weekly),
            other => Err(format!(
                "frequency `{other}` is neither `daily` nor `weekly`"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberStatus {
    /// Asked to subscribe; has not confirmed yet.
    Pending,
    Confirmed,
    Unsubscribed,
    /// Mail to the address failed for good.
    Bounced,
}

impl SubscriberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Unsubscribed => "unsubscribed",
            Self::Bounced => "bounced",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(Self::Pending),
            "confirmed" => Ok(Self::Confirmed),
            "unsubscribed" => Ok(Self::Unsubscribed),
            "bounced" => Ok(Self::Bounced),
            other => Err(format!(
                "status `{other}` is not one of pending, confirmed, unsubscribed, bounced"
            )),
        }
    }
}

/// Where a subscription came from: kept as proof of consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub at: DateTime<Utc>,
    /// "web", "api", "cli", "import:<file>".
    pub source: String,
    /// The client's address for web requests.
    pub client: Option<String>,
}

/// Everything kept about one subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    pub id: i64,
    pub email: SubscriberEmail,
    pub status: SubscriberStatus,
    /// Topic ids; empty means every topic.
    pub topics: Vec<String>,
    pub frequency: Frequency,
    pub created_at: DateTime<Utc>,
    pub consent: Consent,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmed_client: Option<String>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub bounce_count: u32,
    pub updated_at: DateTime<Utc>,
}

/// What a token in a link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// `/confirm/{token}`: expires.
    Confirm,
    /// `/unsubscribe/{token}` and `/preferences/{token}`.
    Manage,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Manage => "manage",
        }
    }
}
