//! What a page's `<head>` needs, derived from the article: title and description (the
//! writable overrides, else the article's own), the canonical URL on the front-end's site,
//! the Open Graph image, and schema.org structured data (JSON-LD) as one object.
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::model::{Article, AuthorSummary, Kind, TagSummary};
use crate::http::Timestamp;
use crate::images::model::{ImageResponse, VariantResponse};
use crate::site::Site;

/// Google shows at most this much of a `headline`.
const HEADLINE_CHARS: usize = 110;

/// An article's SEO data, all derived; `meta_title` and `meta_description` are the
/// writable overrides.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "title": "The last night tram",
    "description": "At 00:41 the last car of line 4 left the depot.",
    "canonical_url": "https://www.example.com/the-last-night-tram",
    "og_image": {"url": "https://api.example.com/media/01/social.jpg", "width": 1200, "height": 630},
    "json_ld": {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "The last night tram",
        "description": "At 00:41 the last car of line 4 left the depot.",
        "url": "https://www.example.com/the-last-night-tram",
        "mainEntityOfPage": {"@type": "WebPage", "@id": "https://www.example.com/the-last-night-tram"},
        "datePublished": "2025-10-28T09:30:00Z", "dateModified": "2025-10-28T09:30:00Z",
        "author": [{"@type": "Person", "name": "Inès Marchetti", "url": "https://www.example.com/authors/ines-marchetti"}],
        "publisher": {"@type": "Organization", "name": "The Daily Example", "url": "https://www.example.com"}},
    "json_ld_script": "{\"@context\":\"https://schema.org\",\"@type\":\"NewsArticle\",\"headline\":\"The last night tram\"}"
}))]
pub struct Seo {
    /// `<title>` and `og:title`: `meta_title` when set, else the title.
    pub title: String,
    /// `<meta name="description">` and `og:description`: `meta_description` when set, else
    /// the excerpt.
    pub description: String,
    /// The article's address on the front-end's site (`LEDE_SITE_URL` and
    /// `LEDE_ARTICLE_PATH`, or `LEDE_PAGE_PATH` for pages), for `<link rel="canonical">`.
    pub canonical_url: String,
    /// `og:image`: the cover's `social` crop (1200x630) in JPEG or PNG when it has one, else
    /// the cover itself (unless it is WebP or AVIF, which not every crawler reads: then its
    /// square crop); `null` without a cover.
    #[schema(required = true)]
    pub og_image: Option<OgImage>,
    /// A schema.org `NewsArticle` (`WebPage` for pages) to put in the page's
    /// `application/ld+json` script element as is. Serialise it with `<` escaped
    /// (`JSON.stringify(json_ld).replace(/</g, "\\u003c")`): its text is the writer's.
    #[schema(schema_with = json_ld_schema)]
    pub json_ld: Value,
    /// `json_ld` as text to place inside the page's `application/ld+json` script element as
    /// it is: `<`, `>`, `&`, U+2028 and U+2029 are written as `\u003c`-style escapes, so no
    /// title can close the element or open a comment in it.
    #[schema(
        example = r#"{"@context":"https://schema.org","@type":"NewsArticle","headline":"Trams \u003c3"}"#
    )]
    pub json_ld_script: String,
}

/// JSON as text safe inside an HTML `<script>` element: the characters that could end it,
/// open a comment or start an entity are escaped as JSON escapes (the same value to a
/// JSON reader).
pub fn script_safe(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"url": "https://api.example.com/media/01/social.jpg", "width": 1200, "height": 630}))]
pub struct OgImage {
    pub url: String,
    pub width: u32,
    pub height: u32,
}

impl From<&VariantResponse> for OgImage {
    fn from(v: &VariantResponse) -> Self {
        OgImage {
            url: v.url.clone(),
            width: v.width,
            height: v.height,
        }
    }
}

/// A crop of `cover` in JPEG or PNG (what every crawler reads; a WebP upload's own crops
/// are PNG, its AVIF and WebP ones are left for browsers).
fn crop<'a>(cover: &'a ImageResponse, name: &str) -> Option<&'a VariantResponse> {
    cover
        .variants
        .iter()
        .find(|v| v.name == name && !crate::images::rendition::is_modern(&v.mime_type))
}

