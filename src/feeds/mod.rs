//! `/feeds/...`: Atom 1.0 and JSON Feed 1.1 of the newest public articles, of the whole site,
//! a tag or an author. Entries carry the full sanitized body with absolute links, and point
//! readers at the front-end's site (`LEDE_SITE_URL`), not at the API. And the sitemap's
//! data.
pub mod sitemap;

use actix_web::{HttpRequest, HttpResponse, get, web};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesPI, BytesText, Event};
use serde_json::{Value, json};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::articles::model::ArticleResponse;
use crate::articles::queries::{Embeds, Filters, Reader};
use crate::articles::render::with_absolute_links;
use crate::changes::Key;
use crate::error::ApiError;
use crate::http::base_url;
use crate::http::pagination::Pagination;
use crate::http::response::tagged_typed;
use crate::state::AppState;

/// Entries in a feed: the newest public articles.
const ENTRIES: i64 = 50;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(feed_stylesheet)
        .service(site_atom)
        .service(site_json)
        .service(tag_atom)
        .service(tag_json)
        .service(author_atom)
        .service(author_json);
}

/// The sitemap's data, under `/api/v1`.
pub fn configure_api(cfg: &mut ServiceConfig) {
    cfg.service(sitemap::list_sitemap);
}

enum Format {
    Atom,
    Json,
}

/// Whose articles a feed holds.
enum Scope {
    Site,
    Tag(String),
    Author(String),
}

/// A feed's own name, home page on the site, and the filters of its articles.
struct Channel {
    /// Its Atom `<id>`: the tag's or author's own id, which no rename changes.
    id: String,
    title: String,
    home: String,
    /// Its path, without the format's extension, named by the tag's or author's own slug
    /// (however the request spelt it: an id, `%61`...), so every reader gets one answer.
    path: String,
    filters: Filters,
    /// What it shows, for the response cache's keys (CDNs purge by them too).
    key: Option<Key>,
}

async fn channel(
    conn: &mut diesel_async::AsyncPgConnection,
    state: &AppState,
    scope: Scope,
) -> Result<Channel, ApiError> {
    let site = &state.site;
    Ok(match scope {
        Scope::Site => Channel {
            id: format!("{}/", site.url()),
            title: site.name.clone(),
            home: format!("{}/", site.url()),
            path: "/feeds/articles".into(),
            filters: Filters::default(),
            key: None,
        },
        Scope::Tag(slug) => {
            let tag = crate::tags::queries::find(conn, &slug)
                .await?
                .ok_or_else(|| ApiError::not_found("tag", &slug))?;
            Channel {
                id: format!("urn:uuid:{}", tag.id),
                title: format!("{}: {}", site.name, tag.name),
                home: site.tag_url(&tag.slug),
                path: format!("/feeds/tags/{}", tag.slug),
                filters: Filters {
                    tags: vec![tag.id.to_string()],
                    ..Filters::default()
                },
                key: Some(Key::Tag(tag.id)),
            }
        }
        Scope::Author(slug) => {
            let author = crate::authors::queries::find(conn, &slug)
                .await?
                .ok_or_else(|| ApiError::not_found("author", &slug))?;
            Channel {
                id: format!("urn:uuid:{}", author.id),
                title: format!("{}: {}", site.name, author.name),
                home: site.author_url(&author.slug),
                path: format!("/feeds/authors/{}", author.slug),
                filters: Filters {
                    author: Some(author.id.to_string()),
                    ..Filters::default()
                },
                key: Some(Key::Author(author.id)),
            }
        }
    })
}

async fn feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    scope: Scope,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let mut conn = crate::http::auth::public_conn(&state).await?;
    let mut channel = channel(&mut conn, &state, scope).await?;
    channel.filters.include_body = true;
    let pagination = Pagination::parse_with("", ENTRIES, ENTRIES)?;
    let sort = pagination.sort(&crate::articles::queries::SORTS, "-published_at")?;
    let mut rows = crate::articles::queries::list(
        &mut conn,
        Reader::Public,
        &channel.filters,
        &pagination,
        &sort,
    )
    .await?;
    rows.truncate(ENTRIES as usize);
    let page: Vec<&crate::articles::model::Article> = rows.iter().map(|r| &r.article).collect();
    let urls = crate::http::media_urls(&req);
    let embeds = Embeds::load(&mut conn, &page, &urls, &state.site).await?;
    drop(conn);
    let articles: Vec<ArticleResponse> = rows
        .into_iter()
        .map(|row| crate::articles::view(row.article, &embeds, None, true))
        .collect();
    let extension = match format {
        Format::Atom => "atom",
        Format::Json => "json",
    };
    let self_url = format!("{}{}.{extension}", base_url(&req), channel.path);
    let stylesheet = format!("{}{STYLESHEET}", base_url(&req));
    let mut keys = vec![Key::Articles];
    keys.extend(channel.key);
    for article in &articles {
        keys.push(Key::Article(article.id));
        // Its `image` (JSON Feed) is the cover's crop: a moved focal point cuts another.
        let cover = article.cover_image.as_ref();
        keys.extend(cover.map(|image| Key::Image(image.id)));
    }
    // Making absolute links sanitizes every body again: CPU work, off the async workers.
    let site = state.site.clone();
    let (body, content_type) = web::block(move || match format {
        Format::Atom => (
            atom(&channel, &articles, &self_url, &stylesheet, &site),
            "application/atom+xml; charset=utf-8",
        ),
        Format::Json => (
            json_feed(&channel, &articles, &self_url, &site),
            "application/feed+json; charset=utf-8",
        ),
    })
    .await?;
    let response = tagged_typed(&req, body?, content_type);
    Ok(crate::http::cache::showing(response, keys))
}

