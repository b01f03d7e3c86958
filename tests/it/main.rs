//! One integration-test binary: the modules share `helpers`.

mod archives;
mod bounce_loop;
mod bounce_webhooks;
mod bounces;
mod browser;
mod cli;
mod digests;
mod feeds;
mod helpers;
mod http;
mod ingest;
mod instances;
mod mail;
mod ops;
mod push;
mod recovery;
mod security;
mod smtp_server;
mod subscribers;
mod testdb;
mod topics;
mod trending;
mod trending_corpus;
mod trending_quality;
pub mod validity;
mod watch;
mod websub;
