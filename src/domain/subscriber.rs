//! Subscribers: status, preferences and the consent record.

use super::email::SubscriberEmail;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

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

    /// `str::parse` with the message as a string, for callers whose errors
    /// are strings.
    pub fn parse(s: &str) -> Result<Self, String> {
        s.parse().map_err(|e: InvalidFrequency| e.to_string())
    }
}

/// The value as read (trimmed, lower-cased), so the message shows what was
/// compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frequency `{0}` is neither `daily` nor `weekly`")]
pub struct InvalidFrequency(pub String);

/// Case and surrounding blanks do not matter: forms and CSV files are
/// written by people.
impl FromStr for Frequency {
    type Err = InvalidFrequency;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "daily" => Ok(Self::Daily),
            "weekly" => Ok(Self::Weekly),
            other => Err(InvalidFrequency(other.to_owned())),
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// How a subscription came in, kept with the consent. As text (in the
/// store and in exports): `web`, `api`, `cli` or `import:<what>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentSource {
    /// The subscribe form or its JSON twin.
    Web,
    /// The admin API's `POST /api/subscribers`.
    Api,
    /// `feedletter subscribers add`.
    Cli,
    /// A CSV import; the file (or `api` for the admin API's import).
    Import(String),
}

impl std::fmt::Display for ConsentSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Web => f.write_str("web"),
            Self::Api => f.write_str("api"),
            Self::Cli => f.write_str("cli"),
            Self::Import(from) => write!(f, "import:{from}"),
        }
    }
}

/// A stored consent source that is none of `web`, `api`, `cli` or
/// `import:<what>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("consent source `{0}` is none of web, api, cli or import:<file>")]
pub struct InvalidConsentSource(pub String);

impl std::str::FromStr for ConsentSource {
    type Err = InvalidConsentSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "web" => Ok(Self::Web),
            "api" => Ok(Self::Api),
            "cli" => Ok(Self::Cli),
            _ => s
                .strip_prefix("import:")
                .map(|from| Self::Import(from.to_owned()))
                .ok_or_else(|| InvalidConsentSource(s.to_owned())),
        }
    }
}

impl Serialize for ConsentSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConsentSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a subscription came from: kept as proof of consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub at: DateTime<Utc>,
    pub source: ConsentSource,
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
    /// Temporary failures reported for good (`bounces.soft_limit`).
    pub soft_bounce_count: u32,
    /// Why a bounce or complaint report made the subscriber `bounced` or
    /// `unsubscribed`, and when (`status_at`).
    pub status_reason: Option<String>,
    pub status_at: Option<DateTime<Utc>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_sources_read_back_as_they_were_written() {
        for source in [
            ConsentSource::Web,
            ConsentSource::Api,
            ConsentSource::Cli,
            ConsentSource::Import("lists/october.csv".into()),
        ] {
            assert_eq!(source.to_string().parse::<ConsentSource>(), Ok(source));
        }
        assert_eq!(
            "newsletter"
                .parse::<ConsentSource>()
                .unwrap_err()
                .to_string(),
            "consent source `newsletter` is none of web, api, cli or import:<file>"
        );
        let json = serde_json::to_string(&ConsentSource::Import("a.csv".into())).unwrap();
        assert_eq!(json, "\"import:a.csv\"");
    }

    #[test]
    fn frequencies_parse_as_people_write_them() {
        assert_eq!(" Weekly ".parse(), Ok(Frequency::Weekly));
        assert_eq!("daily".parse(), Ok(Frequency::Daily));
        assert_eq!(
            Frequency::parse(" Monthly").unwrap_err(),
            "frequency `monthly` is neither `daily` nor `weekly`"
        );
        assert_eq!(
            serde_json::from_str::<Frequency>("\"weekly\"").unwrap(),
            Frequency::Weekly
        );
        assert_eq!(Frequency::Daily.to_string(), "daily");
    }
}
