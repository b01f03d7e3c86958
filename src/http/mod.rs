//! The HTTP face: pages, feed files, health. Handlers call into the library;
//! no SQL here.

pub mod error;
pub mod guard;
pub mod router;
pub mod routes;
pub mod state;

pub use router::router;
pub use state::AppState;
