//! One integration-test binary (one link step): each module drives the real app over HTTP
//! on its own database.
// Tools and tests: a failure here should stop with a message, as `expect` does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod agents;
mod articles;
mod authors;
mod batch;
mod browser;
mod cache;
mod cli;
mod comments;
mod desk;
mod errors;
mod hardening;
mod images;
mod import;
mod layers;
mod mail;
mod merge_patch;
mod newsroom;
mod nodes;
mod openapi;
mod people;
mod readpath;
mod resilience;
mod review;
mod roles;
mod search;
mod site;
mod support;
mod system;
mod tags;
mod tokens;
mod tour;
mod webhooks;
