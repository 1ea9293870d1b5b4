//! Markdown to safe HTML: CommonMark with tables, strikethrough and footnotes; `image:<id>`
//! figures from stored images; `id` anchors on h2/h3 and a table of contents; plain text
//! for search, excerpt and word count. The HTML is always sanitized last, whatever the
//! source held.
use std::collections::HashMap;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::media::storage::MEDIA_PLACEHOLDER;
pub use crate::text::escape;

pub const EXCERPT_CHARS: usize = 300;
const WORDS_PER_MINUTE: usize = 230;
/// `sizes` for figures: full width on phones, at most a 800 px column elsewhere.
const FIGURE_SIZES: &str = "(max-width: 800px) 100vw, 800px";

/// What a figure needs from a stored image.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    /// `url width` pairs of the variants and the original, narrowest first.
    pub srcset: Vec<(String, u32)>,
    /// The image's ThumbHash (base64), for a front-end to paint first.
    pub placeholder: Option<String>,
    /// Modern formats a browser picks before the `<img>`: `(mime type, srcset)`.
    pub sources: Vec<(String, Vec<(String, u32)>)>,
}

/// One entry of the table of contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"level": 2, "text": "Why the trams stopped", "anchor": "why-the-trams-stopped"}))]
pub struct TocEntry {
    /// 2 or 3.
    pub level: u8,
    pub text: String,
    /// The heading's `id` in `body_html`.
    pub anchor: String,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub html: String,
    /// The body as plain text, figure captions included (for search).
    pub text: String,
    pub toc: Vec<TocEntry>,
    /// Derived from the first paragraph: plain text, cut at a word.
    pub excerpt: String,
    pub word_count: usize,
    pub reading_time_minutes: usize,
}

pub(crate) fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES
}

/// The image ids a body refers to as `image:<id>`, and the references that are not ids.
pub fn image_refs(markdown: &str) -> (Vec<Uuid>, Vec<String>) {
    let mut ids = Vec::new();
    let mut bad = Vec::new();
    for event in Parser::new_ext(markdown, options()) {
        if let Event::Start(Tag::Image { dest_url, .. }) = event
            && let Some(reference) = dest_url.strip_prefix("image:")
        {
            match image_target(reference) {
                Some((id, _)) if !ids.contains(&id) => ids.push(id),
                Some(_) => {}
                None => bad.push(reference.to_owned()),
            }
        }
    }
    (ids, bad)
}

/// How a figure may sit in the page, written after its image's id (`image:<id>#wide`) and
/// rendered as WordPress names it (`<figure class="alignwide">`), for the front-end's CSS.
pub const ALIGN_CLASSES: [&str; 5] = [
    "alignwide",
    "alignfull",
    "alignleft",
    "alignright",
    "aligncenter",
];

/// What `image:` names: the image's id, and its alignment's class when one is given.
fn image_target(reference: &str) -> Option<(Uuid, Option<&'static str>)> {
    let (id, class) = match reference.trim().split_once('#') {
        Some((id, align)) => (
            id,
            Some(
                *ALIGN_CLASSES
                    .iter()
                    .find(|c| c.strip_prefix("align") == Some(align))?,
            ),
        ),
        None => (reference.trim(), None),
    };
    Some((Uuid::parse_str(id).ok()?, class))
}

