//! An article's editor: the fields, the body with a live preview by lede's own renderer,
//! the SEO overrides, and the actions the person's role allows, each one API write (a
//! merge patch guarded by the version the page was opened at). Saving over a newer version
//! shows the other change beside one's own, to keep, take or merge.
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api::{Api, Refusal, encode};
use super::choices::{self, Choice};
use super::page::{
    CsrfOnly, DeskError, Frame, Person, Posted, capitalised, html_status, optional, see_other,
    short_time,
};
use super::revisions::{DiffLine, bounded_diff};
use crate::error::ApiError;
use crate::state::AppState;

/// The editor's form, as sent and as shown.
#[derive(Deserialize, Default, Clone)]
pub struct Fields {
    #[serde(default)]
    pub csrf: String,
    /// The version (`ETag`) the page was opened at.
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub subtitle: String,
    #[serde(default)]
    pub excerpt: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub cover_image: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub meta_title: String,
    #[serde(default)]
    pub meta_description: String,
    /// `YYYY-MM-DDTHH:MM` in the site's time zone, for `Schedule`.
    #[serde(default)]
    pub publish_at: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub action: String,
    /// A new article's form: one key per form, so a double press makes one draft.
    #[serde(default)]
    pub idempotency_key: String,
}

impl Fields {
    fn of_article(article: &Value, version: String, zone: chrono_tz::Tz) -> Fields {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        Fields {
            version,
            title: text(&article["title"]),
            subtitle: text(&article["subtitle"]),
            excerpt: text(&article["excerpt"]),
            tags: super::tag_field::shown(&article["tags"]),
            author: text(&article["author"]["id"]),
            cover_image: text(&article["cover_image"]["id"]),
            body: text(&article["body_markdown"]),
            meta_title: text(&article["meta_title"]),
            meta_description: text(&article["meta_description"]),
            publish_at: article["published_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default(),
            ..Fields::default()
        }
    }

    /// The merge patch the form stands for (the fields a page shows; empty optional text
    /// is none).
    fn changes(&self, person: &Person) -> Map<String, Value> {
        let mut changes = Map::new();
        changes.insert("title".into(), json!(self.title.trim()));
        changes.insert("subtitle".into(), optional(&self.subtitle));
        changes.insert("excerpt".into(), optional(&self.excerpt));
        changes.insert("body_markdown".into(), json!(lines(&self.body)));
        let tags = super::tag_field::names(&self.tags);
        changes.insert("tags".into(), json!(tags));
        if person.is_staff() && !self.author.trim().is_empty() {
            changes.insert("author".into(), json!(self.author.trim()));
        }
        changes.insert("cover_image".into(), optional(&self.cover_image));
        changes.insert("meta_title".into(), optional(&self.meta_title));
        changes.insert("meta_description".into(), optional(&self.meta_description));
        changes
    }
}

/// The actions, by the button's value: the status each asks for, and what the page says
/// after it.
fn action(name: &str) -> Option<(Option<&'static str>, &'static str)> {
    Some(match name {
        "save" | "" => (None, "saved"),
        "submit" => (Some("in_review"), "submitted"),
        "publish" => (Some("published"), "published"),
        "schedule" => (Some("scheduled"), "scheduled"),
        "return" => (Some("draft"), "returned"),
        "unpublish" => (Some("draft"), "unpublished"),
        _ => return None,
    })
}

fn flash(done: &str) -> Option<String> {
    Some(
        match done {
            "created" => "Draft created.",
            "saved" => "Saved.",
            "submitted" => "Submitted for review.",
            "published" => "Published.",
            "scheduled" => "Scheduled.",
            "returned" => "Returned to the writer with your note.",
            "unpublished" => "Unpublished: it is a draft again.",
            "restored" => "Restored: the older revision is the newest one now.",
            _ => return None,
        }
        .to_owned(),
    )
}

pub struct Note {
    pub by: String,
    pub at: String,
    pub body: String,
}

pub struct Removed {
    pub line: u64,
    pub html: String,
    pub reason: String,
}

/// Another save came first: what it holds where it differs from this one.
pub struct Conflict {
    pub by: String,
    pub fields: Vec<(String, String)>,
    pub body: Vec<DiffLine>,
}

#[derive(Template)]
#[template(path = "editor.html")]
pub struct EditorPage {
    frame: Frame,
    id: String,
    status: String,
    fields: Fields,
    authors: Vec<Choice>,
    tag_names: Vec<String>,
    cover_url: String,
    preview: String,
    removed: Vec<Removed>,
    notes: Vec<Note>,
    error: Option<String>,
    errors: Vec<(String, String)>,
    conflict: Option<Conflict>,
    can_submit: bool,
    can_publish: bool,
    can_return: bool,
    can_unpublish: bool,
    staff: bool,
    public_url: String,
    site_name: String,
    /// The site's time zone's name, where `Schedule` takes its time.
    zone: String,
    /// When it is (or was) published, in the site's time zone and in UTC.
    published_line: String,
}

impl EditorPage {
    /// The error of `field` (or of one of its items, `tags[2]`), if the API named one.
    fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| {
                f == field
                    || f.strip_prefix(field)
                        .is_some_and(|rest| rest.starts_with('['))
            })
            .map(|(_, message)| message.as_str())
    }
}

