//! One integration-test binary: the modules share `helpers`.

mod archives;
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
mod remote_server;
mod smtp_server;
mod source_feeds;
mod sources;
mod subscribers;
mod testdb;
mod topics;
mod trending;
mod trending_corpus;
mod trending_quality;
pub mod validity;
mod watch;
mod websub;