fn body_of(article: &ArticleResponse) -> String {
    with_absolute_links(
        article.body_html.as_deref().unwrap_or_default(),
        &article.seo.canonical_url,
    )
}

/// Where the feeds' stylesheet is served.
const STYLESHEET: &str = "/feeds/feed.css";

/// The feeds' stylesheet
///
/// What a browser opening an Atom feed shows it with (its `xml-stylesheet` instruction
/// names this): the feed's title and each entry's title, author, date and summary. Feed
/// readers ignore it.
#[utoipa::path(
    tag = "feeds", operation_id = "feed_stylesheet",
    responses((status = 200, description = "CSS for the Atom feeds", content_type = "text/css", body = String)),
    security(())
)]
#[get("/feeds/feed.css")]
async fn feed_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            "public, max-age=86400",
        ))
        .body(include_str!("feed.css"))
}

fn atom(
    channel: &Channel,
    articles: &[ArticleResponse],
    self_url: &str,
    stylesheet: &str,
    site: &crate::site::Site,
) -> Result<Vec<u8>, ApiError> {
    let failed = |e: std::io::Error| ApiError::Internal(format!("writing the feed: {e}"));
    let mut writer = Writer::new(Vec::new());
    writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))
        .map_err(failed)?;
    // A browser shows the feed as a page; the address is the API's own, quoted as XML.
    let instruction = format!(
        r#"xml-stylesheet type="text/css" href="{}""#,
        quick_xml::escape::escape(stylesheet)
    );
    writer
        .write_event(Event::PI(BytesPI::new(instruction)))
        .map_err(failed)?;
    let updated = articles
        .iter()
        .map(|a| a.updated_at.to_string())
        .max()
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    writer
        .create_element("feed")
        .with_attribute(("xmlns", "http://www.w3.org/2005/Atom"))
        .write_inner_content(|w| {
            text(w, "id", &channel.id)?;
            text(w, "title", &channel.title)?;
            text(w, "updated", &updated)?;
            link(w, "self", "application/atom+xml", self_url)?;
            link(w, "alternate", "text/html", &channel.home)?;
            text(w, "generator", "lede")?;
            if let Some(logo) = &site.logo {
                text(w, "logo", logo)?;
            }
            for article in articles {
                w.create_element("entry").write_inner_content(|w| {
                    text(w, "id", &format!("urn:uuid:{}", article.id))?;
                    text(w, "title", &article.title)?;
                    link(w, "alternate", "text/html", &article.seo.canonical_url)?;
                    if let Some(published) = &article.published_at {
                        text(w, "published", &published.to_string())?;
                    }
                    text(w, "updated", &article.updated_at.to_string())?;
                    w.create_element("author").write_inner_content(|w| {
                        text(w, "name", &article.author.name)?;
                        text(w, "uri", &site.author_url(&article.author.slug))?;
                        Ok(())
                    })?;
                    for tag in &article.tags {
                        w.create_element("category")
                            .with_attribute(("term", tag.slug.as_str()))
                            .with_attribute(("label", xml_safe(&tag.name).as_ref()))
                            .write_empty()?;
                    }
                    w.create_element("summary")
                        .with_attribute(("type", "text"))
                        .write_text_content(BytesText::new(&xml_safe(&article.seo.description)))?;
                    w.create_element("content")
                        .with_attribute(("type", "html"))
                        .write_text_content(BytesText::new(&xml_safe(&body_of(article))))?;
                    Ok(())
                })?;
            }
            Ok(())
        })
        .map_err(failed)?;
    Ok(writer.into_inner())
}

fn text<W: std::io::Write>(w: &mut Writer<W>, name: &str, value: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_safe(value)))?;
    Ok(())
}

/// `text` without the characters XML 1.0 cannot hold even escaped (control characters but
/// tab and newlines, U+FFFE, U+FFFF): one of them in one body would make the whole feed
/// unreadable to a strict reader. Markdown and HTML keep them; only the feed drops them.
fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let forbidden = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if text.contains(forbidden) {
        text.replace(forbidden, "").into()
    } else {
        text.into()
    }
}

