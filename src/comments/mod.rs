//! Comments: the public "Leave a reply" form under an article (rate limits, honeypot,
//! duplicate check), threads for readers, and moderation for editors and admins. The
//! commenter's email, IP address and user agent never leave without a staff token.
pub mod avatars;
pub mod model;
mod moderation;
pub mod queries;
pub mod write;

pub use crate::config::CommentRules;

use std::collections::HashMap;
use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Utc;
use diesel_async::AsyncConnection;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use self::model::{Comment, CommentStatus, NewComment, PublicComment};
use crate::articles::queries as articles;
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::http::body::JsonOrFormBody;
use crate::http::pagination::{
    KeyKind, ListResponse, Loaded, PageParams, Pagination, Sort, SortOption, list_response,
    time_key,
};
use crate::state::AppState;

use self::moderation::*;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(submit_comment)
        .service(avatars::get_avatar)
        .service(list_article_comments)
        .service(list_replies)
        .service(list_comments)
        .service(bulk_status)
        .service(reply_to_comment)
        .service(find_comment)
        .service(update_comment)
        .service(delete_comment);
}

const MAX_BODY: usize = 10_000;
const MAX_NAME: usize = 100;
/// The same body from the same email on the same article within this is a duplicate.
const DUPLICATE_MINUTES: i64 = 10;

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .add_tags([
            "p",
            "br",
            "em",
            "strong",
            "del",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "a",
        ])
        .add_tag_attributes("a", ["href"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("nofollow ugc noopener"));
    builder
});

/// A comment body: a small markdown subset. Raw HTML is shown as text, images and headings
/// become plain text, and the result is sanitized anyway.
pub fn render_body(markdown: &str) -> String {
    let events =
        Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH).map(|event| match event {
            Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
            Event::Start(Tag::Heading { .. }) => Event::Start(Tag::Paragraph),
            Event::End(TagEnd::Heading(_)) => Event::End(TagEnd::Paragraph),
            other => other,
        });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    SANITIZER.clean(&html).to_string()
}

/// A comment's lists and quotes nest as an article's may, at most (rendering a deeper one
/// costs in proportion to its depth; a short body is checked in well under a millisecond).
/// Its HTML is shown as text, and its links are sanitized when rendered.
fn check_nesting(checks: &mut crate::http::validate::Checks, markdown: &str) {
    let problems = crate::articles::limits::check(markdown);
    if let Some(deep) = problems.iter().find(|p| p.code == "too_deep") {
        checks.fail("body", deep.code, deep.message.clone());
    }
}