/// Renders a body. Figures whose image is missing from `figures` are dropped (callers
/// check references first and answer 422 for unknown ones).
pub fn render(markdown: &str, figures: &HashMap<Uuid, Figure>) -> Rendered {
    let events: Vec<Event> = Parser::new_ext(markdown, options()).collect();
    // Figures point at this one-off marker until sanitizing is over, so the media
    // placeholder in stored HTML can only come from a figure (see `disarm_placeholders`).
    let figure_marker = format!("/__lede_figure_{:032x}__", rand::random::<u128>());
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    let mut text = String::new();
    let mut prose_words = 0usize;
    let mut first_paragraph: Option<String> = None;
    let mut paragraph: Option<String> = None;
    let mut toc = Vec::new();
    let mut anchors: HashMap<String, usize> = HashMap::new();
    let mut skip_paragraph_end = Vec::new();
    let mut footnotes = Footnotes::default();

    let mut i = 0;
    while i < events.len() {
        match &events[i] {
            // A paragraph holding nothing but a figure: drop the <p>, a <figure> cannot sit in it.
            Event::Start(Tag::Paragraph) if figure_only_paragraph(&events, i) => {
                skip_paragraph_end.push(true);
            }
            Event::Start(Tag::Paragraph) => {
                skip_paragraph_end.push(false);
                paragraph = Some(String::new());
                out.push(events[i].clone());
            }
            Event::End(TagEnd::Paragraph) => {
                if let Some(done) = paragraph.take()
                    && first_paragraph.is_none()
                    && !done.trim().is_empty()
                {
                    first_paragraph = Some(done);
                }
                if !skip_paragraph_end.pop().unwrap_or(false) {
                    out.push(events[i].clone());
                }
                text.push('\n');
            }
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) if dest_url.starts_with("image:") => {
                let end = matching_end(&events, i);
                let alt = plain_text(&events[i + 1..end]);
                let target = image_target(&dest_url["image:".len()..]);
                let figure = target.and_then(|(id, _)| figures.get(&id));
                if let Some(figure) = figure {
                    let caption = Some(title.to_string())
                        .filter(|t| !t.trim().is_empty())
                        .or_else(|| figure.caption.clone());
                    let alt = Some(alt)
                        .filter(|a| !a.trim().is_empty())
                        .or_else(|| figure.alt.clone());
                    for part in [&alt, &caption, &figure.credit].into_iter().flatten() {
                        text.push_str(part);
                        text.push('\n');
                    }
                    out.push(Event::Html(CowStr::from(figure_html(
                        figure,
                        &figure_marker,
                        alt.as_deref().unwrap_or(""),
                        caption.as_deref(),
                        target.and_then(|(_, align)| align),
                    ))));
                }
                i = end;
            }
            Event::Start(Tag::Heading { level, .. })
                if matches!(level, HeadingLevel::H2 | HeadingLevel::H3) =>
            {
                let end = matching_end(&events, i);
                let heading = plain_text(&events[i + 1..end]);
                let anchor = unique_anchor(&heading, &mut anchors);
                let level_number = if *level == HeadingLevel::H2 { 2 } else { 3 };
                out.push(Event::Html(CowStr::from(format!(
                    "<h{level_number} id=\"{anchor}\">"
                ))));
                // A footnote referred to in a heading is numbered like any other.
                out.extend(events[i + 1..end].iter().map(|event| match event {
                    Event::FootnoteReference(label) => {
                        Event::InlineHtml(CowStr::from(footnotes.reference(label)))
                    }
                    event => event.clone(),
                }));
                out.push(Event::Html(CowStr::from(format!("</h{level_number}>\n"))));
                text.push_str(&heading);
                text.push('\n');
                prose_words += heading.split_whitespace().count();
                toc.push(TocEntry {
                    level: level_number,
                    text: heading,
                    anchor,
                });
                i = end;
            }
            Event::FootnoteReference(label) => {
                out.push(Event::InlineHtml(CowStr::from(footnotes.reference(label))));
            }
            Event::Start(Tag::FootnoteDefinition(label)) => {
                let (open, close) = footnotes.definition(label);
                out.push(Event::Html(CowStr::from(open)));
                footnotes.closing.push(close);
            }
            Event::End(TagEnd::FootnoteDefinition) => {
                let close = footnotes.closing.pop().unwrap_or_default();
                out.push(Event::Html(CowStr::from(close)));
            }
            Event::Text(t) | Event::Code(t) => {
                text.push_str(t);
                prose_words += t.split_whitespace().count();
                if let Some(p) = paragraph.as_mut() {
                    p.push_str(t);
                }
                out.push(events[i].clone());
            }
            Event::SoftBreak | Event::HardBreak => {
                text.push(' ');
                if let Some(p) = paragraph.as_mut() {
                    p.push(' ');
                }
                out.push(events[i].clone());
            }
            Event::End(
                TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableCell | TagEnd::CodeBlock,
            ) => {
                text.push('\n');
                out.push(events[i].clone());
            }
            _ => out.push(events[i].clone()),
        }
        i += 1;
    }

    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    Rendered {
        html: disarm_placeholders(&sanitize(&html), &figure_marker),
        excerpt: excerpt(first_paragraph.as_deref().unwrap_or("")),
        text,
        toc,
        word_count: prose_words,
        reading_time_minutes: prose_words.div_ceil(WORDS_PER_MINUTE),
    }
}

