//! feedletter: articles in, feeds and digests out.
//!
//! The binary (`main.rs`) only parses the command line and calls into this
//! library; every step is a plain async function (`ingest_once`,
//! `build_feeds_once`) that the scheduler, the CLI and the tests share.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod bounces;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod digest;
pub mod domain;
pub mod feeds;
pub mod http;
pub mod ingest;
pub mod mail;
pub mod scheduler;
pub mod sources;
pub mod store;
pub mod subscribers;
pub mod telemetry;
pub mod templates;
pub mod topics;

pub use app::App;
pub use config::Config;
pub use domain::clock::{Clock, FixedClock, SystemClock};