/// Leave a reply
///
/// The public comment form: no token needed. New comments are `pending` until a moderator
/// approves them (or approved at once when the server is configured to trust commenters
/// with an earlier approved comment). The answer is the comment as its writer may see it,
/// with its `status`; the email is never shown. Rate limited per IP address and per email
/// (429 with `Retry-After`); the same text from the same email on the same article within
/// ten minutes is a 409. An article whose comments are closed answers 403.
///
/// A plain HTML form may post here too (`application/x-www-form-urlencoded`, the same
/// fields; blank ones count as absent): with a `redirect` on the site's own origin the
/// answer is a 303 to it, so the form works without JavaScript.
#[utoipa::path(
    tag = "comments", operation_id = "submit_comment",
    params(("id_or_slug" = String, Path, description = "The article's id or slug")),
    request_body(content(
        (NewComment = "application/json"),
        (NewComment = "application/x-www-form-urlencoded"))),
    responses(
        (status = 201, description = "Received", body = PublicComment,
            headers(("Location" = String, description = "The article's comment thread"))),
        (status = 303, description = "Received, from a form with a `redirect` on the site: go there",
            headers(("Location" = String, description = "The `redirect` given"))),
        (status = 403, description = "Comments are closed on this article", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many comments from this address or email", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = i64, description = "Seconds until another comment is accepted"))),
    ),
    security((), ("bearer" = []))
)]
#[post("/articles/{id_or_slug}/comments")]
async fn submit_comment(
    req: HttpRequest,
    state: web::Data<AppState>,
    _auth: Auth,
    key: web::Path<String>,
    body: JsonOrFormBody<NewComment>,
) -> Result<HttpResponse, ApiError> {
    let is_form = body.is_form;
    let (new, mut checks) = body.body.into_parts();
    let (author_name, author_email, author_url) = author_fields(
        &mut checks,
        &new.author_name,
        &new.author_email,
        new.author_url.as_deref(),
    );
    let body_markdown = checks.multiline_text("body", &new.body, MAX_BODY);
    check_nesting(&mut checks, &body_markdown);
    checks.finish()?;
    let author_email = author_email.unwrap_or_default();
    let rules = &state.comment_rules;
    let ip = state.origin.client_ip(&req);
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(500).collect::<String>());

    let mut conn = crate::db::conn(&state.pool).await?;
    let article = public_article(&mut conn, &key).await?;
    if !article.comments_open {
        return Err(ApiError::Forbidden(
            "comments are closed on this article".into(),
        ));
    }
    if let Some(parent_id) = new.parent_id {
        let parent = queries::find(&mut conn, parent_id).await?;
        let fits = parent.is_some_and(|p| {
            p.article_id == article.id && p.status == "approved" && p.deleted_at.is_none()
        });
        if !fits {
            return Err(ApiError::invalid(
                "parent_id",
                "not_found",
                "parent_id must be an approved comment of the same article",
            ));
        }
    }
    let now = Utc::now();
    // A filled honeypot looks accepted to the bot but goes straight to spam.
    let is_bot = new.website.as_deref().is_some_and(|w| !w.trim().is_empty());
    let status = if is_bot {
        CommentStatus::Spam
    } else if rules.auto_approve && queries::has_approved_from(&mut conn, &author_email).await? {
        CommentStatus::Approved
    } else {
        CommentStatus::Pending
    };
    let markdown = body_markdown.clone();
    let body_html = web::block(move || render_body(&markdown)).await?;
    let email = author_email.to_lowercase();
    let limits = [
        (
            format!("ip:{}", crate::rate_limits::sender(&ip)),
            rules.per_ip,
            "address",
        ),
        (format!("email:{email}"), rules.per_email, "email"),
    ];
    // The same body from the same email on the same article is taken once.
    let same = format!("same:{}:{email}:{body_markdown}", article.id);
    let comment = Comment {
        id: Uuid::now_v7(),
        article_id: article.id,
        parent_id: new.parent_id,
        author_name,
        author_email,
        author_url,
        body_markdown,
        body_html,
        status: status.as_str().to_owned(),
        ip,
        user_agent,
        deleted_at: None,
        created_at: now,
        updated_at: now,
        staff: false,
    };
    // Each limit is one atomic statement, counted in the transaction that stores the
    // comment: a parallel request waits on the bucket's row, then sees the count with this
    // comment in it; a refused or failed one counts nothing.
    let comment = conn
        .transaction::<_, ApiError, _>(async |conn| {
            for (bucket, limit, what) in limits {
                crate::rate_limits::count_within(conn, &bucket, limit, rules.window_secs, || {
                    format!(
                        "at most {limit} comments per {} seconds from one {what}",
                        rules.window_secs
                    )
                })
                .await?;
            }
            let seen = crate::rate_limits::count_in(conn, &same, DUPLICATE_MINUTES * 60).await?;
            if seen.count > 1 {
                return Err(ApiError::Conflict {
                    detail: "this comment was already received".into(),
                    errors: Vec::new(),
                });
            }
            queries::insert(conn, &crate::principal::COMMENT_FORM, &comment).await
        })
        .await?;
    // No picture in the sender's own answer: whoever sends may type any email, and the
    // picture's name would tell them whether it is the one behind a published comment.
    let mut view = PublicComment::new(&comment, &|_| String::new());
    view.avatar_url = None;
    view.status = Some(if is_bot {
        CommentStatus::Pending
    } else {
        status
    });
    let back = new.redirect.as_deref().filter(|_| is_form);
    if let Some(to) = back.and_then(|to| state.site.same_origin(to)) {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .finish());
    }
    let body = crate::http::response::to_json(&view)?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!(
                "{}/api/v1/articles/{}/comments",
                crate::http::base_url(&req),
                article.slug
            ),
        ))
        .content_type("application/json")
        .body(body))
}

