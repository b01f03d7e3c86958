//! Domain types: they depend on nothing else in the crate.

pub mod article;
pub mod clock;
pub mod email;
pub mod schedule;
pub mod slug;
pub mod subscriber;
pub mod text;
pub mod topic;

pub use article::{
    Article, ArticleSource, ArticleStatus, InvalidArticleSource, Person, StoredArticle,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use email::SubscriberEmail;
pub use slug::Slug;
pub use subscriber::{
    Consent, ConsentSource, Frequency, InvalidConsentSource, InvalidFrequency, Subscriber,
    SubscriberStatus, TokenPurpose,
};
