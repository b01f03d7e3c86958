//! VERP: every message goes out from an envelope sender of its own,
//! `bounces+<token>@<domain>`, so that a bounce sent back to it says whose
//! message failed even when its report names nobody. The token is
//! `<run>-<subscriber>-<mac>`: the digest run (0 for transactional mail),
//! the subscriber's id, and 80 bits of HMAC-SHA256 over both with a key
//! kept in the store. It carries no address, and nobody without the key
//! can make one that is accepted.

use crate::config::BouncesConfig;
use crate::mail::Mailer;
use crate::store::{Store, StoreError};
use ring::hmac;
use serde::{Deserialize, Serialize};

/// Bytes of the MAC kept in a token.
const MAC_BYTES: usize = 10;

/// Whose message this is: what a bounce to its envelope sender counts
/// against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BounceRef {
    pub subscriber: i64,
    /// The digest run; None for transactional mail (confirmation, welcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<i64>,
}

/// Makes and checks VERP addresses.
#[derive(Clone)]
pub struct Verp {
    key: hmac::Key,
    /// The base address's local part and domain.
    local: String,
    domain: String,
    /// False: messages go out from the plain base address.
    tagged: bool,
}

impl std::fmt::Debug for Verp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verp")
            .field("base", &format!("{}@{}", self.local, self.domain))
            .field("tagged", &self.tagged)
            .finish()
    }
}

impl Verp {
    /// `secret` is the store's key (hex); `base` the address tokens are
    /// added to.
    pub fn new(secret: &str, base: &lettre::Address, tagged: bool) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            local: base.user().to_owned(),
            domain: base.domain().to_ascii_lowercase(),
            tagged,
        }
    }

    /// The store's key (made on first use), on the configured base address
    /// or `bounces@<domain of mail.from>` (`mail.from` itself when
    /// `bounces.verp` is off).
    pub async fn load(
        store: &dyn Store,
        config: &BouncesConfig,
        from: &lettre::Address,
    ) -> Result<Self, StoreError> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| {
            StoreError::Other(anyhow::anyhow!("no randomness for the VERP key: {e}"))
        })?;
        let secret = store.bounce_key(&hex::encode(fresh)).await?;
        let base = match &config.return_path {
            Some(address) => address.clone(),
            // Without VERP and without a return path: `From`, as before.
            None if !config.verp => from.clone(),
            None => lettre::Address::new("bounces", from.domain()).map_err(|e| {
                StoreError::Other(anyhow::anyhow!(
                    "bounces@{}: not an address ({e}); set bounces.return_path",
                    from.domain()
                ))
            })?,
        };
        Ok(Self::new(&secret, &base, config.verp))
    }

    /// The envelope sender of a message about `r`.
    pub fn address(&self, r: BounceRef) -> String {
        if self.tagged {
            format!("{}+{}@{}", self.local, self.token(r), self.domain)
        } else {
            format!("{}@{}", self.local, self.domain)
        }
    }

    /// The token of `r`: `<run>-<subscriber>-<mac>`, lower case.
    pub fn token(&self, r: BounceRef) -> String {
        let run = r.run.unwrap_or(0);
        format!(
            "{run}-{}-{}",
            r.subscriber,
            hex::encode(self.mac(run, r.subscriber))
        )
    }

    fn mac(&self, run: i64, subscriber: i64) -> [u8; MAC_BYTES] {
        let tag = hmac::sign(&self.key, format!("verp1:{run}:{subscriber}").as_bytes());
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&tag.as_ref()[..MAC_BYTES]);
        out
    }

    /// The reference a token stands for, if it is one of ours (any case:
    /// some relays lower-case local parts).
    pub fn check(&self, token: &str) -> Option<BounceRef> {
        let token = token.trim().to_ascii_lowercase();
        let mut parts = token.splitn(3, '-');
        let run: i64 = parts.next()?.parse().ok()?;
        let subscriber: i64 = parts.next()?.parse().ok()?;
        let mac = hex::decode(parts.next()?).ok()?;
        if run < 0 || subscriber <= 0 || mac.len() != MAC_BYTES {
            return None;
        }
        let expected = self.mac(run, subscriber);
        let same = expected
            .iter()
            .zip(mac.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        same.then_some(BounceRef {
            subscriber,
            run: (run > 0).then_some(run),
        })
    }

    /// The reference in an address such as `<bounces+TOKEN@example.com>`:
    /// the text after the last `+` of its local part, whatever the base
    /// (forwarding may have rewritten it).
    pub fn find(&self, address: &str) -> Option<BounceRef> {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
        let (_, token) = local.rsplit_once('+')?;
        self.check(token)
    }

    /// The first reference found in any of `texts` (addresses, header
    /// values that hold one).
    pub fn find_in<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Option<BounceRef> {
        texts.into_iter().find_map(|text| {
            text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '"'))
                .filter(|word| word.contains('+'))
                .find_map(|word| self.find(word))
        })
    }
}

