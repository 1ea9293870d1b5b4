//! The one way to paginate, sort and trim lists: `page`/`per_page` or an opaque keyset
//! `cursor`, `sort` from a per-resource whitelist, sparse `fields`, and a list answer with
//! `meta`, `Link` (RFC 8288) and `X-Total-Count`.
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::expression::BoxableExpression;
use diesel::expression::SqlLiteral;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSelectStatement, FromClause};
use diesel::query_source::QuerySource;
use diesel::sql_types::{Bool, Text, Timestamptz};
use serde::{Deserialize, Serialize};
use std::future::{Ready, ready};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::http::base_url;
use crate::http::cache::{Shows, showing};
use crate::http::response::{tagged, to_json};

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;
/// How deep `page` may reach (`page * per_page`): an OFFSET reads and drops every row before
/// the page, so deeper pages are reached by `cursor`, which costs what the first page does.
pub const MAX_PAGED_ITEMS: i64 = 10_000;
/// A list's `total` is exact up to here; past it, lists that would have to count every row
/// (searches, filtered lists) estimate it and say so (`total_estimated`).
pub const EXACT_TOTAL: i64 = 1_000;

/// Paging parameters shared by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// Page number, from 1, while `page * per_page` is at most 10,000 (deeper: `cursor`).
    /// Not together with `cursor`.
    #[param(minimum = 1, maximum = 10000, example = 1)]
    page: Option<i64>,
    /// Items per page, 1 to 100.
    #[param(minimum = 1, maximum = 100, default = 20, example = 20)]
    per_page: Option<i64>,
    /// Keyset pagination: the previous page's `meta.next_cursor`. A page deep in the list
    /// costs what the first one does. Not together with `page`.
    cursor: Option<String>,
    /// Comma-separated top-level fields to return (e.g. `id,slug,name`); others are left out.
    /// The item schema describes answers without `fields`: with it, each item holds only the
    /// fields named (treat it as a partial of that schema).
    #[param(example = "id,slug,name", pattern = r"^[a-z_]+(,[a-z_]+)*$")]
    fields: Option<String>,
}

/// Validated paging: where the page starts, how long it is, which fields to keep.
#[derive(Debug, Clone)]
pub struct Pagination {
    pub per_page: i64,
    pub start: Start,
    pub fields: Option<Vec<String>>,
    sort: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Start {
    Page(i64),
    After(Cursor),
}

impl Pagination {
    pub fn offset(&self) -> i64 {
        match self.start {
            Start::Page(page) => (page - 1) * self.per_page,
            Start::After(_) => 0,
        }
    }

    /// The keyset cursor to continue after, checked against the list's sort order.
    pub fn cursor<R>(&self, sort: &Sort<R>) -> Result<Option<&Cursor>, ApiError> {
        match &self.start {
            Start::After(cursor) if cursor.sort != sort.key() => Err(ApiError::BadRequest(
                "the cursor was made for another sort order; send the same `sort` as for the first page".into(),
            )),
            Start::After(cursor) => Ok(Some(cursor)),
            Start::Page(_) => Ok(None),
        }
    }

    /// The sort named by the `sort` parameter, from the resource's whitelist.
    pub fn sort<R>(
        &self,
        options: &'static [SortOption<R>],
        default: &str,
    ) -> Result<Sort<R>, ApiError> {
        let raw = self.sort.as_deref().unwrap_or(default);
        let (name, descending) = match raw.strip_prefix('-') {
            Some(name) => (name, true),
            None => (raw, false),
        };
        options
            .iter()
            .find(|o| o.name == name)
            .map(|option| Sort { option, descending })
            .ok_or_else(|| {
                let names: Vec<_> = options.iter().map(|o| o.name).collect();
                ApiError::BadRequest(format!(
                    "cannot sort by `{raw}`; use one of {} (prefix `-` for descending)",
                    names.join(", ")
                ))
            })
    }
}

fn bad_param(name: &str, message: &str) -> ApiError {
    ApiError::BadRequest(format!("query parameter `{name}` {message}"))
}

impl FromRequest for Pagination {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Pagination::parse(req.query_string()))
    }
}