fn link<W: std::io::Write>(
    w: &mut Writer<W>,
    rel: &str,
    kind: &str,
    href: &str,
) -> std::io::Result<()> {
    w.create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("type", kind))
        .with_attribute(("href", href))
        .write_empty()?;
    Ok(())
}

fn json_feed(
    channel: &Channel,
    articles: &[ArticleResponse],
    self_url: &str,
    site: &crate::site::Site,
) -> Result<Vec<u8>, ApiError> {
    let items: Vec<Value> = articles
        .iter()
        .map(|article| {
            let mut item = json!({
                "id": article.id,
                "url": article.seo.canonical_url,
                "title": article.title,
                "content_html": body_of(article),
                "summary": article.seo.description,
                "date_published": article.published_at,
                "date_modified": article.updated_at,
                "authors": [{"name": article.author.name, "url": site.author_url(&article.author.slug)}],
                "tags": article.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            });
            if let Some(image) = &article.seo.og_image {
                item["image"] = json!(image.url);
            }
            item
        })
        .collect();
    let mut feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": channel.title,
        "home_page_url": channel.home,
        "feed_url": self_url,
        "items": items,
    });
    if let Some(logo) = &site.logo {
        feed["icon"] = json!(logo);
    }
    crate::http::response::to_json(&feed)
}

/// The site's Atom feed
///
/// The newest 50 public articles (pages are not in feeds), each with its full body
/// (sanitized, absolute links) and its address on the site. Atom 1.0.
#[utoipa::path(
    tag = "feeds", operation_id = "site_atom_feed",
    params(("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The feed", content_type = "application/atom+xml", body = String,
        headers(("ETag" = String, description = "Strong ETag of the feed"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security(())
)]
#[get("/feeds/articles.atom")]
async fn site_atom(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    feed(req, state, Scope::Site, Format::Atom).await
}

/// The site's JSON Feed
///
/// The newest 50 public articles, as JSON Feed 1.1.
#[utoipa::path(
    tag = "feeds", operation_id = "site_json_feed",
    params(("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The feed", content_type = "application/feed+json", body = Object,
        headers(("ETag" = String, description = "Strong ETag of the feed"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security(())
)]
#[get("/feeds/articles.json")]
async fn site_json(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    feed(req, state, Scope::Site, Format::Json).await
}

/// A tag's Atom feed
///
/// The newest 50 public articles with this tag (by slug or id). Atom 1.0.
#[utoipa::path(
    tag = "feeds", operation_id = "tag_atom_feed",
    params(("slug" = String, Path, description = "The tag's slug or id", example = "cities"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The feed", content_type = "application/atom+xml", body = String,
        headers(("ETag" = String, description = "Strong ETag of the feed"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security(())
)]
#[get("/feeds/tags/{slug}.atom")]
async fn tag_atom(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    feed(req, state, Scope::Tag(slug.into_inner()), Format::Atom).await
}

/// A tag's JSON Feed
///
/// The newest 50 public articles with this tag, as JSON Feed 1.1.
#[utoipa::path(
    tag = "feeds", operation_id = "tag_json_feed",
    params(("slug" = String, Path, description = "The tag's slug or id", example = "cities"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The feed", content_type = "application/feed+json", body = Object,
        headers(("ETag" = String, description = "Strong ETag of the feed"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security(())
)]
#[get("/feeds/tags/{slug}.json")]
async fn tag_json(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    feed(req, state, Scope::Tag(slug.into_inner()), Format::Json).await
}

/// An author's Atom feed
///
/// The newest 50 public articles by this author (by slug or id). Atom 1.0.
#[utoipa::path(
    tag = "feeds", operation_id = "author_atom_feed",
    params(("slug" = String, Path, description = "The author's slug or id", example = "ines-marchetti"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The feed", content_type = "application/atom+xml", body = String,
        headers(("ETag" = String, description = "Strong ETag of the feed"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security(())
)]
#[get("/feeds/authors/{slug}.atom")]
async fn author_atom(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    feed(req, state, Scope::Author(slug.into_inner()), Format::Atom).await
}

/// An author's JSON Feed
///
/// The newest 50 public articles by this author, as JSON Feed 1.1.
#[utoipa::path(
    tag = "feeds", operation_id = "author_json_feed",
    params(("slug" = String, Path, description = "The author's slug or id", example = "ines-marchetti"),
           ("If-None-Match" = Option<String>, Header, description = "ETag of a copy the client has")),
    responses((status = 200, description = "The feed", content_type = "application/feed+json", body = Object,
        headers(("ETag" = String, description = "Strong ETag of the feed"))),
        (status = 304, description = "Not modified (If-None-Match matched)")),
    security(())
)]
#[get("/feeds/authors/{slug}.json")]
async fn author_json(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    feed(req, state, Scope::Author(slug.into_inner()), Format::Json).await
}