/// Gives `mailer` its VERP envelope senders (once; later calls do
/// nothing): the store's key on the configured base address.
pub async fn prepare(
    store: &dyn Store,
    mailer: &Mailer,
    config: &BouncesConfig,
) -> Result<(), StoreError> {
    if mailer.verp().is_some() {
        return Ok(());
    }
    let verp = Verp::load(store, config, &mailer.from_address().email).await?;
    mailer.set_verp(verp);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verp() -> Verp {
        Verp::new(
            "k".repeat(64).as_str(),
            &"bounces@dewline.example".parse().unwrap(),
            true,
        )
    }

    #[test]
    fn an_address_carries_a_token_that_checks_and_names_no_one() {
        let v = verp();
        let r = BounceRef {
            subscriber: 42,
            run: Some(7),
        };
        let address = v.address(r);
        assert!(address.starts_with("bounces+7-42-"), "{address}");
        assert!(address.ends_with("@dewline.example"), "{address}");
        assert_eq!(v.find(&address), Some(r));
        assert_eq!(v.find(&address.to_uppercase()), Some(r));
        assert_eq!(v.find(&format!("<{address}>")), Some(r));
        let transactional = BounceRef {
            subscriber: 42,
            run: None,
        };
        assert_eq!(v.find(&v.address(transactional)), Some(transactional));
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let v = verp();
        let good = v.token(BounceRef {
            subscriber: 42,
            run: Some(7),
        });
        let (_, mac) = good.rsplit_once('-').unwrap();
        // Another subscriber with this MAC, a changed MAC, a key of another store.
        assert_eq!(v.check(&format!("7-43-{mac}")), None);
        let mut flipped = good.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(v.check(std::str::from_utf8(&flipped).unwrap()), None);
        let other = Verp::new(
            &"x".repeat(64),
            &"bounces@dewline.example".parse().unwrap(),
            true,
        );
        assert_eq!(other.check(&good), None);
        for junk in [
            "",
            "7-42",
            "a-b-c",
            "7-42-zz",
            "-1-42-00",
            "bounces@dewline.example",
        ] {
            assert_eq!(v.check(junk), None, "{junk}");
            assert_eq!(v.find(junk), None, "{junk}");
        }
    }

    #[test]
    fn tokens_are_found_inside_header_values() {
        let v = verp();
        let r = BounceRef {
            subscriber: 9,
            run: Some(3),
        };
        let header = format!("\"Bounces\" <{}>, other+x@example.com", v.address(r));
        assert_eq!(v.find_in([header.as_str()]), Some(r));
        assert_eq!(v.find_in(["nobody@example.com"]), None);
    }

    #[test]
    fn without_tagging_the_plain_base_address_is_used() {
        let v = Verp::new("k", &"bounces@dewline.example".parse().unwrap(), false);
        let r = BounceRef {
            subscriber: 1,
            run: None,
        };
        assert_eq!(v.address(r), "bounces@dewline.example");
    }
}