/// Footnotes numbered in the order they first appear, with ids no heading's anchor can take
/// (`fn:1` for the note, `fnref:1` for where it is referred to) and a way back from each
/// note to its first reference.
#[derive(Default)]
struct Footnotes {
    numbers: HashMap<String, usize>,
    /// References made so far to each note, by number.
    references: HashMap<usize, usize>,
    /// What ends each definition being written (they may nest).
    closing: Vec<String>,
}

impl Footnotes {
    /// A note's number; labels match whatever their case, as the parser matches them.
    fn number(&mut self, label: &str) -> usize {
        let next = self.numbers.len() + 1;
        *self.numbers.entry(label.to_lowercase()).or_insert(next)
    }

    fn reference(&mut self, label: &str) -> String {
        let n = self.number(label);
        let seen = self.references.entry(n).or_insert(0);
        *seen += 1;
        let id = match *seen {
            1 => format!("fnref:{n}"),
            k => format!("fnref:{n}:{k}"),
        };
        format!("<sup class=\"footnote-reference\" id=\"{id}\"><a href=\"#fn:{n}\">{n}</a></sup>")
    }

    fn definition(&mut self, label: &str) -> (String, String) {
        let n = self.number(label);
        let open = format!(
            "<div class=\"footnote-definition\" id=\"fn:{n}\"><sup class=\"footnote-definition-label\">{n}</sup>\n"
        );
        let back = if self.references.contains_key(&n) {
            format!(
                "<a href=\"#fnref:{n}\" class=\"footnote-backref\" aria-label=\"Back to reference {n}\">\u{21a9}</a>"
            )
        } else {
            String::new()
        };
        (open, format!("{back}</div>\n"))
    }
}

/// Index of the event closing the element opened at `start`.
fn matching_end(events: &[Event], start: usize) -> usize {
    let mut depth = 0usize;
    for (offset, event) in events[start..].iter().enumerate() {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return start + offset;
                }
            }
            _ => {}
        }
    }
    events.len() - 1
}

fn figure_only_paragraph(events: &[Event], start: usize) -> bool {
    match events.get(start + 1) {
        Some(Event::Start(Tag::Image { dest_url, .. })) if dest_url.starts_with("image:") => {
            let image_end = matching_end(events, start + 1);
            matches!(
                events.get(image_end + 1),
                Some(Event::End(TagEnd::Paragraph))
            )
        }
        _ => false,
    }
}

fn plain_text(events: &[Event]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            _ => {}
        }
    }
    text.trim().to_owned()
}

fn unique_anchor(heading: &str, seen: &mut HashMap<String, usize>) -> String {
    let base = crate::http::validate::slugify(heading, "section");
    let count = seen.entry(base.clone()).or_insert(0);
    *count += 1;
    if *count == 1 {
        base
    } else {
        format!("{base}-{count}")
    }
}

