//! First start of a database: the demo site (when enabled) and the first admin token.
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::tokens;
use crate::db::schema::{authors, lede_meta, tags};
use crate::http::auth::Role;

const INITIALIZED: &str = "initialized_at";

struct DemoAuthor {
    slug: &'static str,
    name: &'static str,
    email: &'static str,
    bio: &'static str,
    website: Option<&'static str>,
}

const AUTHORS: [DemoAuthor; 2] = [
    DemoAuthor {
        slug: "ines-marchetti",
        name: "Inès Marchetti",
        email: "ines@lede.example",
        bio: "Covers cities and the people who keep them running: tram drivers, \
              sewer engineers, night-shift bakers. Before that, ten years on the courts beat.",
        website: Some("https://lede.example/ines"),
    },
    DemoAuthor {
        slug: "tomasz-oyelaran",
        name: "Tomasz Oyelaran",
        email: "tomasz@lede.example",
        bio: "Science and weather desk. Happiest on a research boat, \
              least happy explaining rounding errors in climate models.",
        website: None,
    },
];

const TAGS: [(&str, &str, &str); 5] = [
    (
        "cities",
        "Cities",
        "Transport, housing and the small machinery of urban life.",
    ),
    (
        "climate",
        "Climate",
        "Weather, warming, and what towns do about both.",
    ),
    (
        "science",
        "Science",
        "Research explained without the press release.",
    ),
    (
        "food",
        "Food",
        "Markets, kitchens and the economics of lunch.",
    ),
    ("long-reads", "Long reads", "Pieces worth a second coffee."),
];

/// On a database's first start: records it, loads the demo content when asked, and makes
/// the first admin token, whose secret is returned (it exists nowhere else).
/// On later starts it does nothing and returns `None`.
pub async fn first_start(
    conn: &mut AsyncPgConnection,
    load_demo: bool,
) -> anyhow::Result<Option<String>> {
    let secret = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let claimed = diesel::insert_into(lede_meta::table)
                .values((
                    lede_meta::key.eq(INITIALIZED),
                    lede_meta::value.eq(chrono::Utc::now().to_rfc3339()),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if claimed == 0 {
                return Ok(None);
            }
            if load_demo {
                load(conn).await?;
            }
            let (_, secret) =
                tokens::create(conn, "first admin (made at first start)", Role::Admin, None)
                    .await?;
            Ok(Some(secret))
        })
        .await?;
    Ok(secret)
}

async fn load(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    for author in &AUTHORS {
        diesel::insert_into(authors::table)
            .values((
                authors::id.eq(Uuid::now_v7()),
                authors::slug.eq(author.slug),
                authors::name.eq(author.name),
                authors::email.eq(author.email),
                authors::bio.eq(author.bio),
                authors::website.eq(author.website),
            ))
            .execute(conn)
            .await?;
    }
    for (slug, name, description) in TAGS {
        diesel::insert_into(tags::table)
            .values((
                tags::id.eq(Uuid::now_v7()),
                tags::slug.eq(slug),
                tags::name.eq(name),
                tags::description.eq(description),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}
