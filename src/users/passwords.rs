//! Passwords: Argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane: the `argon2` crate's
//! defaults), hashed and checked on threads of their own, a few at a time, at a lower
//! priority than serving: a flood of sign-ins (right or wrong) waits for readers, not the
//! other way round.
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::http::validate::Checks;

pub const MIN_CHARS: usize = 12;
/// Hashing cost does not grow with length, but a stranger's input is bounded everywhere.
pub const MAX_CHARS: usize = 256;

/// Hashes run a place per two cores (at least one); 30 s without a place is a 503.
fn places() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores / 2).max(1)
}
static HASHING: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(places())));
const WAIT_FOR_PLACE: Duration = Duration::from_secs(30);
/// The hashing threads' niceness: the scheduler gives serving threads (0) about ten times
/// their share of a busy core.
const NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads (one per place), started on first use, each at a lower priority.
/// Their own threads: a blocking-pool thread lowered once would stay lowered for the
/// renders and image work it runs next.
static HASHERS: LazyLock<std::sync::mpsc::Sender<Job>> = LazyLock::new(|| {
    let (sender, receiver) = std::sync::mpsc::channel::<Job>();
    let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
    for n in 0..places() {
        let receiver = receiver.clone();
        let _ = std::thread::Builder::new()
            .name(format!("lede-hash-{n}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A job that panics takes only itself down, not the thread.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                }
            });
    }
    sender
});

/// Lowers the calling thread's priority (on Linux, niceness is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority only read and set this thread's scheduling value.
    unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread, NICENESS);
    }
}

/// A hash of no one's password: an unknown email is checked against it, so answering takes
/// as long as for a wrong password. Made at start (`prepare`), not on the first unknown
/// email (which would then answer slower).
static NO_ONE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes no one's hash; a start fails when passwords cannot be hashed at all.
pub fn prepare() -> Result<(), argon2::password_hash::Error> {
    if NO_ONE.get().is_none() {
        let _ = NO_ONE.set(hash_now("no one has this password")?);
    }
    Ok(())
}

/// Passwords people pick first, 12 characters or longer (compared in lowercase).
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "111111111111",
    "000000000000",
    "123123123123",
    "password1234",
    "password12345",
    "password123!",
    "passwordpassword",
    "qwertyuiopas",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "asdfghjkl123",
    "zaq12wsxcde3",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "welcome123456",
    "administrator",
    "admin1234567",
    "changeme1234",
    "changemeplease",
    "abc123456789",
    "abcdefghijkl",
    "abcd12345678",
    "trustno1trustno1",
    "football1234",
    "baseball1234",
    "superman1234",
    "sunshine1234",
    "princess1234",
    "monkey123456",
    "dragon123456",
    "starwars1234",
    "whatever1234",
    "correcthorsebatterystaple",
    "newsroom1234",
    "journalist123",
    "editor123456",
];

/// Adds what is wrong with a new password to `checks`: too short or long, common, or the
/// person's own email or name.
pub fn check(checks: &mut Checks, field: &str, password: &str, email: &str, name: &str) {
    let chars = password.chars().count();
    let lower = password.to_lowercase();
    if chars < MIN_CHARS {
        checks.fail(
            field,
            "too_short",
            format!("{field} must have at least {MIN_CHARS} characters"),
        );
    } else if chars > MAX_CHARS {
        checks.fail(
            field,
            "too_long",
            format!("{field} may have at most {MAX_CHARS} characters"),
        );
    } else if COMMON.contains(&lower.as_str())
        || lower.chars().all(|c| lower.starts_with(c))
        || lower == email.to_lowercase()
        || lower == name.to_lowercase()
        || email
            .split('@')
            .next()
            .is_some_and(|local| lower == local.to_lowercase())
    {
        checks.fail(
            field,
            "too_common",
            format!("{field} is too easy to guess (a common password, or the email or name)"),
        );
    }
}

fn hash_now(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Runs `work` on a hashing thread once a place is free.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let busy = || ApiError::Unavailable("signing in is at capacity; try again shortly".into());
    // The place goes with the job: a request that is given up (its client left) still holds
    // it until its hash is made or skipped, so the queue is never longer than the places.
    let place = tokio::time::timeout(WAIT_FOR_PLACE, HASHING.clone().acquire_owned())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(busy)?;
    let (done, answer) = tokio::sync::oneshot::channel();
    HASHERS
        .send(Box::new(move || {
            let _place = place;
            // No one waits for it any more: not worth a core.
            if !done.is_closed() {
                let _ = done.send(work());
            }
        }))
        .map_err(|_| ApiError::Internal("the hashing threads are gone".into()))?;
    answer
        .await
        .map_err(|_| ApiError::Internal("a password hash was not made".into()))
}

/// The Argon2id hash of a new password, in PHC string form.
pub async fn hash(password: String) -> Result<String, ApiError> {
    hashing(move || hash_now(&password))
        .await?
        .map_err(|error| ApiError::Internal(format!("hashing a password failed: {error}")))
}

/// Whether `password` matches `stored`; without a stored hash (no such person, or no
/// password yet) it is checked against no one's, taking the same time, and is false.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    hashing(move || {
        let real = stored.is_some();
        let stored = match stored {
            Some(stored) => stored,
            None => {
                let _ = prepare();
                NO_ONE.get().cloned().unwrap_or_default()
            }
        };
        let matches = PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        real && matches
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash_now("a long enough secret").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let parsed = PasswordHash::new(&stored).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"a long enough secret", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"a long enough secreT", &parsed)
                .is_err()
        );
    }

    #[test]
    fn short_common_and_own_passwords_are_refused() {
        let mut checks = Checks::new();
        check(&mut checks, "password", "short", "ada@example.com", "Ada");
        check(&mut checks, "a", "Password1234", "ada@example.com", "Ada");
        check(
            &mut checks,
            "b",
            "ada@example.com",
            "ada@example.com",
            "Ada",
        );
        check(
            &mut checks,
            "c",
            "aaaaaaaaaaaaaaaa",
            "ada@example.com",
            "Ada",
        );
        check(
            &mut checks,
            "ok",
            "tram lines at dusk",
            "ada@example.com",
            "Ada",
        );
        let codes: Vec<_> = checks
            .into_errors()
            .into_iter()
            .map(|e| (e.field.unwrap_or_default(), e.code))
            .collect();
        assert_eq!(
            codes,
            [
                ("password".to_owned(), "too_short".to_owned()),
                ("a".to_owned(), "too_common".to_owned()),
                ("b".to_owned(), "too_common".to_owned()),
                ("c".to_owned(), "too_common".to_owned()),
            ]
        );
    }
}
