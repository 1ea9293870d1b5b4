//! Requests lede makes to other hosts: only to public addresses unless allowed (`address`),
//! and the webhook machinery's client and signals (the workers that use them are
//! `webhooks::deliver`; this part sits below the resources, in the app's state).
pub mod address;
pub mod fetch;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

/// How long an endpoint has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries in flight per node (to different endpoints).
const IN_FLIGHT: usize = 8;

/// A node's webhook machinery: the HTTP client deliveries go out through, and the signal
/// that wakes the dispatcher and the workers when something changed.
pub struct Webhooks {
    pub(crate) client: reqwest::Client,
    allow_private: bool,
    pub wake: Notify,
    pub(crate) in_flight: Arc<Semaphore>,
}

impl Webhooks {
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(address::PublicOnly::new(allow_private))
            .user_agent(concat!("lede-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Webhooks {
            client,
            allow_private,
            wake: Notify::new(),
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
        })
    }

    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// Something changed (a notification came): look at the feed and the queue now.
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_builds() {
        assert!(super::Webhooks::new(false).is_ok());
    }
}