/// The SEO data of `article` as shown with its byline, tags and cover.
pub fn of(
    article: &Article,
    author: &AuthorSummary,
    tags: &[TagSummary],
    cover: Option<&ImageResponse>,
    site: &Site,
) -> Seo {
    let page = Kind::of(article) == Kind::Page;
    let canonical_url = site.article_url(
        page,
        &article.slug,
        article.published_at,
        article.created_at,
    );
    let title = article
        .meta_title
        .clone()
        .unwrap_or_else(|| article.title.clone());
    let description = article
        .meta_description
        .clone()
        .unwrap_or_else(|| article.excerpt.clone());
    // The wide crop, else the original when crawlers read its format, else the square crop.
    let og_image = cover.and_then(|cover| {
        let original = (!crate::images::rendition::is_modern(&cover.mime_type)).then(|| OgImage {
            url: cover.url.clone(),
            width: cover.width,
            height: cover.height,
        });
        crop(cover, "social")
            .map(OgImage::from)
            .or(original)
            .or_else(|| crop(cover, "square").map(OgImage::from))
    });
    // Google asks for several aspect ratios: the wide crop, the square one, the original.
    let images: Vec<&str> = cover
        .map(|cover| {
            let mut urls: Vec<&str> = ["social", "square"]
                .iter()
                .filter_map(|name| crop(cover, name).map(|v| v.url.as_str()))
                .collect();
            urls.push(&cover.url);
            urls
        })
        .unwrap_or_default();
    let mut ld = json!({
        "@context": "https://schema.org",
        "@type": if page { "WebPage" } else { "NewsArticle" },
        "headline": headline(&article.title),
        "description": description,
        "url": canonical_url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical_url},
        "dateModified": Timestamp::from(article.updated_at),
        "author": [{
            "@type": "Person",
            "name": author.name,
            "url": site.author_url(&author.slug),
        }],
        "publisher": publisher(site),
    });
    if let Some(published_at) = article.published_at {
        ld["datePublished"] = json!(Timestamp::from(published_at));
    }
    if !images.is_empty() {
        ld["image"] = json!(images);
    }
    if !page {
        ld["wordCount"] = json!(article.word_count);
        if !tags.is_empty() {
            let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
            ld["keywords"] = json!(names.join(", "));
        }
    }
    Seo {
        title,
        description,
        canonical_url,
        og_image,
        json_ld_script: script_safe(&ld),
        json_ld: ld,
    }
}

/// `json_ld`'s schema: the fields lede writes, named, so a typed front-end reads them
/// (`json_ld.headline` is a string); more may come.
#[allow(clippy::expect_used)]
fn json_ld_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let text = json!({"type": "string"});
    let thing = |more: Value| {
        let mut properties = json!({"@type": text, "name": text, "url": text});
        if let (Some(properties), Some(more)) = (properties.as_object_mut(), more.as_object()) {
            properties.extend(more.clone());
        }
        json!({"type": "object", "required": ["@type", "name", "url"], "properties": properties})
    };
    let schema = json!({
        "type": "object",
        "description": "A schema.org `NewsArticle` (`WebPage` for pages) to put in the page's \
            `application/ld+json` script element as is. Serialise it with `<` escaped \
            (`JSON.stringify(json_ld).replace(/</g, \"\\u003c\")`): its text is the writer's; \
            or use `json_ld_script`.",
        "required": ["@context", "@type", "headline", "description", "url", "mainEntityOfPage",
            "dateModified", "author", "publisher"],
        "properties": {
            "@context": {"type": "string", "const": "https://schema.org"},
            "@type": {"type": "string", "enum": ["NewsArticle", "WebPage"]},
            "headline": {"type": "string", "description": "The title, cut at a word to 110 characters."},
            "description": text,
            "url": {"type": "string", "description": "The canonical URL."},
            "mainEntityOfPage": {"type": "object", "required": ["@type", "@id"],
                "properties": {"@type": text, "@id": text}},
            "datePublished": {"type": "string", "format": "date-time", "description": "Absent on a draft."},
            "dateModified": {"type": "string", "format": "date-time"},
            "author": {"type": "array", "items": thing(json!({}))},
            "publisher": thing(json!({"logo": {"type": "object", "required": ["@type", "url"],
                "properties": {"@type": text, "url": text}}})),
            "image": {"type": "array", "items": text, "description": "The cover's wide and square crops and the cover."},
            "wordCount": {"type": "integer", "description": "Articles only."},
            "keywords": {"type": "string", "description": "The tags' names, comma-separated (articles with tags)."}
        },
        "additionalProperties": true
    });
    // A literal schema: it parses (the OpenAPI drift test reads the whole document).
    serde_json::from_value(schema).expect("a valid schema")
}

/// The site as schema.org `Organization`, with its logo when set.
pub fn publisher(site: &Site) -> Value {
    let mut publisher = json!({"@type": "Organization", "name": site.name, "url": site.url()});
    if let Some(logo) = &site.logo {
        publisher["logo"] = json!({"@type": "ImageObject", "url": logo});
    }
    publisher
}

/// The title cut at a word to what Google shows, ended with `…` when cut.
fn headline(title: &str) -> String {
    if title.chars().count() <= HEADLINE_CHARS {
        return title.to_owned();
    }
    let cut: String = title.chars().take(HEADLINE_CHARS - 1).collect();
    let at_word = cut.rfind(' ').filter(|i| *i > 0).unwrap_or(cut.len());
    format!("{}…", cut[..at_word].trim_end())
}

#[cfg(test)]
mod tests {
    use super::headline;

    #[test]
    fn long_titles_are_cut_at_a_word() {
        assert_eq!(headline("Short"), "Short");
        let long = "word ".repeat(40);
        let cut = headline(&long);
        assert!(cut.chars().count() <= 110, "{cut}");
        assert!(cut.ends_with("word…"), "{cut}");
    }
}