/// A commenter's name, email and address, checked and normalised the one way every comment
/// is (submitted here or imported): what is wrong is named in `checks`.
pub fn author_fields(
    checks: &mut crate::http::validate::Checks,
    name: &str,
    email: &str,
    url: Option<&str>,
) -> (String, Option<String>, Option<String>) {
    let author_name = checks.text("author_name", name, MAX_NAME);
    let author_email = checks.email("author_email", Some(email));
    if author_email.is_none() && email.trim().is_empty() {
        checks.fail(
            "author_email",
            "required",
            "author_email is required (it is never published)",
        );
    }
    let author_url = checks.url("author_url", url);
    (author_name, author_email, author_url)
}

/// Sort order of a thread list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ThreadSort {
    /// `created_at` (default, oldest first) or `-created_at`.
    #[param(example = "created_at", pattern = r"^-?created_at$")]
    sort: Option<String>,
}

/// Read an article's comments
///
/// Approved comments as threads: each top-level comment with its replies nested to any
/// depth, so one request renders the whole discussion. Pages count top-level threads.
#[utoipa::path(
    tag = "comments", operation_id = "list_article_comments",
    params(("id_or_slug" = String, Path, description = "The article's id or slug"), PageParams, ThreadSort),
    responses((status = 200, description = "A page of threads", body = ListResponse<PublicComment>,
        headers(("Link" = String, description = "RFC 8288 links to other pages"),
                ("X-Total-Count" = i64, description = "Top-level threads"),
                ("ETag" = String, description = "Strong ETag of this page"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/articles/{id_or_slug}/comments")]
async fn list_article_comments(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    key: web::Path<String>,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    let sort = pagination.sort(&queries::SORTS, "created_at")?;
    let mut conn = auth.read_conn(&state).await?;
    let article = public_article(&mut conn, &key).await?;
    let Loaded { rows, total, .. } =
        queries::thread_roots(&mut conn, article.id, &pagination, &sort).await?;
    let roots: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    let mut replies: HashMap<Uuid, Vec<queries::Reply>> = HashMap::new();
    for reply in queries::first_replies(&mut conn, &roots, THREAD_REPLIES + 1).await? {
        replies.entry(reply.root_id).or_default().push(reply);
    }
    let base = crate::http::base_url(&req);
    let avatar = |email: &str| state.avatar_key.url(&base, email);
    let thread_keys = [
        crate::changes::Key::Comments(article.id),
        crate::changes::Key::Article(article.id),
    ];
    list_response(
        &req,
        &pagination,
        &sort,
        &thread_keys,
        Loaded::exact(rows, total),
        |root| root.id,
        |root| {
            let replies = replies.get(&root.id).map_or(&[][..], Vec::as_slice);
            thread(&root, replies, &avatar)
        },
    )
}

/// Replies a thread shows; the rest are one `replies_cursor` away.
const THREAD_REPLIES: i64 = 50;

/// How replies are listed: nearer first, then oldest first.
/// (Read by `queries::more_replies` as `<depth>|<created_at>`, with the reply's id.)
static REPLY_SORTS: [SortOption<queries::Reply>; 1] = [SortOption {
    name: "thread",
    column: "depth",
    kind: KeyKind::Text,
    key: |reply| format!("{}|{}", reply.depth, time_key(&reply.comment.created_at)),
}];

/// A published article whose time has come, or 404.
async fn public_article(
    conn: &mut diesel_async::AsyncPgConnection,
    key: &str,
) -> Result<crate::articles::model::Article, ApiError> {
    articles::find(conn, key)
        .await?
        .filter(|a| a.is_public)
        .ok_or_else(|| ApiError::not_found("article", key))
}

/// A thread: its first comment with up to `THREAD_REPLIES` replies nested under their
/// parents, and a `replies_cursor` when more follow.
fn thread(
    root: &Comment,
    replies: &[queries::Reply],
    avatar: &dyn Fn(&str) -> String,
) -> PublicComment {
    let more = replies.len() as i64 > THREAD_REPLIES;
    let replies = &replies[..replies.len().min(THREAD_REPLIES as usize)];
    let mut view = PublicComment::new(root, avatar);
    view.replies_cursor = replies.last().filter(|_| more).map(|last| {
        let sort = Sort {
            option: &REPLY_SORTS[0],
            descending: false,
        };
        sort.cursor_after(last, last.comment.id).encode()
    });
    view.replies = nest(root.id, replies, avatar);
    view
}

/// Nests replies (in `depth, created_at, id` order) under their parents without recursion,
/// so no chain is too deep: deepest first, each comment takes its finished children. A
/// deleted comment stays only while replies hang on it.
fn nest(
    root: Uuid,
    replies: &[queries::Reply],
    avatar: &dyn Fn(&str) -> String,
) -> Vec<PublicComment> {
    let mut children: HashMap<Uuid, Vec<PublicComment>> = HashMap::new();
    for reply in replies.iter().rev() {
        let mut view = PublicComment::new(&reply.comment, avatar);
        view.replies = children.remove(&view.id).unwrap_or_default();
        view.replies.reverse();
        if view.deleted && view.replies.is_empty() {
            continue;
        }
        let parent = reply.comment.parent_id.unwrap_or(root);
        children.entry(parent).or_default().push(view);
    }
    let mut top = children.remove(&root).unwrap_or_default();
    top.reverse();
    top
}

/// Read more replies of a thread
///
/// The approved replies under a comment, to any depth, in the order a thread shows them
/// (nearer first, then oldest first), each with its `parent_id` and without nesting. Start
/// from a thread's `replies_cursor`; pages follow `meta.next_cursor`.
#[utoipa::path(
    tag = "comments", operation_id = "list_replies",
    params(("id" = Uuid, Path, description = "The comment whose replies to list (a thread's first comment)"),
           PageParams),
    responses((status = 200, description = "A page of replies", body = ListResponse<PublicComment>,
        headers(("Link" = String, description = "RFC 8288 links to other pages"),
                ("X-Total-Count" = i64, description = "Replies under the comment"),
                ("ETag" = String, description = "Strong ETag of this page"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security((), ("bearer" = []))
)]
#[get("/comments/{id}/replies")]
async fn list_replies(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    pagination: Pagination,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let sort = pagination.sort(&REPLY_SORTS, "thread")?;
    let mut conn = auth.read_conn(&state).await?;
    let comment = queries::find(&mut conn, id)
        .await?
        .filter(|c| c.status == "approved")
        .ok_or_else(|| ApiError::NotFound(format!("no comment `{id}`")))?;
    let article = public_article(&mut conn, &comment.article_id.to_string()).await?;
    let after = match pagination.cursor(&sort)? {
        None => None,
        Some(cursor) => {
            let bad = || ApiError::BadRequest("query parameter `cursor` is not valid".into());
            let (depth, time) = cursor.value.split_once('|').ok_or_else(bad)?;
            let depth: i32 = depth.parse().map_err(|_| bad())?;
            let time = chrono::DateTime::parse_from_rfc3339(time).map_err(|_| bad())?;
            Some((depth, time.with_timezone(&Utc), cursor.id))
        }
    };
    let (rows, total) = queries::more_replies(
        &mut conn,
        id,
        after,
        pagination.per_page + 1,
        pagination.offset(),
    )
    .await?;
    let base = crate::http::base_url(&req);
    let avatar = |email: &str| state.avatar_key.url(&base, email);
    let keys = [
        crate::changes::Key::Comments(article.id),
        crate::changes::Key::Article(article.id),
    ];
    list_response(
        &req,
        &pagination,
        &sort,
        &keys,
        Loaded::exact(rows, total),
        |r| r.comment.id,
        |r| PublicComment::new(&r.comment, &avatar),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_bodies_are_a_safe_subset() {
        let html = render_body(
            "Hi *there* [me](https://me.example)\n\n# Big\n\n<script>alert(1)</script> ![x](https://x.test/a.png)",
        );
        assert!(html.contains("<em>there</em>"), "{html}");
        assert!(html.contains("rel=\"nofollow ugc noopener\""), "{html}");
        assert!(
            !html.contains("<h1") && !html.contains("<img") && !html.contains("<script"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;"),
            "raw HTML shows as text: {html}"
        );
        assert!(!render_body("[x](javascript:alert(1))").contains("javascript"));
    }
}