impl Pagination {
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        Pagination::parse_with(query, DEFAULT_PER_PAGE, MAX_PER_PAGE)
    }

    /// Paging of a list with its own page length (the sitemap's: its rows are small and a
    /// front-end reads them all; a feed's fixed one).
    pub fn parse_with(
        query: &str,
        default_per_page: i64,
        max_per_page: i64,
    ) -> Result<Self, ApiError> {
        let mut page = None;
        let mut per_page = default_per_page;
        let mut cursor = None;
        let mut fields = None;
        let mut sort = None;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "page" => {
                    page = Some(
                        value
                            .parse::<i64>()
                            .ok()
                            .filter(|p| *p >= 1)
                            .ok_or_else(|| bad_param("page", "must be a whole number from 1"))?,
                    )
                }
                "per_page" => {
                    per_page = value
                        .parse::<i64>()
                        .ok()
                        .filter(|n| (1..=max_per_page).contains(n))
                        .ok_or_else(|| {
                            bad_param(
                                "per_page",
                                &format!("must be a whole number from 1 to {max_per_page}"),
                            )
                        })?
                }
                "cursor" => cursor = Some(Cursor::decode(&value)?),
                "fields" => {
                    let names: Vec<String> = value
                        .split(',')
                        .map(|f| f.trim().to_owned())
                        .filter(|f| !f.is_empty())
                        .collect();
                    if names.is_empty() {
                        return Err(bad_param("fields", "must name at least one field"));
                    }
                    fields = Some(names);
                }
                "sort" => sort = Some(value.into_owned()),
                _ => {}
            }
        }
        let start = match (page, cursor) {
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest(
                    "send either `page` or `cursor`, not both".into(),
                ));
            }
            (_, Some(cursor)) => Start::After(cursor),
            (Some(page), None) if page.saturating_mul(per_page) > MAX_PAGED_ITEMS => {
                return Err(bad_param(
                    "page",
                    &format!(
                        "reaches past item {MAX_PAGED_ITEMS}; page deeper with `cursor` \
                         (each page's `meta.next_cursor`)"
                    ),
                ));
            }
            (page, None) => Start::Page(page.unwrap_or(1)),
        };
        Ok(Pagination {
            per_page,
            start,
            fields,
            sort,
        })
    }
}

/// The type of a sortable column, which decides how its cursor value is bound.
#[derive(Debug, Clone, Copy)]
pub enum KeyKind {
    Text,
    Time,
    /// A computed score (a search's relevance, from the index), compared with the id.
    Float,
    /// A number unique within its list (an article's revision `version`): compared alone.
    Int,
}

/// One allowed `sort` value of a list of `R` rows: its API name, the non-null column
/// behind it, and how a row's value of it is written into the next page's cursor. Declared
/// once per resource, beside its queries: what the SQL orders by and what the cursor holds
/// cannot drift apart.
pub struct SortOption<R: 'static> {
    pub name: &'static str,
    /// Table-qualified column, e.g. `authors.name`; it has an index on (column, id).
    pub column: &'static str,
    pub kind: KeyKind,
    /// The row's value of `column`, as the cursor holds it.
    pub key: fn(&R) -> KeyValue,
}

pub struct Sort<R: 'static> {
    pub option: &'static SortOption<R>,
    pub descending: bool,
}

impl<R> Clone for Sort<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Sort<R> {}

/// A cursor's key, read as its column's type: what the next page's rows compare with.
pub enum KeyBound {
    Text(String),
    Time(DateTime<Utc>),
    Float(f32),
    /// Unique within the list: compared alone, without the id.
    Int(i64),
}

/// A sort column's value in a row, as text, for the next page's cursor.
pub type KeyValue = String;

