//! Fixed-window counters in Postgres (comments per address, sign-in attempts per account
//! and per address): one row per bucket, counted by one atomic statement, so every node
//! shares them and parallel requests cannot all pass. The table is still named for the
//! comments it first counted.
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A bucket's count within its window after counting one more, and when the window began.
#[derive(QueryableByName)]
pub struct Counted {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub count: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub window_start: DateTime<Utc>,
}

/// Counts one more in `bucket` and refuses it past `limit`: 429 with `Retry-After` (when
/// the window ends) and `detail`. The count, when within the limit.
pub async fn count_within(
    conn: &mut AsyncPgConnection,
    bucket: &str,
    limit: i64,
    window_secs: i64,
    detail: impl FnOnce() -> String,
) -> Result<i64, crate::error::ApiError> {
    let counted = count_in(conn, bucket, window_secs).await?;
    let count = i64::from(counted.count);
    if count > limit {
        let ends = counted.window_start + chrono::TimeDelta::seconds(window_secs);
        return Err(crate::error::ApiError::TooManyRequests {
            detail: detail(),
            retry_after: (ends - Utc::now()).num_seconds().max(1) as u64,
        });
    }
    Ok(count)
}

/// Counts one more in `bucket` (a fixed window of `window_secs` from its first count) in one
/// atomic statement, the model being crates.io's rate limiter: parallel requests each see
/// a distinct count. The bucket is stored as a hash (no address or email kept twice).
pub async fn count_in(
    conn: &mut AsyncPgConnection,
    bucket: &str,
    window_secs: i64,
) -> QueryResult<Counted> {
    use sha2::Digest;
    diesel::sql_query(
        "INSERT INTO comment_limits AS l (bucket, window_start, count) VALUES ($1, now(), 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
           window_start = CASE WHEN l.window_start <= now() - make_interval(secs => $2) \
                          THEN now() ELSE l.window_start END, \
           count = CASE WHEN l.window_start <= now() - make_interval(secs => $2) \
                   THEN 1 ELSE l.count + 1 END \
         RETURNING count, window_start",
    )
    .bind::<diesel::sql_types::Bytea, _>(sha2::Sha256::digest(bucket.as_bytes()).to_vec())
    .bind::<diesel::sql_types::Double, _>(window_secs as f64)
    .get_result(conn)
    .await
}

/// Removes buckets whose window ended a day ago or more.
pub async fn forget_old(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM comment_limits WHERE window_start < now() - interval '1 day'")
        .execute(conn)
        .await
}

/// What one sender is counted as: an IPv4 address, or an IPv6 address's /64 (one
/// household or host is given a whole /64, and could use every address in it).
pub fn sender(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{prefix}/64")
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or(ip.to_owned(), |v4| v4.to_string()),
        _ => ip.to_owned(),
    }
}

/// Takes back one count of `bucket` (an attempt that turned out not to count: a sign-in
/// with the right password).
pub async fn uncount(conn: &mut AsyncPgConnection, bucket: &str) -> QueryResult<usize> {
    use sha2::Digest;
    diesel::sql_query("UPDATE comment_limits SET count = greatest(count - 1, 0) WHERE bucket = $1")
        .bind::<diesel::sql_types::Bytea, _>(sha2::Sha256::digest(bucket.as_bytes()).to_vec())
        .execute(conn)
        .await
}
