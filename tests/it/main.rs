//! One integration-test binary: the modules share `helpers`.

mod cli;
mod feeds;
mod helpers;
mod http;
mod ingest;
mod topics;
pub mod validity;
