//! Signing in: the same answer, in the same time, for an unknown email and a wrong
//! password; attempts counted per account and per address (atomic counters shared by every
//! node), slowed after a few and refused past the limit until the minute is over.
use std::time::Duration;

use chrono::Utc;

use super::model::{User, UserStatus};
use super::{passwords, queries, sessions};
use crate::db::Pool;
use crate::error::ApiError;

/// Attempts per minute for one account, and from one address (a newsroom behind one
/// address signs in together).
pub const PER_ACCOUNT: i64 = 10;
pub const PER_ADDRESS: i64 = 50;
const WINDOW_SECS: i64 = 60;
/// Attempts on an account past this many in the minute wait a little longer each.
const FREE_ATTEMPTS: i64 = 3;
const SLOWER_BY: Duration = Duration::from_millis(100);

const WRONG: &str = "the email or the password is wrong";

/// Checks `email` and `password`, from `address`, and starts a session.
pub async fn sign_in(
    pool: &Pool,
    email: &str,
    password: String,
    address: &str,
) -> Result<(User, sessions::Started), ApiError> {
    let email = email.trim().to_lowercase();
    let mut slower = Duration::ZERO;
    {
        let mut conn = crate::db::conn(pool).await?;
        for (bucket, limit) in [
            (format!("sign-in:account:{email}"), PER_ACCOUNT),
            (format!("sign-in:address:{address}"), PER_ADDRESS),
        ] {
            let counted = crate::rate_limits::count_in(&mut conn, &bucket, WINDOW_SECS).await?;
            let count = i64::from(counted.count);
            if count > limit {
                let ends = counted.window_start + chrono::TimeDelta::seconds(WINDOW_SECS);
                return Err(ApiError::TooManyRequests {
                    detail: format!(
                        "too many sign-in attempts: at most {limit} a minute for one account \
                         and {PER_ADDRESS} from one address"
                    ),
                    retry_after: (ends - Utc::now()).num_seconds().max(1) as u64,
                });
            }
            if limit == PER_ACCOUNT && count > FREE_ATTEMPTS {
                slower = SLOWER_BY * (count - FREE_ATTEMPTS) as u32;
            }
        }
    }
    tokio::time::sleep(slower).await;
    let user = {
        let mut conn = crate::db::conn(pool).await?;
        queries::by_email(&mut conn, &email).await?
    };
    // No connection is held while the hash is checked.
    let stored = user
        .as_ref()
        .filter(|u| u.status() == UserStatus::Active)
        .and_then(|u| u.password_hash.clone());
    if !passwords::verify(password, stored).await? {
        return Err(ApiError::Unauthorized(WRONG.into()));
    }
    let user = user.ok_or_else(|| ApiError::Unauthorized(WRONG.into()))?;
    let mut conn = crate::db::conn(pool).await?;
    let started = sessions::start(&mut conn, user.id).await?;
    Ok((user, started))
}
