//! The handlers, one module per part of the site. They use the modules
//! beside `routes` (errors, pages, extractors), never each other.

pub mod admin;
pub mod feeds;
pub mod health;
pub mod manage;
pub mod pages;
pub mod subscribe;
pub mod webhooks;
