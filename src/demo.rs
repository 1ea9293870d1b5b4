//! First start of a database: the demo site (when enabled) and the first admin token.
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::articles::model::{NewArticle, Status};
use crate::auth::tokens;
use crate::db::schema::{authors, lede_meta, tags};
use crate::http::validate::Checks;
use crate::images::ImageText;
use crate::principal::{Principal, Role};
use crate::state::AppState;

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

/// Demo photos: drawn here (no files ship with lede), as (hue, alt, caption, credit).
const PHOTOS: [([u8; 3], &str, &str, &str); 5] = [
    (
        [38, 70, 120],
        "A tram crossing the river bridge at dusk",
        "Line 4 on the Ponte Vecchio crossing, its last week in service.",
        "Photo: Inès Marchetti",
    ),
    (
        [150, 90, 40],
        "Loaves cooling on wooden racks",
        "The 3 a.m. batch at the Rue Haute bakery.",
        "Photo: Inès Marchetti",
    ),
    (
        [30, 110, 90],
        "A research vessel in grey water",
        "The RV Skagerrak leaving port for a six-week survey.",
        "Photo: Tomasz Oyelaran",
    ),
    (
        [120, 120, 130],
        "Storm clouds over a harbour",
        "The front that arrived two days early.",
        "Photo: Tomasz Oyelaran",
    ),
    (
        [90, 40, 80],
        "Engineers in a brick sewer tunnel",
        "Inspecting the 1880s main under the market square.",
        "Photo: city water board",
    ),
];

