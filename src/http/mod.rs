//! The HTTP face: pages, feed files, health, the admin API. Handlers call
//! into the library; no SQL here.
//!
//! Imports go one way: `routes` use the modules beside them, never each
//! other; `extract` and `input` use `error`; `error` uses `page`; `page`
//! uses `state`; nothing but the router uses `routes`.

pub mod counter;
pub mod error;
pub mod extract;
pub mod feed_cache;
pub mod guard;
pub mod headers;
pub mod input;
pub mod page;
pub mod page_cache;
pub mod router;
pub mod routes;
pub mod state;

pub use router::router;
pub use state::AppState;
