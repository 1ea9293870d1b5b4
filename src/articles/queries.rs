//! Article queries: one article by id, slug, old slug or external id (locked for a write),
//! its neighbours, what it is written with (tags, figures, revisions, old slugs). Lists are
//! in `list`, what a page embeds in `embeds`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

pub use super::embeds::Embeds;
pub use super::list::{SORTS, by_ids, count, count_public, list};
use super::model::{Article, ArticleLink, ArticleRow, Kind, Revision, RevisionSummary};
use crate::db::schema::{
    article_images, article_old_slugs, article_revisions, article_tags, articles,
};
use crate::error::{ApiError, OnConstraint};
use crate::http::pagination::{KeyKind, Pagination, Sort, SortOption};
use crate::http::slugged::Slugged;
pub use crate::listing::{Filters, MARK_END, MARK_START, Reader};

/// An article by id or current slug, whoever may see it (visibility is the caller's).
pub async fn find(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Article>> {
    articles::table
        .filter(Slugged::Articles.by_key(key))
        .select(Article::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locked until the end of the transaction (a write checks and changes it).
pub async fn lock(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Article>> {
    articles::table
        .filter(Slugged::Articles.by_key(key))
        .select(Article::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Holds `external_id` for this transaction, whether an article has it yet or not.
pub async fn lock_external_id(conn: &mut AsyncPgConnection, external_id: &str) -> QueryResult<()> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('article-external-id:' || $1, 0))",
    )
    .bind::<diesel::sql_types::Text, _>(external_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The token that saved the article's latest revision (`None`: none did).
pub async fn last_saved_by(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Uuid>> {
    use crate::db::schema::article_revisions as revisions;
    Ok(revisions::table
        .filter(revisions::article_id.eq(id))
        .order(revisions::version.desc())
        .select(revisions::saved_by)
        .first::<Option<Uuid>>(conn)
        .await
        .optional()?
        .flatten())
}

/// The article with this `external_id`, locked until the end of the transaction.
pub async fn lock_by_external_id(
    conn: &mut AsyncPgConnection,
    external_id: &str,
) -> QueryResult<Option<Article>> {
    articles::table
        .filter(articles::external_id.eq(external_id))
        .select(Article::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The article that used to have this slug.
pub async fn by_old_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<Article>> {
    article_old_slugs::table
        .inner_join(articles::table)
        .filter(article_old_slugs::slug.eq(slug))
        .select(Article::as_select())
        .first(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct Neighbour {
    #[diesel(sql_type = Text)]
    side: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Timestamptz)]
    published_at: DateTime<Utc>,
}

/// The public articles of `article`'s kind published just before and just after it (by
/// `published_at`, then id; a draft stands at now), within the tag `tag_id` when given.
/// Two index range reads.
async fn neighbours(
    conn: &mut AsyncPgConnection,
    article: &Article,
    tag_id: Option<Uuid>,
) -> QueryResult<Vec<Neighbour>> {
    let within_tag = if tag_id.is_some() {
        " AND EXISTS (SELECT 1 FROM article_tags WHERE article_tags.article_id = articles.id \
         AND article_tags.tag_id = $4)"
    } else {
        " AND $4::uuid IS NULL"
    };
    let side = |name: &str, op: &str, direction: &str| {
        format!(
            "(SELECT '{name}' AS side, id, slug, title, published_at FROM articles \
             WHERE status = 'published' AND published_at <= now() AND kind = $1 \
             AND (published_at, id) {op} ($2, $3){within_tag} \
             ORDER BY published_at {direction}, id {direction} LIMIT 1)"
        )
    };
    let sql = format!(
        "{} UNION ALL {}",
        side("previous", "<", "DESC"),
        side("next", ">", "ASC")
    );
    let pivot = article.published_at.unwrap_or_else(Utc::now);
    diesel::sql_query(sql)
        .bind::<Text, _>(&article.kind)
        .bind::<Timestamptz, _>(pivot)
        .bind::<diesel::sql_types::Uuid, _>(article.id)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(tag_id)
        .load(conn)
        .await
}

/// `article`'s previous and next public articles (see `neighbours`) as links on the site.
pub async fn adjacent(
    conn: &mut AsyncPgConnection,
    article: &Article,
    tag_id: Option<Uuid>,
    site: &crate::site::Site,
) -> QueryResult<(Option<ArticleLink>, Option<ArticleLink>)> {
    let page = Kind::of(article) == Kind::Page;
    let mut found = (None, None);
    for row in neighbours(conn, article, tag_id).await? {
        let link = ArticleLink {
            canonical_url: site.article_url(
                page,
                &row.slug,
                Some(row.published_at),
                row.published_at,
            ),
            id: row.id,
            slug: row.slug,
            title: row.title,
            published_at: row.published_at.into(),
        };
        match row.side.as_str() {
            "previous" => found.0 = Some(link),
            _ => found.1 = Some(link),
        }
    }
    Ok(found)
}

/// The ids of the public articles whose previous or next link is `article` (it being
/// public): those whose answers show it.
pub async fn linking_to(conn: &mut AsyncPgConnection, article: &Article) -> QueryResult<Vec<Uuid>> {
    if !article.is_public {
        return Ok(Vec::new());
    }
    Ok(neighbours(conn, article, None)
        .await?
        .into_iter()
        .map(|n| n.id)
        .collect())
}

/// Tag ids for ids, slugs or names, in the given order. A name finds the tag of that name
/// (its slug made from it, the name matching but for case), or the tag a former slug leads
/// to (renamed, or merged into another); a tag not found is created when
/// `create` (with the name given, on a free slug), else returned as the second value. An id
/// finds its tag or nothing.
pub async fn resolve_tags(
    conn: &mut AsyncPgConnection,
    keys: &[String],
    create_as: Option<&crate::principal::Actor>,
) -> Result<(Vec<Uuid>, Vec<String>), ApiError> {
    use crate::tags::queries as tags;
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for key in keys {
        let is_slug = crate::http::validate::is_valid_slug(key);
        let found = match tags::find(conn, key).await? {
            Some(tag) => Some(tag),
            None if is_slug || Uuid::parse_str(key).is_ok() => None,
            None => tags::find(conn, &crate::http::validate::slugify(key, ""))
                .await?
                .filter(|tag| tag.name.to_lowercase() == key.to_lowercase()),
        };
        let found = match found {
            Some(tag) => Some(tag),
            // A tag renamed or merged away: the one its slug leads to now.
            None if Uuid::parse_str(key).is_err() => {
                let slug = match is_slug {
                    true => key.clone(),
                    false => crate::http::validate::slugify(key, ""),
                };
                tags::by_old_slug(conn, &slug).await?
            }
            None => None,
        };
        let id = match found {
            Some(tag) => Some(tag.id),
            None if Uuid::parse_str(key).is_err()
                && let Some(by) = create_as =>
            {
                Some(make_tag(conn, by, key, is_slug).await?)
            }
            None => None,
        };
        match id {
            // Named twice (by slug and id, or repeated): once, in its first place.
            Some(id) if ids.contains(&id) => {}
            Some(id) => ids.push(id),
            None => unknown.push(key.clone()),
        }
    }
    Ok((ids, unknown))
}

/// A new tag for `key` (a slug: named from it; a name: kept), on the slug made from it, or
/// on a free one when a tag of another name holds that. Two writers making the same tag at
/// once: the second takes the first's.
async fn make_tag(
    conn: &mut AsyncPgConnection,
    by: &crate::principal::Actor,
    key: &str,
    is_slug: bool,
) -> Result<Uuid, ApiError> {
    use crate::tags::queries as tags;
    let name = if is_slug {
        key.replace('-', " ")
    } else {
        key.to_owned()
    };
    let insert = |slug: String| crate::tags::model::TagInsert {
        id: Uuid::now_v7(),
        slug,
        name: name.clone(),
        description: None,
    };
    let slug = crate::http::validate::slugify(key, "");
    match tags::insert(conn, by, &insert(slug.clone())).await {
        Ok(tag) => Ok(tag.id),
        Err(ApiError::Conflict { .. }) => match tags::find(conn, &slug).await? {
            Some(tag) if is_slug || tag.name.to_lowercase() == key.to_lowercase() => Ok(tag.id),
            _ => {
                let free = Slugged::Tags.free_slug(conn, key).await?;
                Ok(tags::insert(conn, by, &insert(free)).await?.id)
            }
        },
        Err(error) => Err(error),
    }
}

pub async fn set_tags(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    tag_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(article_id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = tag_ids
        .iter()
        .enumerate()
        .map(|(position, tag_id)| {
            (
                article_tags::article_id.eq(article_id),
                article_tags::tag_id.eq(*tag_id),
                article_tags::position.eq(position as i16),
            )
        })
        .collect();
    diesel::insert_into(article_tags::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn tag_ids(conn: &mut AsyncPgConnection, article_id: Uuid) -> QueryResult<Vec<Uuid>> {
    article_tags::table
        .filter(article_tags::article_id.eq(article_id))
        .order(article_tags::position)
        .select(article_tags::tag_id)
        .load(conn)
        .await
}

pub async fn set_figures(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    image_ids: &[Uuid],
) -> QueryResult<()> {
    diesel::delete(article_images::table.filter(article_images::article_id.eq(article_id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = image_ids
        .iter()
        .map(|id| {
            (
                article_images::article_id.eq(article_id),
                article_images::image_id.eq(*id),
            )
        })
        .collect();
    diesel::insert_into(article_images::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// The database's clock: the start of the current transaction (what `now()` says in it).
pub async fn now(conn: &mut AsyncPgConnection) -> QueryResult<DateTime<Utc>> {
    diesel::select(diesel::dsl::now.into_sql::<Timestamptz>())
        .get_result(conn)
        .await
}

/// Inserts a new article's row, or replaces an existing one's (a taken slug is a 409).
pub async fn write(
    conn: &mut AsyncPgConnection,
    row: &ArticleRow,
    exists: bool,
) -> Result<Article, ApiError> {
    let slug_taken = [
        ("articles_slug_key", "slug"),
        ("articles_external_id_key", "external_id"),
    ];
    if exists {
        diesel::update(articles::table.find(row.id))
            .set(row)
            .returning(Article::as_returning())
            .get_result(conn)
            .await
            .on_unique(&slug_taken)
    } else {
        diesel::insert_into(articles::table)
            .values(row)
            .returning(Article::as_returning())
            .get_result(conn)
            .await
            .on_unique(&slug_taken)
    }
}

/// The articles that show `image_id` as a figure in their body.
pub async fn with_figure(conn: &mut AsyncPgConnection, image_id: Uuid) -> QueryResult<Vec<Uuid>> {
    article_images::table
        .filter(article_images::image_id.eq(image_id))
        .select(article_images::article_id)
        .order(article_images::article_id)
        .load(conn)
        .await
}

/// Replaces what an article's body renders to (its text unchanged).
pub async fn set_body(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    html: &str,
    text: &str,
    excerpt: &str,
) -> QueryResult<usize> {
    diesel::update(articles::table.find(id))
        .set((
            articles::body_html.eq(html),
            articles::body_text.eq(text),
            articles::excerpt.eq(excerpt),
        ))
        .execute(conn)
        .await
}

/// Stores what is rendered from an article's source (`row`'s), leaving the rest as it is:
/// no new version.
pub async fn set_rendered(conn: &mut AsyncPgConnection, row: &ArticleRow) -> QueryResult<usize> {
    diesel::update(articles::table.find(row.id))
        .set((
            articles::body_html.eq(&row.body_html),
            articles::body_text.eq(&row.body_text),
            articles::excerpt.eq(&row.excerpt),
            articles::toc.eq(&row.toc),
            articles::word_count.eq(row.word_count),
            articles::reading_time_minutes.eq(row.reading_time_minutes),
        ))
        .execute(conn)
        .await
}

pub async fn remember_old_slug(
    conn: &mut AsyncPgConnection,
    slug: &str,
    article_id: Uuid,
) -> QueryResult<()> {
    diesel::insert_into(article_old_slugs::table)
        .values((
            article_old_slugs::slug.eq(slug),
            article_old_slugs::article_id.eq(article_id),
        ))
        .on_conflict(article_old_slugs::slug)
        .do_update()
        .set(article_old_slugs::article_id.eq(article_id))
        .execute(conn)
        .await?;
    Ok(())
}

/// A slug that is some other article's old slug is free again once reused by a new one.
pub async fn forget_old_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<()> {
    diesel::delete(article_old_slugs::table.filter(article_old_slugs::slug.eq(slug)))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn add_revision(conn: &mut AsyncPgConnection, revision: &Revision) -> QueryResult<()> {
    diesel::insert_into(article_revisions::table)
        .values(revision)
        .execute(conn)
        .await?;
    Ok(())
}

/// How an article's revisions may be listed: by version (unique within the article).
pub static REVISION_SORTS: [SortOption<RevisionSummary>; 1] = [SortOption {
    name: "version",
    column: "article_revisions.version",
    kind: KeyKind::Int,
    key: |row| row.version.to_string(),
}];

/// A page of an article's revisions, without their bodies.
pub async fn revisions(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    pagination: &Pagination,
    sort: &Sort<RevisionSummary>,
) -> Result<crate::http::pagination::Loaded<RevisionSummary>, ApiError> {
    use crate::db::schema::{api_tokens, users};
    let query = article_revisions::table
        .left_join(api_tokens::table.on(article_revisions::saved_by.eq(api_tokens::id.nullable())))
        .left_join(users::table.on(article_revisions::saved_by_user.eq(users::id.nullable())))
        .filter(article_revisions::article_id.eq(article_id))
        .select(RevisionSummary::as_select())
        .into_boxed();
    let rows = crate::http::pagination::page_of(query, pagination, sort)?
        .load(conn)
        .await?;
    let total = article_revisions::table
        .filter(article_revisions::article_id.eq(article_id))
        .count()
        .get_result(conn)
        .await?;
    Ok(crate::http::pagination::Loaded::exact(rows, total))
}

/// One revision, and the name of who saved it (the person's, else the token's).
pub async fn revision(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    version: i32,
) -> QueryResult<Option<(Revision, Option<String>)>> {
    use crate::db::schema::{api_tokens, users};
    article_revisions::table
        .left_join(api_tokens::table.on(article_revisions::saved_by.eq(api_tokens::id.nullable())))
        .left_join(users::table.on(article_revisions::saved_by_user.eq(users::id.nullable())))
        .filter(article_revisions::article_id.eq(article_id))
        .filter(article_revisions::version.eq(version))
        .select((
            Revision::as_select(),
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                "coalesce(users.name, api_tokens.name)",
            ),
        ))
        .first(conn)
        .await
        .optional()
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(articles::table.find(id)).execute(conn).await
}

/// Whose articles a reader may see beside the public ones: everyone's (staff), or one
/// author's (an author or contributor: their own drafts).
#[derive(Clone, Copy)]
pub enum Seen {
    All,
    PublicAnd(Option<Uuid>),
}

/// Whether the article `id` is public now, holding it (`FOR SHARE`) until the transaction
/// ends when it is: it stays public while what hangs on that is written.
pub async fn hold_if_public(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let held: Option<Uuid> = articles::table
        .find(id)
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            crate::articles::model::IS_PUBLIC,
        ))
        .select(articles::id)
        .for_share()
        .first(conn)
        .await
        .optional()?;
    Ok(held.is_some())
}

/// Titles and whether comments are open, of the articles `ids`: the desk's headings of
/// moderation and activity (for staff, who see every article).
pub async fn headings(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String, bool)>> {
    articles::table
        .filter(articles::id.eq_any(ids))
        .select((articles::id, articles::title, articles::comments_open))
        .load(conn)
        .await
}

/// Where images are used: `(image, article id, article title)` for each article that shows
/// one of `ids` as a figure or as its cover (at most `most` of each kind), among the
/// articles `seen` lets the reader see.
pub async fn using_images(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    most: i64,
    seen: Seen,
) -> QueryResult<Vec<(Uuid, Uuid, String)>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    let visible =
        || -> Box<dyn BoxableExpression<articles::table, diesel::pg::Pg, SqlType = Bool>> {
            match seen {
                Seen::All => Box::new(sql::<Bool>("true")),
                Seen::PublicAnd(Some(author)) => Box::new(
                    sql::<Bool>(super::model::IS_PUBLIC).or(articles::author_id.eq(author)),
                ),
                Seen::PublicAnd(None) => Box::new(sql::<Bool>(super::model::IS_PUBLIC)),
            }
        };
    let figures: Vec<(Uuid, Uuid)> = article_images::table
        .filter(article_images::image_id.eq_any(ids))
        .select((article_images::image_id, article_images::article_id))
        .limit(most)
        .load(conn)
        .await?;
    let covers: Vec<(Option<Uuid>, Uuid)> = articles::table
        .filter(articles::cover_image_id.eq_any(ids))
        .filter(visible())
        .select((articles::cover_image_id, articles::id))
        .limit(most)
        .load(conn)
        .await?;
    let mut pairs: Vec<(Uuid, Uuid)> = figures;
    for (image, article) in covers {
        if let Some(image) = image
            && !pairs.contains(&(image, article))
        {
            pairs.push((image, article));
        }
    }
    let articles_shown: Vec<Uuid> = pairs.iter().map(|(_, article)| *article).collect();
    let titles: Vec<(Uuid, String)> = articles::table
        .filter(articles::id.eq_any(&articles_shown))
        .filter(visible())
        .select((articles::id, articles::title))
        .order(articles::updated_at.desc())
        .load(conn)
        .await?;
    let mut uses = Vec::new();
    for (article, title) in titles {
        for (image, _) in pairs.iter().filter(|(_, a)| *a == article) {
            uses.push((*image, article, title.clone()));
        }
    }
    Ok(uses)
}