#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

pub async fn page(
    req: HttpRequest,
    person: Person,
    id: web::Path<String>,
    done: web::Query<Done>,
) -> Result<HttpResponse, DeskError> {
    let api = Api::new(&req, None);
    let (article, version) = api
        .get_versioned(&format!("/api/v1/articles/{}", encode(&id)))
        .await?;
    let fields = Fields::of_article(&article, version, site_zone(&req));
    let page = editor_page(&req, &api, &person, &article, fields).await?;
    let page = EditorPage {
        frame: page.frame.with_flash(flash(&done.done)),
        ..page
    };
    html_status(&page, StatusCode::OK)
}

pub async fn new_page(req: HttpRequest, person: Person) -> Result<HttpResponse, DeskError> {
    let api = Api::new(&req, None);
    let article = json!({"status": "draft"});
    let fields = Fields {
        author: person
            .author_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        ..Fields::default()
    };
    let page = editor_page(&req, &api, &person, &article, fields).await?;
    html_status(&page, StatusCode::OK)
}

/// The editor for `article` (as the API has it), showing `fields` (as the person has them).
async fn editor_page(
    req: &HttpRequest,
    api: &Api<'_>,
    person: &Person,
    article: &Value,
    fields: Fields,
) -> Result<EditorPage, DeskError> {
    let id = article["id"].as_str().unwrap_or_default().to_owned();
    let status = article["status"].as_str().unwrap_or("draft").to_owned();
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("no app state".into()))?;
    let authors = if person.is_staff() {
        choices::authors(state, &fields.author).await?
    } else {
        Vec::new()
    };
    // Offered as the field writes them (a name with a comma, quoted).
    let tag_names = choices::tag_names(state)
        .await?
        .iter()
        .map(|name| super::tag_field::quoted(name))
        .collect();
    // Notes are the article's writers' and the editors': anyone else reads none.
    let notes = match id.is_empty() {
        true => Value::Null,
        false => api
            .send(
                Method::GET,
                &format!("/api/v1/articles/{id}/notes?per_page=50"),
                None,
                None,
            )
            .await?
            .map_or(Value::Null, |notes| notes.body),
    };
    let notes = {
        notes["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| Note {
                by: n["by"]["name"].as_str().unwrap_or_default().to_owned(),
                at: short_time(n["created_at"].as_str().unwrap_or_default()),
                body: n["body"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    };
    let removed = article["removed"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| Removed {
            line: r["line"].as_u64().unwrap_or_default(),
            html: r["html"].as_str().unwrap_or_default().to_owned(),
            reason: r["reason"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    // The article embeds its cover; a form's other choice is looked up.
    let cover_url = if article["cover_image"]["id"].as_str() == Some(fields.cover_image.as_str()) {
        super::media::thumbnail(&article["cover_image"])
    } else {
        cover_url(api, &fields.cover_image).await
    };
    let public = matches!(status.as_str(), "published" | "scheduled");
    let in_review = status == "in_review";
    Ok(EditorPage {
        frame: Frame::new(
            if id.is_empty() {
                "New article".to_owned()
            } else {
                format!("Edit: {}", fields.title)
            },
            person,
            "articles",
        ),
        can_submit: !person.is_staff() && matches!(status.as_str(), "draft" | "in_review"),
        can_publish: person.publishes() && (!public || status == "scheduled"),
        can_return: person.is_staff() && in_review,
        can_unpublish: person.publishes() && public,
        staff: person.is_staff(),
        preview: preview_document(
            &crate::http::media_urls(req).complete(article["body_html"].as_str().unwrap_or("")),
        ),
        public_url: article["seo"]["canonical_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        site_name: state.site.name.clone(),
        zone: state.site.time_zone.name().to_owned(),
        published_line: article["published_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| {
                format!(
                    "{} {} ({} UTC)",
                    if status == "scheduled" {
                        "Publishes"
                    } else {
                        "Published"
                    },
                    t.with_timezone(&state.site.time_zone)
                        .format("%Y-%m-%d %H:%M %Z"),
                    t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M"),
                )
            })
            .unwrap_or_default(),
        id,
        status,
        fields,
        authors,
        tag_names,
        cover_url,
        removed,
        notes,
        error: None,
        errors: Vec::new(),
        conflict: None,
    })
}

/// A small picture of the cover, when there is one.
async fn cover_url(api: &Api<'_>, cover: &str) -> String {
    if cover.is_empty() {
        return String::new();
    }
    match api.get(&format!("/api/v1/images/{}", encode(cover))).await {
        Ok(image) => super::media::thumbnail(&image),
        Err(_) => String::new(),
    }
}

/// The preview frame's document: the body's HTML as readers get it (already sanitised),
/// styled by the desk's stylesheet for articles. The frame is sandboxed: nothing in it runs.
pub fn preview_document(body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Preview</title>\
         <link rel=\"stylesheet\" href=\"/desk/assets/preview.css\"></head><body>{body_html}</body></html>"
    )
}

pub async fn create(req: HttpRequest, posted: Posted<Fields>) -> Result<HttpResponse, DeskError> {
    let mut api = posted.api(&req);
    let key = posted.form.idempotency_key.trim();
    if !key.is_empty() && key.len() <= 100 {
        api = api.with_header(crate::http::idempotency::IDEMPOTENCY_KEY, key);
    }
    let Posted {
        person,
        form: fields,
    } = posted;
    let Some((status, done)) = action(&fields.action) else {
        return Err(ApiError::BadRequest("unknown action".into()).into());
    };
    let mut body = fields.changes(&person);
    body.insert("status".into(), json!(status.unwrap_or("draft")));
    let answer = match add_status_fields(&mut body, status, &fields, site_zone(&req)) {
        Ok(()) => {
            api.send(
                Method::POST,
                "/api/v1/articles",
                Some(&Value::Object(body)),
                None,
            )
            .await?
        }
        Err(refusal) => Err(refusal),
    };
    match answer {
        Ok(created) => {
            let id = created.body["id"].as_str().unwrap_or_default();
            let done = if status.is_none() { "created" } else { done };
            Ok(see_other(&format!("/desk/articles/{id}?done={done}")))
        }
        // The form was sent before and made its draft; sent again changed, it is refused.
        Err(refusal)
            if refusal
                .field_errors()
                .iter()
                .any(|(field, _)| field.eq_ignore_ascii_case("idempotency-key")) =>
        {
            Err(ApiError::Conflict {
                detail: "This form already made its draft: find it under Drafts on the start \
                         page, and make changes there."
                    .into(),
                errors: Vec::new(),
            }
            .into())
        }
        Err(refusal) => {
            let article = json!({"status": "draft"});
            // The next press is another request: a key of its own.
            let fields = Fields {
                idempotency_key: uuid::Uuid::new_v4().to_string(),
                ..fields
            };
            let page = editor_page(&req, &api, &person, &article, fields).await?;
            refused(page, refusal)
        }
    }
}

/// Whether `text` is a version a page was given (an ETag: `"..."`), never `*` or empty.
pub fn is_version(text: &str) -> bool {
    let text = text.trim();
    text.len() >= 2
        && text.len() <= 200
        && text.starts_with('"')
        && text.ends_with('"')
        && text.chars().all(|c| c.is_ascii_graphic())
}

/// The site's time zone, where the desk schedules.
fn site_zone(req: &HttpRequest) -> chrono_tz::Tz {
    req.app_data::<web::Data<AppState>>()
        .map_or(chrono_tz::UTC, |state| state.site.time_zone)
}

/// A time typed in the site's time zone, as an instant. A time the clocks skip (the spring
/// change) is refused; one they pass twice (the autumn change) is the first.
fn scheduled_instant(
    typed: &str,
    zone: chrono_tz::Tz,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::TimeZone;
    let naive = chrono::NaiveDateTime::parse_from_str(typed.trim(), "%Y-%m-%dT%H:%M")
        .map_err(|_| format!("choose when to publish: a date and a time ({zone})"))?;
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(at) | chrono::LocalResult::Ambiguous(at, _) => {
            Ok(at.with_timezone(&chrono::Utc))
        }
        chrono::LocalResult::None => Err(format!(
            "{} does not exist in {zone} (the clocks skip it): choose another time",
            typed.trim().replace('T', " ")
        )),
    }
}

/// `published_at` and `note`, where the action takes them.
fn add_status_fields(
    body: &mut Map<String, Value>,
    status: Option<&str>,
    fields: &Fields,
    zone: chrono_tz::Tz,
) -> Result<(), Refusal> {
    if status == Some("scheduled") {
        let at = scheduled_instant(&fields.publish_at, zone).map_err(|message| Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            problem: json!({
                "detail": message,
                "errors": [{"field": "published_at", "message": message}],
            }),
            etag: None,
        })?;
        body.insert("published_at".into(), json!(at.to_rfc3339()));
    }
    if matches!(status, Some("in_review" | "draft")) && !fields.note.trim().is_empty() {
        body.insert("note".into(), json!(fields.note.trim()));
    }
    Ok(())
}

pub async fn save(
    req: HttpRequest,
    id: web::Path<String>,
    posted: Posted<Fields>,
) -> Result<HttpResponse, DeskError> {
    let api = posted.api(&req);
    let Posted {
        person,
        form: fields,
    } = posted;
    if !is_version(&fields.version) {
        return Err(ApiError::BadRequest(
            "this form has no version of the article: open the article again".into(),
        )
        .into());
    }
    let autosave = fields.action == "autosave";
    let Some((status, done)) = action(if autosave { "save" } else { &fields.action }) else {
        return Err(ApiError::BadRequest("unknown action".into()).into());
    };
    let path = format!("/api/v1/articles/{}", encode(&id));
    let mut body = fields.changes(&person);
    if let Some(status) = status {
        body.insert("status".into(), json!(status));
    }
    let answer = match add_status_fields(&mut body, status, &fields, site_zone(&req)) {
        Ok(()) => {
            api.send(
                Method::PATCH,
                &path,
                Some(&Value::Object(body)),
                Some(&fields.version)
                    .filter(|v| !v.is_empty())
                    .map(String::as_str),
            )
            .await?
        }
        Err(refusal) => Err(refusal),
    };
    if autosave {
        // The page's script keeps the new version, or shows that another save came first.
        return Ok(match answer {
            Ok(saved) => HttpResponse::Ok().json(json!({
                "version": saved.etag,
                "saved_at": chrono::Utc::now().format("%H:%M:%S UTC").to_string(),
            })),
            Err(refusal) => HttpResponse::Ok().json(json!({
                "refused": refusal.status.as_u16(),
                "detail": refusal.detail(),
            })),
        });
    }
    match answer {
        Ok(_) => Ok(see_other(&format!(
            "/desk/articles/{}?done={done}",
            encode(&id)
        ))),
        Err(refusal) if refusal.status == StatusCode::PRECONDITION_FAILED => {
            conflict(&req, &api, &person, &path, fields).await
        }
        Err(refusal) => {
            let (article, _) = api.get_versioned(&path).await?;
            let page = editor_page(&req, &api, &person, &article, fields).await?;
            refused(page, refusal)
        }
    }
}

/// The editor again with the person's fields and what the API said of them.
fn refused(page: EditorPage, refusal: Refusal) -> Result<HttpResponse, DeskError> {
    let errors = refusal.field_errors();
    let page = EditorPage {
        error: Some(if errors.is_empty() {
            capitalised(&refusal.detail())
        } else {
            "Nothing was saved:".to_owned()
        }),
        errors,
        ..page
    };
    html_status(&page, refusal.status)
}

/// Another save came first: the editor keeps this person's fields, now at the other
/// save's version (so `Keep mine` saves over it knowingly), and shows what it changed.
async fn conflict(
    req: &HttpRequest,
    api: &Api<'_>,
    person: &Person,
    path: &str,
    mine: Fields,
) -> Result<HttpResponse, DeskError> {
    let (article, version) = api.get_versioned(path).await?;
    let theirs = Fields::of_article(&article, version.clone(), site_zone(req));
    let author_name = article["author"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let cover = if theirs.cover_image.is_empty() {
        "(none)".to_owned()
    } else {
        format!("the image {}", theirs.cover_image)
    };
    let mut differs = Vec::new();
    // (what, mine, theirs, theirs as shown)
    for (label, a, b, shown) in [
        ("Title", &mine.title, &theirs.title, &theirs.title),
        (
            "Subtitle",
            &mine.subtitle,
            &theirs.subtitle,
            &theirs.subtitle,
        ),
        ("Excerpt", &mine.excerpt, &theirs.excerpt, &theirs.excerpt),
        ("Tags", &mine.tags, &theirs.tags, &theirs.tags),
        ("Author", &mine.author, &theirs.author, &author_name),
        ("Cover", &mine.cover_image, &theirs.cover_image, &cover),
        (
            "Meta title",
            &mine.meta_title,
            &theirs.meta_title,
            &theirs.meta_title,
        ),
        (
            "Meta description",
            &mine.meta_description,
            &theirs.meta_description,
            &theirs.meta_description,
        ),
    ] {
        // An author or contributor's form has no author: theirs is not a change of mine.
        if label == "Author" && a.is_empty() {
            continue;
        }
        let same = if label == "Tags" {
            super::tag_field::names(a) == super::tag_field::names(b)
        } else {
            a.trim() == b.trim()
        };
        if !same {
            differs.push((label.to_owned(), shown.clone()));
        }
    }
    if theirs.publish_at != mine.publish_at && article["status"] == "scheduled" {
        differs.push((
            "Publishes at".to_owned(),
            theirs.publish_at.replace('T', " "),
        ));
    }
    let body = if lines(&mine.body) == theirs.body {
        Vec::new()
    } else {
        bounded_diff(lines(&mine.body), theirs.body.clone()).await?
    };
    let by = api
        .get(&format!("{path}/revisions?per_page=1"))
        .await
        .ok()
        .and_then(|list| list["data"][0]["saved_by_name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "someone".to_owned());
    let fields = Fields { version, ..mine };
    let page = editor_page(req, api, person, &article, fields).await?;
    let page = EditorPage {
        error: Some(
            "Someone else saved this article after you opened it. Nothing of yours was lost: \
             your version is in the form below (your note too), theirs is shown above it. \
             Nothing was saved: press your button again to save yours over theirs."
                .to_owned(),
        ),
        conflict: Some(Conflict {
            by,
            fields: differs,
            body,
        }),
        ..page
    };
    html_status(&page, StatusCode::CONFLICT)
}

#[derive(Deserialize)]
pub struct Body {
    csrf: String,
    body: String,
}

/// Text from a form, its line ends as markdown is stored (a browser sends `\r\n`).
fn lines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// The live preview: the body rendered as a save would render it, nothing saved.
pub async fn render(
    req: HttpRequest,
    state: web::Data<AppState>,
    posted: Posted<Body>,
) -> Result<HttpResponse, DeskError> {
    let preview = crate::articles::write::preview(&state.pool, lines(&posted.form.body)).await?;
    let html = crate::http::media_urls(&req).complete(&preview.html);
    Ok(HttpResponse::Ok().json(json!({
        "document": preview_document(&html),
        "removed": preview.removed,
        "problems": preview.problems,
    })))
}

/// A signed preview link, for the page's script to show and copy.
pub async fn preview_link(
    req: HttpRequest,
    id: web::Path<String>,
    posted: Posted<CsrfOnly>,
) -> Result<HttpResponse, DeskError> {
    let api = posted.api(&req);
    let answer = api
        .send(
            Method::POST,
            &format!("/api/v1/articles/{}/preview-links", encode(&id)),
            Some(&json!({})),
            None,
        )
        .await?;
    Ok(match answer {
        Ok(link) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({"url": link.body["url"], "expires_at": link.body["expires_at"]})),
        Err(refusal) => HttpResponse::Ok().json(json!({
            "refused": refusal.status.as_u16(),
            "detail": refusal.detail(),
        })),
    })
}

super::page::csrf_field!(Body, Fields);
