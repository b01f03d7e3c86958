pub mod admin;
pub mod feeds;
pub mod health;
pub mod pages;
pub mod subscribe;