/// A timestamp's cursor text: microseconds, as Postgres stores it, so no row is skipped.
pub fn time_key(time: &DateTime<Utc>) -> KeyValue {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl<R> Sort<R> {
    fn key(&self) -> String {
        format!(
            "{}{}",
            if self.descending { "-" } else { "" },
            self.option.name
        )
    }

    fn table_id(&self) -> String {
        let table = self.option.column.split('.').next().unwrap_or_default();
        format!("{table}.id")
    }

    /// `ORDER BY column, id` in the sort's direction: id breaks ties so pages never overlap.
    /// A whole-number column is unique where it is sorted by (a revision's version within
    /// its article): it alone.
    pub fn order_by(&self) -> SqlLiteral<Text> {
        let direction = if self.descending { "DESC" } else { "ASC" };
        let column = self.option.column;
        diesel::dsl::sql(&match self.option.kind {
            KeyKind::Int => format!("{column} {direction}"),
            KeyKind::Text | KeyKind::Time | KeyKind::Float => {
                format!("{column} {direction}, {} {direction}", self.table_id())
            }
        })
    }

    /// The comparison that keeps the rows after a cursor's: `<` when descending.
    pub fn after_op(&self) -> &'static str {
        if self.descending { "<" } else { ">" }
    }

    /// The cursor's key read as the sort column's type (a cursor made for another column
    /// type, or tampered with, is a 400).
    pub fn bound(&self, cursor: &Cursor) -> Result<KeyBound, ApiError> {
        let bad = || ApiError::BadRequest("query parameter `cursor` is not valid".into());
        Ok(match self.option.kind {
            KeyKind::Text => KeyBound::Text(cursor.value.clone()),
            KeyKind::Time => KeyBound::Time(
                DateTime::parse_from_rfc3339(&cursor.value)
                    .map_err(|_| bad())?
                    .with_timezone(&Utc),
            ),
            // A score is a finite number: `NaN` or `inf` compares with nothing.
            KeyKind::Float => KeyBound::Float(
                cursor
                    .value
                    .parse::<f32>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(bad)?,
            ),
            KeyKind::Int => KeyBound::Int(cursor.value.parse().map_err(|_| bad())?),
        })
    }

    /// The cursor of the page after `row` (whose id is `id`).
    pub fn cursor_after(&self, row: &R, id: Uuid) -> Cursor {
        Cursor {
            sort: self.key(),
            value: (self.option.key)(row),
            id,
        }
    }

    /// Rows strictly after the cursor's row in this order, as one row comparison that the
    /// (column, id) index answers directly. (Lists written in SQL text use `bound` and
    /// `after_op` the same way.)
    pub fn after<QS: 'static>(
        &self,
        cursor: &Cursor,
    ) -> Result<Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>>, ApiError> {
        let op = self.after_op();
        let head = diesel::dsl::sql::<Bool>(&format!(
            "({}, {}) {op} (",
            self.option.column,
            self.table_id()
        ));
        Ok(match self.bound(cursor)? {
            KeyBound::Text(value) => Box::new(
                head.bind::<Text, _>(value)
                    .sql(", ")
                    .bind::<diesel::sql_types::Uuid, _>(cursor.id)
                    .sql(")"),
            ),
            KeyBound::Time(time) => Box::new(
                head.bind::<Timestamptz, _>(time)
                    .sql(", ")
                    .bind::<diesel::sql_types::Uuid, _>(cursor.id)
                    .sql(")"),
            ),
            KeyBound::Float(value) => Box::new(
                head.bind::<diesel::sql_types::Float4, _>(value)
                    .sql(", ")
                    .bind::<diesel::sql_types::Uuid, _>(cursor.id)
                    .sql(")"),
            ),
            KeyBound::Int(value) => Box::new(
                diesel::dsl::sql::<Bool>(&format!("{} {op} ", self.option.column))
                    .bind::<diesel::sql_types::BigInt, _>(value),
            ),
        })
    }
}

/// Where a keyset page starts: the sort it belongs to and the last row's key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "s")]
    sort: String,
    #[serde(rename = "v")]
    pub value: KeyValue,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Result<Self, ApiError> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Cursor>(&bytes).ok())
            // A key a row could hold has no control characters (NUL cannot be sent to SQL).
            .filter(|cursor| !cursor.value.chars().any(char::is_control))
            .ok_or_else(|| {
                bad_param(
                    "cursor",
                    "is not valid: pass `meta.next_cursor` of the previous page as it is",
                )
            })
    }
}

/// `meta` of every list answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"per_page": 20, "total": 42, "total_estimated": false, "next_cursor": "eyJzIjoibmFtZSJ9", "page": 1, "total_pages": 3}))]
pub struct ListMeta {
    pub per_page: i64,
    /// Items in the whole list (all pages): exact, unless `total_estimated`.
    pub total: i64,
    /// `total` (and `X-Total-Count`) is an estimate: an article list past 1,000 items that
    /// is filtered, or read with a token, counts no further and takes the database's estimate.
    pub total_estimated: bool,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    /// The page number, when paging by `page`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    /// Number of pages, when paging by `page`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_pages: Option<i64>,
}

