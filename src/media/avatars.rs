//! How commenters' pictures are addressed: an identicon named by a keyed hash of the email
//! (served by `comments::avatars`), or Gravatar where `LEDE_GRAVATAR=true`. The key is a
//! server secret kept in the database (`lede_meta`, made on first start).
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const SECRET_KEY: &str = "avatar_secret";

/// How commenters' pictures are addressed.
pub struct AvatarKey {
    secret: Vec<u8>,
    gravatar: bool,
}

impl AvatarKey {
    /// The database's avatar secret, made (once, whichever node is first) when missing.
    pub async fn load(pool: &crate::db::Pool, gravatar: bool) -> anyhow::Result<Self> {
        let mut conn = pool.get().await?;
        Ok(AvatarKey {
            secret: crate::db::server_secret(&mut conn, SECRET_KEY).await?,
            gravatar,
        })
    }

    /// The picture of the commenter with `email`, under `base` (lede's public URL).
    pub fn url(&self, base: &str, email: &str) -> String {
        let email = email.trim().to_lowercase();
        if self.gravatar {
            let hash = hex::encode(Sha256::digest(email.as_bytes()));
            return format!("https://www.gravatar.com/avatar/{hash}?d=identicon&s=96");
        }
        // HMAC takes a key of any length: this cannot fail.
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(email.as_bytes());
        let hash = hex::encode(&mac.finalize().into_bytes()[..16]);
        format!("{base}/api/v1/avatars/{hash}.svg")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_keyed() {
        let key = |secret: &[u8]| AvatarKey {
            secret: secret.to_vec(),
            gravatar: false,
        };
        let a = key(b"one").url("https://api.test", " Ada@Example.com");
        assert_eq!(a, key(b"one").url("https://api.test", "ada@example.com"));
        assert_ne!(a, key(b"two").url("https://api.test", "ada@example.com"));
        let plain = hex::encode(&Sha256::digest(b"ada@example.com")[..16]);
        assert!(!a.contains(&plain), "no public hash of the email alone");
    }
}
