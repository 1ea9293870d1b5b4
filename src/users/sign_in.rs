//! Signing in: the same answer, in the same time, for an unknown email and a wrong
//! password; failures counted per account and per address (atomic counters shared by every
//! node), slowed after a few and refused past the limit until the minute is over.
use std::time::Duration;

use diesel_async::AsyncConnection;

use super::model::{User, UserStatus};
use super::{passwords, queries, sessions};
use crate::db::Pool;
use crate::error::ApiError;

/// Failures a minute for one account, and from one address (an IPv6 /64); a newsroom
/// behind one address signs in together.
pub const PER_ACCOUNT: i64 = 10;
pub const PER_ADDRESS: i64 = 50;
const WINDOW_SECS: i64 = 60;
/// Past this many failures in the minute, each attempt on the account waits a little longer.
const FREE_FAILURES: i64 = 3;
const SLOWER_BY: Duration = Duration::from_millis(100);

pub const WRONG: &str = "the email or the password is wrong";
/// An admin's password alone, where admins need a passkey.
pub const PASSKEY_NEEDED: &str =
    "admins sign in with a passkey on this site: use Sign in with a passkey";

/// Checks `email` and `password`, from `address`, and starts a session. While an account
/// or an address is over its limit, every attempt is refused, the right password too.
pub async fn sign_in(
    pool: &Pool,
    email: &str,
    password: String,
    address: &str,
) -> Result<(User, sessions::Started), ApiError> {
    let email = email.trim().to_lowercase();
    let buckets = [
        (format!("sign-in:account:{email}"), PER_ACCOUNT),
        (
            format!("sign-in:address:{}", crate::rate_limits::sender(address)),
            PER_ADDRESS,
        ),
    ];
    // Each attempt is counted first, in one atomic statement, so parallel guesses see
    // distinct counts and cannot all slip under the limit; one with the right password is
    // taken back.
    let (user, slower) = {
        let mut conn = crate::db::conn(pool).await?;
        let mut slower = Duration::ZERO;
        for (bucket, limit) in &buckets {
            let attempts =
                crate::rate_limits::count_within(&mut conn, bucket, *limit, WINDOW_SECS, || {
                    format!(
                        "too many failed sign-ins: at most {PER_ACCOUNT} a minute for one \
                         account and {PER_ADDRESS} from one address"
                    )
                })
                .await?;
            if *limit == PER_ACCOUNT && attempts > FREE_FAILURES + 1 {
                slower = SLOWER_BY * (attempts - FREE_FAILURES - 1) as u32;
            }
        }
        (queries::by_email(&mut conn, &email).await?, slower)
    };
    tokio::time::sleep(slower).await;
    // No connection is held while the hash is checked.
    let stored = user
        .as_ref()
        .filter(|u| u.status() == UserStatus::Active)
        .and_then(|u| u.password_hash.clone());
    let right = passwords::verify(password, stored).await?;
    let mut conn = crate::db::conn(pool).await?;
    let Some(user) = user.filter(|_| right) else {
        return Err(ApiError::Unauthorized(WRONG.into()));
    };
    for (bucket, _) in &buckets {
        crate::rate_limits::uncount(&mut conn, bucket).await?;
    }
    // Held (shared) while the session is made: a person disabled meanwhile waits, then
    // ends it with the rest.
    let started = conn
        .transaction::<_, ApiError, _>(async |conn| {
            match queries::lock_shared(conn, user.id).await? {
                Some(person) if person.status() == UserStatus::Active => {
                    // An admin without a passkey yet signs in to add one.
                    if person.role() == crate::principal::Role::Admin
                        && crate::settings::admins_need_passkeys(conn).await?
                        && super::passkeys::has_passkey(conn, person.id).await?
                    {
                        return Err(ApiError::Forbidden(PASSKEY_NEEDED.into()));
                    }
                    Ok(sessions::start(conn, user.id).await?)
                }
                _ => Err(ApiError::Unauthorized(WRONG.into())),
            }
        })
        .await?;
    Ok((user, started))
}