/// A list answer: `data` and `meta`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    pub meta: ListMeta,
}

/// One page of `query` (a list of one table's rows) in `sort`'s order: `per_page + 1` rows
/// (to know whether more follow), from the page's offset or after the cursor. Every list
/// written with diesel pages through here; lists written in SQL text use `Sort::bound` and
/// `Sort::after_op` the same way.
pub fn page_of<'a, ST, QS, R>(
    query: BoxedSelectStatement<'a, ST, FromClause<QS>, Pg>,
    pagination: &Pagination,
    sort: &Sort<R>,
) -> Result<BoxedSelectStatement<'a, ST, FromClause<QS>, Pg>, ApiError>
where
    QS: QuerySource + 'static,
{
    let mut query = query
        .order(sort.order_by())
        .limit(pagination.per_page + 1)
        .offset(pagination.offset());
    if let Some(cursor) = pagination.cursor(sort)? {
        query = query.filter(sort.after::<QS>(cursor)?);
    }
    Ok(query)
}

/// One page of rows as loaded (`per_page + 1` asked for, to know whether more follow).
pub struct Loaded<R> {
    pub rows: Vec<R>,
    pub total: i64,
    /// `total` is an estimate (a filtered list past `EXACT_TOTAL`).
    pub estimated: bool,
    /// More rows follow even if these fit the page (a search whose hits Postgres thinned).
    pub more: bool,
}

impl<R> Loaded<R> {
    /// Rows of a list whose `total` was counted.
    pub fn exact(rows: Vec<R>, total: i64) -> Self {
        Loaded {
            rows,
            total,
            estimated: false,
            more: false,
        }
    }
}

/// Builds the list answer: trims the look-ahead row, makes `next_cursor`, `Link` and
/// `X-Total-Count`, applies `fields`, and tags it with an ETag and with what it shows
/// (`list_keys`, e.g. `articles`, and every item's own key; see `cache::Shows`).
#[allow(clippy::too_many_arguments)]
pub fn list_response<R, T: Serialize + Shows>(
    req: &HttpRequest,
    pagination: &Pagination,
    sort: &Sort<R>,
    list_keys: &[crate::changes::Key],
    loaded: Loaded<R>,
    id_of: impl Fn(&R) -> Uuid,
    view: impl Fn(R) -> T,
) -> Result<HttpResponse, ApiError> {
    let Loaded {
        mut rows,
        total,
        estimated,
        more,
    } = loaded;
    let has_more = more || rows.len() as i64 > pagination.per_page;
    rows.truncate(pagination.per_page as usize);
    let next_cursor = match rows.last() {
        Some(last) if has_more => Some(sort.cursor_after(last, id_of(last)).encode()),
        _ => None,
    };
    let (page, total_pages) = match pagination.start {
        Start::Page(page) => (
            Some(page),
            Some((total + pagination.per_page - 1) / pagination.per_page),
        ),
        Start::After(_) => (None, None),
    };
    let links = link_header(req, page, total_pages, next_cursor.as_deref());
    let items: Vec<T> = rows.into_iter().map(view).collect();
    let mut keys = list_keys.to_vec();
    keys.extend(items.iter().filter_map(Shows::key));
    let meta = ListMeta {
        per_page: pagination.per_page,
        total,
        total_estimated: estimated,
        next_cursor,
        page,
        total_pages,
    };
    let body = match &pagination.fields {
        None => to_json(&ListResponse { data: items, meta })?,
        Some(fields) => {
            let data = items
                .iter()
                .map(|item| select_fields(item, fields))
                .collect::<Result<Vec<_>, _>>()?;
            to_json(&ListResponse { data, meta })?
        }
    };
    let mut response = tagged(req, StatusCode::OK, body)?;
    let headers = response.headers_mut();
    headers.insert(
        header::HeaderName::from_static("x-total-count"),
        HeaderValue::from(total),
    );
    if let Some(links) = links.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LINK, links);
    }
    Ok(showing(response, keys))
}

