//! What every resource addressed by id or slug shares (authors, tags, articles): finding a
//! row by either, and making a free slug from a name. The table is always a name written in
//! the code (`Slugged`), never text from a request.
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::http::validate::{first_free_slug, slugify};

/// A table whose rows have a unique `id` and a unique `slug`.
#[derive(Clone, Copy)]
pub enum Slugged {
    Authors,
    Tags,
    Articles,
}

impl Slugged {
    fn table(self) -> &'static str {
        match self {
            Slugged::Authors => "authors",
            Slugged::Tags => "tags",
            Slugged::Articles => "articles",
        }
    }

    /// What a slug is made of when a name has no letters or digits in it.
    fn fallback(self) -> &'static str {
        match self {
            Slugged::Authors => "author",
            Slugged::Tags => "tag",
            Slugged::Articles => "article",
        }
    }

    /// `id = key` when `key` is a UUID, else `slug = key`: one index lookup either way.
    pub fn by_key<QS: 'static>(
        self,
        key: &str,
    ) -> Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>> {
        let table = self.table();
        match Uuid::parse_str(key) {
            Ok(id) => Box::new(
                diesel::dsl::sql::<Bool>(&format!("{table}.id = "))
                    .bind::<diesel::sql_types::Uuid, _>(id),
            ),
            Err(_) => Box::new(
                diesel::dsl::sql::<Bool>(&format!("{table}.slug = "))
                    .bind::<Text, _>(key.to_owned()),
            ),
        }
    }

    /// A slug made from `name` that no row has yet (`-2`, `-3` appended when taken). Two
    /// writers may still pick the same one at once: the unique index answers the second 409.
    pub async fn free_slug(self, conn: &mut AsyncPgConnection, name: &str) -> QueryResult<String> {
        #[derive(QueryableByName)]
        struct Taken {
            #[diesel(sql_type = Text)]
            slug: String,
        }
        let base = slugify(name, self.fallback());
        let taken: Vec<Taken> = diesel::sql_query(format!(
            "SELECT slug FROM {} WHERE slug = $1 OR slug LIKE $1 || '-%'",
            self.table()
        ))
        .bind::<Text, _>(&base)
        .load(conn)
        .await?;
        let taken: Vec<String> = taken.into_iter().map(|t| t.slug).collect();
        Ok(first_free_slug(&base, &taken))
    }
}
