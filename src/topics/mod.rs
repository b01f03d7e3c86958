//! Skincare topics: the vocabulary, what each article is about, and which
//! topics are trending. `extract` and `trending` are pure: no clock, no I/O.

pub mod extract;
pub mod report;
pub mod trending;
pub mod vocabulary;

pub use extract::Matcher;
pub use vocabulary::{Topic, TopicKind, Vocabulary};