/// Keeps only the named top-level fields of an object; an unknown name is a 400.
pub fn select_fields<T: Serialize>(
    item: &T,
    fields: &[String],
) -> Result<serde_json::Value, ApiError> {
    let value = serde_json::to_value(item).map_err(|e| ApiError::Internal(e.to_string()))?;
    let serde_json::Value::Object(mut object) = value else {
        return Ok(value);
    };
    if let Some(unknown) = fields.iter().find(|f| !object.contains_key(f.as_str())) {
        let known: Vec<_> = object.keys().map(String::as_str).collect();
        return Err(bad_param(
            "fields",
            &format!(
                "names `{unknown}`, which is not a field here (fields: {})",
                known.join(", ")
            ),
        ));
    }
    object.retain(|key, _| fields.iter().any(|f| f == key));
    Ok(serde_json::Value::Object(object))
}

/// `Link` with `next`, `prev`, `first` and `last` as absolute URLs that keep the request's
/// other parameters.
fn link_header(
    req: &HttpRequest,
    page: Option<i64>,
    total_pages: Option<i64>,
    next_cursor: Option<&str>,
) -> Option<String> {
    let base = format!("{}{}", base_url(req), req.path());
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k != "page" && k != "cursor")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let url_with = |key: &str, value: &str| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            query.append_pair(k, v);
        }
        query.append_pair(key, value);
        format!("{base}?{}", query.finish())
    };
    let mut links = Vec::new();
    match (page, total_pages) {
        (Some(page), Some(total_pages)) => {
            if page < total_pages {
                links.push(format!(
                    "<{}>; rel=\"next\"",
                    url_with("page", &(page + 1).to_string())
                ));
            }
            if page > 1 {
                let prev = (page - 1).min(total_pages.max(1));
                links.push(format!(
                    "<{}>; rel=\"prev\"",
                    url_with("page", &prev.to_string())
                ));
            }
            links.push(format!("<{}>; rel=\"first\"", url_with("page", "1")));
            links.push(format!(
                "<{}>; rel=\"last\"",
                url_with("page", &total_pages.max(1).to_string())
            ));
        }
        _ => {
            if let Some(cursor) = next_cursor {
                links.push(format!("<{}>; rel=\"next\"", url_with("cursor", cursor)));
            }
        }
    }
    (!links.is_empty()).then(|| links.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    static OPTIONS: [SortOption<(String, DateTime<Utc>)>; 2] = [
        SortOption {
            name: "name",
            column: "things.name",
            kind: KeyKind::Text,
            key: |row| row.0.clone(),
        },
        SortOption {
            name: "created_at",
            column: "things.created_at",
            kind: KeyKind::Time,
            key: |row| time_key(&row.1),
        },
    ];

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            sort: "-name".into(),
            value: "Zoë".into(),
            id: Uuid::now_v7(),
        };
        let decoded = Cursor::decode(&cursor.encode()).expect("decodes");
        assert_eq!(decoded.id, cursor.id);
        assert!(Cursor::decode("not a cursor!").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"{}")).is_err());
    }

    #[test]
    fn parses_and_bounds_parameters() {
        let p = Pagination::parse("page=2&per_page=5&sort=-name").expect("valid");
        assert_eq!((p.per_page, p.offset()), (5, 5));
        let sort = p.sort(&OPTIONS, "name").expect("known sort");
        assert!(sort.descending);
        for bad in [
            "per_page=0",
            "per_page=101",
            "page=0",
            "page=-1",
            "page=x",
            "cursor=abc",
            "fields=",
        ] {
            assert!(Pagination::parse(bad).is_err(), "{bad}");
        }
        assert!(
            Pagination::parse("sort=nope")
                .unwrap()
                .sort(&OPTIONS, "name")
                .is_err()
        );
    }

    #[test]
    fn a_cursor_only_fits_its_own_sort() {
        let cursor = Cursor {
            sort: "name".into(),
            value: "a".into(),
            id: Uuid::now_v7(),
        };
        let p = Pagination::parse(&format!("cursor={}&sort=-created_at", cursor.encode())).unwrap();
        let sort = p.sort(&OPTIONS, "name").unwrap();
        assert!(p.cursor(&sort).is_err());
    }
}
