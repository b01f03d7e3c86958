//! `[websub]`: the hub told when feeds change (no section, no pings).

use super::problems::Problems;
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone)]
pub struct WebSubConfig {
    pub hub: Url,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawWebSub {
    hub: String,
}

impl RawWebSub {
    pub(super) fn build(self, p: &mut Problems) -> Option<WebSubConfig> {
        match Url::parse(&self.hub) {
            Ok(hub) if matches!(hub.scheme(), "http" | "https") => Some(WebSubConfig { hub }),
            _ => {
                p.push(
                    "websub.hub",
                    format!("'{}' is not an http(s) URL", self.hub),
                );
                None
            }
        }
    }
}