/// On a database's first start: records it, loads the demo content when asked, and makes
/// the first admin token, whose secret is returned (it exists nowhere else). On later
/// starts it does nothing and returns `None`.
pub async fn first_start(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    load_demo: bool,
) -> anyhow::Result<Option<String>> {
    let claimed = diesel::insert_into(lede_meta::table)
        .values((
            lede_meta::key.eq(INITIALIZED),
            lede_meta::value.eq(Utc::now().to_rfc3339()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if claimed == 0 {
        return Ok(None);
    }
    let (token, secret) = tokens::create(
        conn,
        &crate::principal::Actor::system("first start"),
        "first admin (made at first start)",
        Role::Admin,
        None,
        None,
    )
    .await?;
    if load_demo {
        let admin = Principal {
            token_id: token.id,
            ..Principal::system("first start")
        };
        if let Err(error) = load(state, conn, &admin).await {
            // The site still works; say what went wrong instead of refusing to start.
            tracing::error!(%error, "the demo content could not be loaded completely");
        }
    }
    Ok(Some(secret))
}

async fn load(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    admin: &Principal,
) -> anyhow::Result<()> {
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
    let mut photos = Vec::new();
    for (hue, alt, caption, credit) in PHOTOS {
        let bytes = tokio::task::spawn_blocking(move || demo_photo(hue)).await??;
        let text = ImageText {
            alt: Some(alt.into()),
            caption: Some(caption.into()),
            credit: Some(credit.into()),
            focal_x: Some(0.5),
            focal_y: Some(0.45),
        };
        let (image, _) = crate::images::ingest(
            &crate::principal::Actor::system("first start"),
            state,
            bytes,
            text,
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo image: {e}"))?;
        photos.push(image.id);
    }
    diesel::update(authors::table.filter(authors::slug.eq("ines-marchetti")))
        .set(authors::avatar_image_id.eq(photos[1]))
        .execute(conn)
        .await?;
    let mut first = None;
    for (index, mut article) in articles(&photos).into_iter().enumerate() {
        // Published on different days, the first the newest, as on a real site.
        if article.status == Some(Status::Published) && article.published_at.is_none() {
            let days = [1, 3, 6, 10, 15][index.min(4)];
            article.published_at = Some((Utc::now() - Duration::days(days)).into());
        }
        let bodies =
            crate::articles::write::Prerendered::of(&state.pool, [article.body_markdown.clone()])
                .await?;
        let write = crate::articles::write::Write {
            language: &state.search_language,
            bodies: &bodies,
        };
        let made = crate::articles::create(conn, admin, article, Checks::new(), &write)
            .await
            .map_err(|e| anyhow::anyhow!("demo article {index}: {e}"))?;
        first.get_or_insert((made.id, made.published_at.unwrap_or_else(Utc::now)));
    }
    if let Some((article_id, published)) = first {
        comments(conn, article_id, published).await?;
    }
    Ok(())
}

/// Readers who answered the first comment: a thread longer than one answer shows (its
/// replies page by `replies_cursor`).
const REPLIERS: [(&str, &str); 6] = [
    ("Jonas", "Same here, from the other end of the line."),
    ("Aiko", "The brass band on Fridays was the best part."),
    (
        "Farid",
        "I proposed on the 00:41. She said yes at the bridge.",
    ),
    ("Lena", "My father drove line 4 in the seventies."),
    ("Sam", "The bus will not be the same, but it will come."),
    ("Rosa", "Thank you for the photo of the bridge."),
];

/// Replies in the long thread: more than the 50 a thread shows at once.
const THREAD_REPLIES: usize = 60;

/// A discussion under the first article in the hours after it came out: a long thread
/// (`THREAD_REPLIES` replies to Marta), another comment, and one still waiting for a
/// moderator, two minutes apart.
async fn comments(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    published: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    use crate::comments::model::Comment;
    let marta = (
        "Marta",
        "I took the 00:41 home for thirty years. *Thank you* for writing this.",
        "approved",
        false,
    );
    let replies = (0..THREAD_REPLIES).map(|n| {
        let (name, body) = REPLIERS[n % REPLIERS.len()];
        (name, body, "approved", true)
    });
    let others = [
        (
            "Priya",
            "Does anyone know if the night bus will stop at the hospital?",
            "approved",
            false,
        ),
        ("Anonymous", "First!", "pending", false),
    ];
    let discussion: Vec<_> = std::iter::once(marta)
        .chain(replies)
        .chain(others)
        .collect();
    let first = published + Duration::minutes(30);
    let mut parent = None;
    for (n, (name, body, status, reply)) in discussion.into_iter().enumerate() {
        let created = (first + Duration::minutes(2 * n as i64)).min(Utc::now());
        let comment = Comment {
            id: Uuid::now_v7(),
            article_id,
            parent_id: if reply { parent } else { None },
            author_name: name.into(),
            author_email: format!("{}@reader.example", name.to_lowercase()),
            author_url: None,
            body_markdown: body.into(),
            body_html: crate::comments::render_body(body),
            status: status.into(),
            ip: "192.0.2.1".into(),
            user_agent: Some("lede demo".into()),
            deleted_at: None,
            created_at: created,
            updated_at: created,
            staff: false,
        };
        let stored =
            crate::comments::queries::insert(conn, &crate::principal::COMMENT_FORM, &comment)
                .await?;
        parent.get_or_insert(stored.id);
    }
    Ok(())
}

/// A 1600x1000 photo-like JPEG: a sky-to-ground gradient in `hue` with soft noise.
fn demo_photo(hue: [u8; 3]) -> anyhow::Result<Vec<u8>> {
    use image::codecs::jpeg::JpegEncoder;
    let (width, height) = (1600u32, 1000u32);
    let mut seed = u32::from(hue[0]) * 7919 + u32::from(hue[1]) * 31 + u32::from(hue[2]) + 1;
    let img = image::ImageBuffer::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 9) as i32 - 4;
        let light = 255 - (y * 160 / height) as i32 + ((x * 30 / width) as i32);
        let channel = |c: u8| ((i32::from(c) + light) / 2 + noise).clamp(0, 255) as u8;
        image::Rgb([channel(hue[0]), channel(hue[1]), channel(hue[2])])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img)?;
    Ok(out)
}

fn new_article(
    title: &str,
    subtitle: &str,
    author: &str,
    tags: &[&str],
    cover: Uuid,
    body: String,
    status: Status,
) -> NewArticle {
    NewArticle {
        title: title.into(),
        slug: None,
        subtitle: Some(subtitle.into()),
        excerpt: None,
        body_markdown: body,
        status: Some(status),
        published_at: None,
        author: Some(author.into()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        cover_image: Some(cover),
        comments_open: Some(true),
        external_id: None,
        kind: None,
        meta_title: None,
        meta_description: None,
        note: None,
    }
}

/// Six demo pieces written for lede (sections, figures, a footnote, a table, a draft and
/// one scheduled for two days from now) and an About page.
fn articles(photos: &[Uuid]) -> Vec<NewArticle> {
    let [tram, bread, ship, storm, sewer] = [photos[0], photos[1], photos[2], photos[3], photos[4]];
    let mut scheduled = new_article(
        "What the sewer under the market square tells us",
        "A 140-year-old tunnel, three engineers and a flashlight.",
        "ines-marchetti",
        &["cities", "long-reads"],
        sewer,
        format!(
            "Every spring, three engineers from the water board climb down a ladder behind the \
             fish stalls and walk the old main for two kilometres.\n\n\
             ## Bricks that outlived their makers\n\nThe tunnel was laid in 1884 by a crew of forty. \
             Most of the bricks are still the originals; the mortar is not.\n\n\
             ![](image:{sewer})\n\n## What they look for\n\nCracks wider than a coin, roots, and \
             the tide marks that show how high the water rose in the last storm.\n"
        ),
        Status::Scheduled,
    );
    scheduled.published_at = Some((Utc::now() + Duration::days(2)).into());
    let mut about = new_article(
        "About this site",
        "Who we are and how to reach us.",
        "ines-marchetti",
        &[],
        bread,
        "We write about the city at night, the sea and the weather.\n\n\
         ## Contact\n\nLetters to the editor: letters@example.com.\n"
            .into(),
        Status::Published,
    );
    about.kind = Some(crate::listing::Kind::Page);
    about.cover_image = None;
    vec![
        new_article(
            "The last night tram",
            "Line 4 ran for ninety years. On Friday it stopped.",
            "ines-marchetti",
            &["cities", "long-reads"],
            tram,
            format!(
                "At 00:41 the last car of line 4 left the depot with eleven passengers, a driver \
                 who had done the route for thirty years, and a bunch of carnations taped to the \
                 windscreen.\n\n\
                 ## Why it stopped\n\nThe city says the bridge can no longer carry the weight of a \
                 loaded tram. The engineers' report[^1] is more careful: it can, for now, at walking \
                 pace.\n\n![A tram on the bridge](image:{tram})\n\n\
                 ## Who rode it\n\nNight nurses, bakers, students, and on Fridays a brass band \
                 that played the stops.\n\n### The regulars\n\nMarta, 64, has taken the 00:41 home \
                 since 1987. *I know every pothole*, she says.\n\n\
                 ## What comes next\n\nA bus, from Monday, every twenty minutes.\n\n\
                 [^1]: Structural survey of the river crossings, city engineering office.\n"
            ),
            Status::Published,
        ),
        new_article(
            "Bread at three in the morning",
            "Inside the bakery that feeds a neighbourhood before it wakes.",
            "ines-marchetti",
            &["food", "cities"],
            bread,
            format!(
                "The ovens at the Rue Haute bakery are lit at 2:10. By 3:00 the first loaves are \
                 out, and by 5:30 the queue reaches the corner.\n\n\
                 ## Flour, water, time\n\nThe starter is older than the baker's daughter. It is fed \
                 twice a day and travels on holiday with the family.\n\n![](image:{bread})\n\n\
                 ## The numbers\n\n| Loaves | Croissants | Hours of sleep |\n|---:|---:|---:|\n\
                 | 640 | 1,100 | 5 |\n\n## Why they stay small\n\nThey were offered a second \
                 shop twice. ~~Maybe next year~~ They said no.\n"
            ),
            Status::Published,
        ),
        new_article(
            "Six weeks on the Skagerrak",
            "Counting plankton to understand a warming sea.",
            "tomasz-oyelaran",
            &["science", "climate", "long-reads"],
            ship,
            format!(
                "The research vessel left port on a Tuesday with twelve scientists, four crew and \
                 eight hundred sample jars.\n\n## The question\n\nHow far north have the warm-water \
                 species moved since the last survey in 2009?\n\n![The ship leaving port](image:{ship})\n\n\
                 ## A day on board\n\nNets go down at dawn. The jars are labelled by hand, because \
                 printers do not like the sea.\n\n### What the jars said\n\nThree species not seen \
                 this far north before, and one that has almost vanished.\n\n\
                 ## Back on land\n\nThe analysis will take a year. The seasickness, two days.\n"
            ),
            Status::Published,
        ),
        new_article(
            "The storm that came early",
            "Forecasts were right about the wind and wrong about the day.",
            "tomasz-oyelaran",
            &["climate", "science"],
            storm,
            format!(
                "The models agreed on the storm's strength a week ahead. They disagreed on when it \
                 would arrive by almost two days.\n\n## Why timing is hard\n\nA small change in a \
                 jet stream meander upstream moves a landfall by hundreds of kilometres.\n\n\
                 ![](image:{storm} \"The front over the harbour, 36 hours ahead of the forecast.\")\n\n\
                 ## What the harbour did\n\nBoats were doubled up on their moorings a day early, on \
                 the harbour master's hunch.\n"
            ),
            Status::Published,
        ),
        new_article(
            "Notes for a piece on night buses",
            "Draft: interviews still to do.",
            "ines-marchetti",
            &["cities"],
            tram,
            "## To ask\n\n- drivers about the 3 a.m. lull\n- the depot about the new timetable\n"
                .into(),
            Status::Draft,
        ),
        scheduled,
        about,
    ]
}

/// How many benchmark articles are written through the API's code path; more are copies.
const WRITTEN: usize = 1_000;

/// Benchmark data: `count` published articles of about 1,500 words in six sections with
/// five figures each, spread over three years, by ten authors with twenty tags. The first
/// 1,000 are made through the same code path as the API (rendered, sanitized, revisions
/// kept); beyond, copies of those are made in SQL (`copy_articles`), each with its own id,
/// slug, title and time: 100,000 take a minute, not an hour.
pub async fn seed_benchmark(state: &AppState, count: usize) -> anyhow::Result<()> {
    let written = count.min(WRITTEN);
    use futures_util::StreamExt;
    let mut conn = crate::db::conn(&state.pool)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (token, _) = tokens::create(
        &mut conn,
        &crate::principal::Actor::system("benchmark seed"),
        "benchmark seed",
        Role::Admin,
        None,
        None,
    )
    .await?;
    let admin = Principal {
        token_id: token.id,
        ..Principal::system("benchmark seed")
    };
    for i in 0..10 {
        diesel::insert_into(authors::table)
            .values((
                authors::id.eq(Uuid::now_v7()),
                authors::slug.eq(format!("bench-writer-{i}")),
                authors::name.eq(format!("Bench Writer {i}")),
            ))
            .on_conflict_do_nothing()
            .execute(&mut conn)
            .await?;
    }
    for i in 0..20 {
        diesel::insert_into(tags::table)
            .values((
                tags::id.eq(Uuid::now_v7()),
                tags::slug.eq(format!("topic-{i}")),
                tags::name.eq(format!("Topic {i}")),
            ))
            .on_conflict_do_nothing()
            .execute(&mut conn)
            .await?;
    }
    drop(conn);
    let mut photos = Vec::new();
    for i in 0..5u8 {
        let bytes =
            tokio::task::spawn_blocking(move || demo_photo([40 + i * 40, 200 - i * 30, 90]))
                .await??;
        let text = ImageText {
            alt: Some(format!("Benchmark photo {i}")),
            caption: Some(format!("Caption of benchmark photo {i}")),
            credit: Some("Photo: lede bench".into()),
            ..ImageText::default()
        };
        let (image, _) = crate::images::ingest(
            &crate::principal::Actor::system("first start"),
            state,
            bytes,
            text,
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        photos.push(image.id);
    }
    let start = Utc::now() - Duration::days(3 * 365);
    let made = std::sync::atomic::AtomicUsize::new(0);
    futures_util::stream::iter(0..written)
        .map(|i| {
            let admin = admin.clone();
            let photos = &photos;
            let made = &made;
            async move {
                let mut article = NewArticle {
                    title: format!("{} {}", title_words(i), i),
                    slug: None,
                    subtitle: Some(sentence(i, i * 7 + 1, 12)),
                    excerpt: None,
                    body_markdown: bench_body(i, photos),
                    status: Some(Status::Published),
                    published_at: Some(
                        (start
                            + Duration::minutes(
                                (i as i64) * 3 * 365 * 24 * 60 / written.max(1) as i64,
                            ))
                        .into(),
                    ),
                    author: Some(format!("bench-writer-{}", i % 10)),
                    tags: vec![
                        format!("topic-{}", i % 20),
                        format!("topic-{}", (i * 7 + 3) % 20),
                    ],
                    cover_image: Some(photos[i % photos.len()]),
                    comments_open: Some(true),
                    external_id: None,
                    kind: None,
                    meta_title: None,
                    meta_description: None,
                    note: None,
                };
                article.tags.dedup();
                let bodies = crate::articles::write::Prerendered::of(
                    &state.pool,
                    [article.body_markdown.clone()],
                )
                .await?;
                let write = crate::articles::write::Write {
                    language: &state.search_language,
                    bodies: &bodies,
                };
                // Taken after rendering: a connection is held only for the write's SQL.
                let mut conn = crate::db::conn(&state.pool)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                crate::articles::create(&mut conn, &admin, article, Checks::new(), &write)
                    .await
                    .map_err(|e| anyhow::anyhow!("article {i}: {e}"))?;
                let done = made.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if done.is_multiple_of(1000) {
                    eprintln!("  {done} articles");
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<()>>>()?;
    let mut conn = crate::db::conn(&state.pool)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    copy_articles(&mut conn, count.saturating_sub(written)).await?;
    // Fresh statistics and visibility map, as autovacuum would make them soon: plans then
    // use the indexes (index-only counts included).
    diesel::sql_query("VACUUM ANALYZE")
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Adds `count` copies of the articles there are, in batches of 20,000 (one statement per
/// table each), with their tags and figures. Copy `n` of an article gets the slug
/// `<slug>-<n>`, `(n)` after its title, and a publication time of its own, spread over
/// the same three years. Nothing is recorded in the change feed: a node builds its search
/// index from Postgres when it starts.
async fn copy_articles(conn: &mut AsyncPgConnection, count: usize) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let statements = [
        "CREATE TEMP TABLE seed_base AS \
         SELECT id, (row_number() OVER (ORDER BY id)) - 1 AS k FROM articles",
        "CREATE TEMP TABLE seed_copy (n bigint, base_id uuid, id uuid)",
    ];
    for statement in statements {
        diesel::sql_query(statement).execute(conn).await?;
    }
    let batch = 20_000usize;
    let mut done = 0usize;
    while done < count {
        let upto = (done + batch).min(count);
        diesel::sql_query(
            "INSERT INTO seed_copy SELECT n, b.id, gen_random_uuid() \
             FROM generate_series($1, $2) n \
             JOIN seed_base b ON b.k = n % (SELECT count(*) FROM seed_base)",
        )
        .bind::<diesel::sql_types::BigInt, _>(done as i64 + 1)
        .bind::<diesel::sql_types::BigInt, _>(upto as i64)
        .execute(conn)
        .await?;
        let copies = "INSERT INTO articles (id, slug, title, subtitle, excerpt_given, excerpt, body_markdown, \
             body_html, body_text, toc, word_count, reading_time_minutes, status, published_at, \
             author_id, cover_image_id, comments_open, version, search_language) \
             SELECT c.id, a.slug || '-' || c.n, a.title || ' (' || c.n || ')', a.subtitle, \
             a.excerpt_given, a.excerpt, a.body_markdown, a.body_html, a.body_text, a.toc, \
             a.word_count, a.reading_time_minutes, a.status, \
             now() - interval '3 years' + (interval '3 years') * (c.n::float8 / $1), \
             a.author_id, a.cover_image_id, a.comments_open, 1, a.search_language \
             FROM seed_copy c JOIN articles a ON a.id = c.base_id";
        diesel::sql_query(copies)
            .bind::<diesel::sql_types::Float8, _>(count as f64)
            .execute(conn)
            .await?;
        for statement in [
            "INSERT INTO article_tags (article_id, tag_id, position) \
             SELECT c.id, t.tag_id, t.position FROM seed_copy c JOIN article_tags t ON t.article_id = c.base_id",
            "INSERT INTO article_images (article_id, image_id) \
             SELECT c.id, i.image_id FROM seed_copy c JOIN article_images i ON i.article_id = c.base_id",
            "TRUNCATE seed_copy",
        ] {
            diesel::sql_query(statement).execute(conn).await?;
        }
        done = upto;
        eprintln!("  {} articles", done + WRITTEN);
    }
    diesel::sql_query("DROP TABLE seed_base, seed_copy")
        .execute(conn)
        .await?;
    // Written behind the feed's back: every node's search index must be built again.
    diesel::sql_query("DELETE FROM lede_meta WHERE key = 'search_identity'")
        .execute(conn)
        .await?;
    Ok(())
}

const WORDS: [&str; 64] = [
    "harbour",
    "tram",
    "bridge",
    "council",
    "budget",
    "river",
    "storm",
    "bakery",
    "night",
    "market",
    "engineer",
    "survey",
    "plankton",
    "forecast",
    "depot",
    "tunnel",
    "street",
    "school",
    "housing",
    "rent",
    "festival",
    "museum",
    "garden",
    "station",
    "ferry",
    "lighthouse",
    "archive",
    "election",
    "library",
    "hospital",
    "nurse",
    "driver",
    "morning",
    "winter",
    "summer",
    "coast",
    "island",
    "mountain",
    "valley",
    "factory",
    "workers",
    "union",
    "strike",
    "price",
    "bread",
    "coffee",
    "wine",
    "fish",
    "salt",
    "water",
    "energy",
    "solar",
    "wind",
    "heat",
    "flood",
    "drought",
    "forest",
    "bird",
    "whale",
    "reef",
    "data",
    "model",
    "signal",
    "history",
];

/// Ordinary words: made from syllables, 3,375 of them, most used rarely (roughly Zipf).
fn common_word(seed: usize) -> String {
    const SYLLABLES: [&str; 15] = [
        "ta", "ro", "mi", "ne", "so", "ka", "li", "du", "ve", "pa", "gor", "len", "tis", "mar",
        "bel",
    ];
    let hash = seed.wrapping_mul(2_654_435_761) >> 5;
    // Squaring a uniform number skews it towards small ranks: a few words are everywhere.
    let rank = ((hash % 1000) * (hash % 1000) / 1000) * 3375 / 1000;
    (0..3)
        .map(|k| SYLLABLES[(rank / 15usize.pow(k)) % 15])
        .collect()
}

/// Each article is about three of the topic words, which it uses often; other topic
/// words appear nowhere in it, so a search for one hits a few percent of articles.
fn word(article: usize, seed: usize) -> String {
    let hash = seed.wrapping_mul(2_246_822_519) >> 9;
    if hash.is_multiple_of(12) {
        WORDS[(article * 7 + hash % 3 * 13) % WORDS.len()].to_owned()
    } else {
        common_word(seed)
    }
}

fn sentence(article: usize, seed: usize, words: usize) -> String {
    let mut text: String = (0..words)
        .map(|k| word(article, seed * 31 + k))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(first) = text.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    text.push('.');
    text
}

fn title_words(i: usize) -> String {
    let mut title = format!(
        "{} {} {}",
        WORDS[i * 7 % WORDS.len()],
        common_word(i),
        WORDS[(i * 7 + 13) % WORDS.len()]
    );
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    title
}

/// About 1,500 words: six sections of two paragraphs, five figures.
fn bench_body(i: usize, photos: &[Uuid]) -> String {
    let mut body = String::new();
    for section in 0..6 {
        if section > 0 {
            body.push_str(&format!(
                "## {}\n\n",
                sentence(i, i * 13 + section, 4).trim_end_matches('.')
            ));
        }
        for paragraph in 0..2 {
            let seed = i * 101 + section * 10 + paragraph;
            let sentences: Vec<String> = (0..10).map(|s| sentence(i, seed * 17 + s, 12)).collect();
            body.push_str(&sentences.join(" "));
            body.push_str("\n\n");
        }
        if section < 5 {
            let photo = photos[(i + section) % photos.len()];
            body.push_str(&format!(
                "![{}](image:{photo})\n\n",
                sentence(i, i + section, 5)
            ));
        }
    }
    body
}
