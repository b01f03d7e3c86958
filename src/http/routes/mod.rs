pub mod feeds;
pub mod health;
pub mod pages;