fn figure_html(
    figure: &Figure,
    marker: &str,
    alt: &str,
    caption: Option<&str>,
    align: Option<&str>,
) -> String {
    let url = |url: &str| escape(&url.replace(MEDIA_PLACEHOLDER, marker));
    let srcset_of = |set: &[(String, u32)]| {
        set.iter()
            .map(|(u, width)| format!("{} {width}w", url(u)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The box keeps its shape before the bytes arrive (no layout shift), painted with the
    // placeholder by a front-end that reads `data-placeholder`.
    let placeholder = figure
        .placeholder
        .as_deref()
        .map(|p| format!(" data-placeholder=\"{}\"", escape(p)))
        .unwrap_or_default();
    let mut html = match align {
        Some(class) => format!("<figure class=\"{class}\">"),
        None => String::from("<figure>"),
    };
    if !figure.sources.is_empty() {
        html.push_str("<picture>");
        for (mime, set) in &figure.sources {
            html.push_str(&format!(
                "<source type=\"{}\" srcset=\"{}\" sizes=\"{FIGURE_SIZES}\">",
                escape(mime),
                srcset_of(set)
            ));
        }
    }
    html.push_str(&format!(
        "<img src=\"{}\" srcset=\"{}\" sizes=\"{FIGURE_SIZES}\" width=\"{}\" height=\"{}\" alt=\"{}\" loading=\"lazy\" decoding=\"async\" style=\"aspect-ratio: {} / {}\"{placeholder}>",
        url(&figure.url),
        srcset_of(&figure.srcset),
        figure.width,
        figure.height,
        escape(alt),
        figure.width,
        figure.height,
    ));
    if !figure.sources.is_empty() {
        html.push_str("</picture>");
    }
    let caption = caption.filter(|c| !c.trim().is_empty());
    let credit = figure.credit.as_deref().filter(|c| !c.trim().is_empty());
    if caption.is_some() || credit.is_some() {
        html.push_str("<figcaption>");
        if let Some(caption) = caption {
            html.push_str(&escape(caption));
        }
        if let Some(credit) = credit {
            if caption.is_some() {
                html.push(' ');
            }
            html.push_str(&format!("<span class=\"credit\">{}</span>", escape(credit)));
        }
        html.push_str("</figcaption>");
    }
    html.push_str("</figure>\n");
    html
}

/// Sanitized HTML in which only the renderer's figures carry the media placeholder: a copy
/// an author wrote (in a link, a code span, text) gets its second underscore written as
/// `&#95;`, which reads the same in a page but is never completed into a URL; then the
/// figures' one-off marker becomes the placeholder.
fn disarm_placeholders(html: &str, figure_marker: &str) -> String {
    html.replace(MEDIA_PLACEHOLDER, "/_&#95;lede_media__")
        .replace(figure_marker, MEDIA_PLACEHOLDER)
}

/// At most 300 characters of plain text, cut at a word and ended with `…` when cut.
pub fn excerpt(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= EXCERPT_CHARS {
        return text;
    }
    let cut: String = text.chars().take(EXCERPT_CHARS).collect();
    let at_word = match cut.rfind(' ') {
        Some(space) if space > EXCERPT_CHARS / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!(
        "{}…",
        at_word.trim_end_matches([',', ';', ':', '.', '-', ' '])
    )
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(sanitizer);

/// What a body may hold: the rules every render ends with.
fn sanitizer() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tags(["figure", "figcaption", "picture", "source"])
        .add_tag_attributes("source", ["type", "srcset", "sizes"])
        .add_tag_attributes(
            "img",
            [
                "src",
                "srcset",
                "sizes",
                "width",
                "height",
                "alt",
                "loading",
                "decoding",
                "title",
                "style",
                "data-placeholder",
            ],
        )
        .add_tag_attributes("h2", ["id"])
        .add_tag_attributes("h3", ["id"])
        .add_tag_attributes("div", ["id"])
        .add_tag_attributes("sup", ["id"])
        .add_tag_attributes("li", ["id"])
        .add_allowed_classes("span", ["credit"])
        .add_allowed_classes("figure", ALIGN_CLASSES)
        .add_allowed_classes("a", ["footnote-backref"])
        .add_tag_attributes("a", ["aria-label"])
        .add_allowed_classes("sup", ["footnote-reference", "footnote-definition-label"])
        .add_allowed_classes("div", ["footnote-definition"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer"))
        // ammonia checks the schemes of `src` and `href`, not the URLs inside a `srcset`.
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("img" | "source", "srcset") => safe_srcset(value).map(Into::into),
            ("source", "type") => {
                matches!(value, "image/webp" | "image/avif").then(|| value.into())
            }
            // Only the renderer's own values: no author's CSS, no markup in a data value.
            ("img", "style") => is_aspect_ratio(value).then(|| value.into()),
            ("img", "data-placeholder") => value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                .then(|| value.into()),
            _ => Some(value.into()),
        });
    builder
}

/// `aspect-ratio: W / H` with whole numbers, as `figure_html` writes it.
fn is_aspect_ratio(value: &str) -> bool {
    value
        .strip_prefix("aspect-ratio: ")
        .and_then(|ratio| ratio.split_once(" / "))
        .is_some_and(|(w, h)| {
            [w, h]
                .iter()
                .all(|n| !n.is_empty() && n.len() <= 6 && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// A `srcset` with only the candidates whose URL `src` would allow (http, https or
/// relative); `None` (the attribute dropped) when none is left. Candidates are split as
/// browsers do: a URL runs to the next whitespace (so a `data:` URL's comma stays in it).
fn safe_srcset(value: &str) -> Option<String> {
    let allowed = |url: &str| match url.split_once(':') {
        // A colon after a `/`, `?` or `#` is part of a relative URL.
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
        }
        _ => true,
    };
    let mut kept = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        let end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (mut url, mut descriptor) = (&rest[..end], "");
        rest = &rest[end..];
        if url.ends_with(',') {
            url = url.trim_end_matches(',');
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            descriptor = rest[..end].trim();
            rest = &rest[end..];
        }
        if allowed(url) {
            kept.push(format!("{url} {descriptor}").trim_end().to_owned());
        }
    }
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// The last step of every render: whatever survives is safe to put in a page.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// A body for reading away from its page (a feed reader): sanitized again with every
/// relative link and image made absolute against `page` (the article's own address, so
/// `#footnote` and `/about` both land where they do on the site).
pub fn with_absolute_links(html: &str, page: &str) -> String {
    let Ok(base) = url::Url::parse(page) else {
        return sanitize(html);
    };
    let mut builder = sanitizer();
    builder.url_relative(ammonia::UrlRelative::RewriteWithBase(base));
    builder.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srcset_urls_are_filtered_like_src() {
        let html = sanitize(
            "<img src=\"a.jpg\" srcset=\"javascript:alert(1) 1x, https://ok.test/b.jpg 2x, \
             data:image/png;base64,AAAA 3x, /c.jpg 4x, JaVaScRiPt:x 5x\">\
             <img src=\"d.jpg\" srcset=\"vbscript:x 1x\">",
        );
        assert!(
            html.contains("srcset=\"https://ok.test/b.jpg 2x, /c.jpg 4x\""),
            "{html}"
        );
        assert!(!html.to_lowercase().contains("script:"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert_eq!(html.matches("srcset").count(), 1, "{html}");
    }

    fn figure() -> (Uuid, Figure) {
        (
            Uuid::now_v7(),
            Figure {
                url: "https://x.test/media/o.jpg".into(),
                width: 1600,
                height: 900,
                alt: Some("Stored alt".into()),
                caption: Some("Stored caption".into()),
                credit: Some("Photo: Kim".into()),
                srcset: vec![
                    ("https://x.test/media/w320.jpg".into(), 320),
                    ("https://x.test/media/o.jpg".into(), 1600),
                ],
                placeholder: Some("3PcNNYSFeXh/d3eld0iHZoZgVwh2".into()),
                sources: vec![(
                    "image/webp".into(),
                    vec![("https://x.test/media/w320.webp".into(), 320)],
                )],
            },
        )
    }

    #[test]
    fn figures_replace_image_references() {
        let (id, fig) = figure();
        let figures = HashMap::from([(id, fig)]);
        let md =
            format!("Intro text.\n\n![Markdown alt](image:{id})\n\n![](image:{id} \"Override\")\n");
        let out = render(&md, &figures);
        assert!(
            out.html
                .contains("<figure><picture><source type=\"image/webp\" srcset=\"https://x.test/media/w320.webp 320w\" sizes=\"(max-width: 800px) 100vw, 800px\"><img src=\"https://x.test/media/o.jpg\""),
            "{}",
            out.html
        );
        assert!(out.html.contains(
            "srcset=\"https://x.test/media/w320.jpg 320w, https://x.test/media/o.jpg 1600w\""
        ));
        assert!(out.html.contains("alt=\"Markdown alt\""));
        assert!(
            out.html.contains("alt=\"Stored alt\""),
            "empty markdown alt falls back"
        );
        assert!(out.html.contains(
            "<figcaption>Stored caption <span class=\"credit\">Photo: Kim</span></figcaption>"
        ));
        assert!(
            out.html
                .contains("<figcaption>Override <span class=\"credit\">")
        );
        assert!(out.html.contains("loading=\"lazy\"") && out.html.contains("decoding=\"async\""));
        assert!(
            out.html.contains(
                "style=\"aspect-ratio: 1600 / 900\" data-placeholder=\"3PcNNYSFeXh/d3eld0iHZoZgVwh2\""
            ),
            "{}",
            out.html
        );
        // An author's own style or placeholder is not kept: only the renderer's.
        let raw = render(
            "<img src=\"x.png\" style=\"position:fixed\" data-placeholder=\"a<b\">",
            &HashMap::new(),
        );
        assert!(
            !raw.html.contains("position") && !raw.html.contains("data-placeholder"),
            "{}",
            raw.html
        );
        assert!(!out.html.contains("<p><figure>"), "{}", out.html);
        assert!(out.text.contains("Stored caption"));
    }

    #[test]
    fn authors_cannot_forge_the_media_placeholder() {
        let (id, mut figure) = figure();
        figure.url = format!("{MEDIA_PLACEHOLDER}/images/a.jpg");
        figure.srcset = vec![(figure.url.clone(), 640)];
        let figures = HashMap::from([(id, figure)]);
        let markdown = format!(
            "[x]({MEDIA_PLACEHOLDER}/x) `{MEDIA_PLACEHOLDER}` &#95;\n\n![a](image:{id})\n\n<a href=\"{MEDIA_PLACEHOLDER}\">y</a>"
        );
        let html = render(&markdown, &figures).html;
        // Only the figure's src and srcset keep it.
        assert_eq!(html.matches(MEDIA_PLACEHOLDER).count(), 2, "{html}");
        assert!(html.contains(&format!("src=\"{MEDIA_PLACEHOLDER}/images/a.jpg\"")));
        let served = crate::media::storage::MediaUrls::placeholder().complete(&html);
        assert!(!served.contains("__lede_figure_"));
    }

    #[test]
    fn headings_get_unique_anchors_and_a_toc() {
        let out = render(
            "# Title\n\n## Why it stopped\n\ntext\n\n### Details & more\n\n## Why it stopped\n",
            &HashMap::new(),
        );
        assert!(
            out.html
                .contains("<h2 id=\"why-it-stopped\">Why it stopped</h2>"),
            "{}",
            out.html
        );
        assert!(out.html.contains("<h2 id=\"why-it-stopped-2\">"));
        assert_eq!(out.toc.len(), 3);
        assert_eq!(
            out.toc[1],
            TocEntry {
                level: 3,
                text: "Details & more".into(),
                anchor: "details-more".into()
            }
        );
    }

    #[test]
    fn excerpt_is_plain_and_cut_at_a_word() {
        let out = render(
            "# T\n\nSome **bold** text &amp; a [link](https://x.test).\n\nSecond.",
            &HashMap::new(),
        );
        assert_eq!(out.excerpt, "Some bold text & a link.");
        let long = "word ".repeat(100);
        let cut = excerpt(&long);
        assert!(
            cut.ends_with('…') && cut.chars().count() <= EXCERPT_CHARS + 1,
            "{cut}"
        );
        assert!(!cut.contains("wor…"));
    }

    #[test]
    fn counts_words_and_reading_time() {
        let out = render(&"lorem ipsum ".repeat(300), &HashMap::new());
        assert_eq!(out.word_count, 600);
        assert_eq!(out.reading_time_minutes, 3);
    }

    #[test]
    fn gfm_extensions_render() {
        let out = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ and a note[^1].\n\n[^1]: The note.\n",
            &HashMap::new(),
        );
        assert!(
            out.html.contains("<table>") && out.html.contains("<del>gone</del>"),
            "{}",
            out.html
        );
        assert!(out.html.contains("footnote-definition"), "{}", out.html);
    }

    #[test]
    fn footnotes_are_numbered_namespaced_and_link_back() {
        let out = render(
            "## Notes\n\nOne[^b] and two[^A], one again[^b].\n\n[^a]: Second.\n\n[^b]: First.\n\n\
             ## Results[^c]\n\n[^c]: Third.\n",
            &HashMap::new(),
        );
        let html = &out.html;
        for expected in [
            r##"<sup class="footnote-reference" id="fnref:1"><a href="#fn:1" rel="noopener noreferrer">1</a></sup>"##,
            r##"<sup class="footnote-reference" id="fnref:2"><a href="#fn:2" rel="noopener noreferrer">2</a></sup>"##,
            r##"id="fnref:1:2""##,
            r##"<div class="footnote-definition" id="fn:1">"##,
            r##"<a href="#fnref:1" class="footnote-backref" aria-label="Back to reference 1" rel="noopener noreferrer">↩</a></div>"##,
            r##"<a href="#fnref:2" class="footnote-backref""##,
        ] {
            assert!(html.contains(expected), "{expected} in {html}");
        }
        assert!(!html.contains(r#"id="1""#), "{html}");
        // In a heading too, and a label in another case is the same note.
        assert!(
            html.contains(
                r##"<h2 id="results">Results<sup class="footnote-reference" id="fnref:3">"##
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"id="fn:3""#) && !html.contains(r#"id="fn:4""#),
            "{html}"
        );
    }

    #[test]
    fn image_refs_are_collected_and_bad_ones_named() {
        let id = Uuid::now_v7();
        let (ids, bad) = image_refs(&format!(
            "![a](image:{id}) ![b](image:nope) ![c](https://x.test/a.png)"
        ));
        assert_eq!(ids, [id]);
        assert_eq!(bad, ["nope"]);
        // An alignment after the id; any other fragment is a bad reference.
        let (ids, bad) = image_refs(&format!("![a](image:{id}#wide) ![b](image:{id}#huge)"));
        assert_eq!((ids, bad), (vec![id], vec![format!("{id}#huge")]));
    }

    #[test]
    fn an_aligned_figure_carries_its_class() {
        let id = Uuid::now_v7();
        let figure = Figure {
            url: "/media/a.jpg".into(),
            width: 800,
            height: 600,
            alt: None,
            caption: None,
            credit: None,
            srcset: vec![],
            placeholder: None,
            sources: vec![],
        };
        let out = render(
            &format!("![a](image:{id}#full)\n\n<figure class=\"alignfull evil\">x</figure>"),
            &HashMap::from([(id, figure)]),
        );
        assert!(
            out.html.starts_with("<figure class=\"alignfull\">"),
            "{}",
            out.html
        );
        assert!(!out.html.contains("evil"), "{}", out.html);
    }
}
