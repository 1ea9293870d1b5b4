//! What rendering takes out of a body's HTML, told to the writer: each element or attribute
//! the sanitizer does not allow (an `<iframe>`, a `class` on a `<div>`), with its line. The
//! stored source keeps what was written; only `body_html` goes without. Judged by the
//! sanitizer itself (each tag of the source is cleaned alone and compared), so the report
//! cannot drift from what it does.
use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use serde::Serialize;
use utoipa::ToSchema;

/// One thing rendering removed from the body's HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"line": 12, "html": "<iframe>", "reason": "`<iframe>` is not allowed in a body: removed"}))]
pub struct Removed {
    /// The line of `body_markdown` it is on, from 1.
    pub line: usize,
    /// The element (`<iframe>`), or the attribute (`<div class="callout">`).
    pub html: String,
    pub reason: String,
}

/// Reports at most this many (a body of a thousand embeds needs no thousand lines).
const MOST: usize = 50;
/// Judges at most this many tags (each is one run of the sanitizer): a body of 80,000
/// `<br>`s costs what its first thousands do.
const JUDGED: usize = 2_000;

/// What rendering `markdown` removes from its raw HTML, in source order.
pub fn removed(markdown: &str) -> Vec<Removed> {
    if !markdown.contains('<') {
        return Vec::new();
    }
    let lines = super::limits::LineIndex::new(markdown);
    // Raw HTML as written: an HTML block whole (a tag may span its lines), inline HTML by
    // itself, each with where it starts.
    let mut pieces: Vec<(usize, String)> = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for (event, range) in Parser::new_ext(markdown, super::render::options()).into_offset_iter() {
        match event {
            Event::Start(Tag::HtmlBlock) => block = Some((range.start, String::new())),
            Event::End(TagEnd::HtmlBlock) => pieces.extend(block.take()),
            Event::Html(text) => match block.as_mut() {
                Some((_, html)) => html.push_str(&text),
                None => pieces.push((range.start, text.to_string())),
            },
            Event::InlineHtml(text) => pieces.push((range.start, text.to_string())),
            _ => {}
        }
    }
    let mut found = Vec::new();
    let mut judged = 0;
    for (start, html) in pieces {
        // Lines within a piece counted as its tags come, once.
        let (mut line, mut counted) = (lines.line_of(start), 0);
        for (at, tag) in start_tags(&html) {
            line += html[counted..at].matches('\n').count();
            counted = at;
            found.extend(judge(&tag).into_iter().map(|(html, reason)| Removed {
                line,
                html,
                reason,
            }));
            judged += 1;
            if found.len() >= MOST || judged >= JUDGED {
                found.truncate(MOST);
                return found;
            }
        }
    }
    found
}

/// A start tag as written: its name (lowercased) and attributes (names lowercased).
struct StartTag {
    text: String,
    name: String,
    attributes: Vec<(String, String)>,
}

/// The start tags in `html`, with where each begins: comments, end tags and what a
/// `<script>` or `<style>` holds (text to the parser) passed over.
fn start_tags(html: &str) -> Vec<(usize, StartTag)> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        let at = i + offset;
        i = at + 1;
        if html[at..].starts_with("<!--") {
            i = html[at..]
                .find("-->")
                .map_or(html.len(), |end| at + end + 3);
            continue;
        }
        if !bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        if let Some((tag, end)) = parse_tag(html, at) {
            i = end;
            if matches!(tag.name.as_str(), "script" | "style") {
                let closing = format!("</{}", tag.name);
                i = html[end..]
                    .to_ascii_lowercase()
                    .find(&closing)
                    .map_or(html.len(), |offset| end + offset);
            }
            tags.push((at, tag));
        }
    }
    tags
}

/// The start tag at `at` (a `<` followed by a letter) and where it ends.
fn parse_tag(html: &str, at: usize) -> Option<(StartTag, usize)> {
    let rest = &html[at + 1..];
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    let name = rest[..name_len].to_ascii_lowercase();
    let mut attributes = Vec::new();
    let mut chars = rest[name_len..].char_indices().peekable();
    let base = at + 1 + name_len;
    loop {
        while chars
            .next_if(|(_, c)| c.is_whitespace() || *c == '/')
            .is_some()
        {}
        let (offset, c) = chars.next()?;
        if c == '>' {
            let end = base + offset + 1;
            let text = html[at..end].to_owned();
            return Some((
                StartTag {
                    text,
                    name,
                    attributes,
                },
                end,
            ));
        }
        let mut attribute = c.to_ascii_lowercase().to_string();
        while let Some((_, c)) =
            chars.next_if(|(_, c)| !c.is_whitespace() && !matches!(c, '=' | '>' | '/'))
        {
            attribute.push(c.to_ascii_lowercase());
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '=').is_some() {
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            match chars.next_if(|(_, c)| *c == '"' || *c == '\'') {
                Some((_, quote)) => {
                    for (_, c) in chars.by_ref() {
                        if c == quote {
                            break;
                        }
                        value.push(c);
                    }
                }
                None => {
                    while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '>')
                    {
                        value.push(c);
                    }
                }
            }
        }
        attributes.push((attribute, value));
    }
}

/// `&amp;`, `&quot;`, `&#39;`, `&lt;` and `&gt;` as the characters they stand for: an
/// attribute's value as written and as the sanitizer writes it back compare as values.
fn unescaped(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// What the sanitizer takes from `tag`: the element itself, or some of its attributes.
/// Judged where the element may stand (a `<td>` in a table row: alone, the HTML parser
/// would drop it whatever the sanitizer allows).
fn judge(tag: &StartTag) -> Vec<(String, String)> {
    let context = match tag.name.as_str() {
        "td" | "th" => ("<table><tr>", "</tr></table>"),
        "tr" | "tbody" | "thead" | "tfoot" | "caption" | "colgroup" | "col" => {
            ("<table>", "</table>")
        }
        _ => ("", ""),
    };
    let cleaned = super::render::sanitize(&format!("{}{}{}", context.0, tag.text, context.1));
    let kept = start_tags(&cleaned)
        .into_iter()
        .map(|(_, t)| t)
        .find(|t| t.name == tag.name);
    let Some(kept) = kept else {
        return vec![(
            format!("<{}>", tag.name),
            format!("`<{}>` is not allowed in a body: removed", tag.name),
        )];
    };
    let mut removed = Vec::new();
    for (name, value) in &tag.attributes {
        let shown = format!("<{} {name}=\"{value}\">", tag.name);
        match kept.attributes.iter().find(|(n, _)| n == name) {
            None => removed.push((
                shown,
                format!("`{name}` is not allowed on `<{}>`: removed", tag.name),
            )),
            Some((_, kept)) if unescaped(kept) != unescaped(value) => removed.push((
                shown,
                format!(
                    "`{name}=\"{value}\"` is not allowed on `<{}>`: kept as `{kept}`",
                    tag.name
                ),
            )),
            Some(_) => {}
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_the_sanitizer_takes_and_where() {
        let markdown = "Intro.\n\n<iframe src=\"https://www.youtube.com/embed/x\"></iframe>\n\n\
            <div class=\"callout\"\n  title=\"Note\">Careful.</div>\n\nA <span style=\"color:red\">word</span> and <b>bold</b>.\n";
        let found = removed(markdown);
        let short: Vec<(usize, &str)> = found.iter().map(|r| (r.line, r.html.as_str())).collect();
        assert_eq!(
            short,
            [
                (3, "<iframe>"),
                (5, "<div class=\"callout\">"),
                (8, "<span style=\"color:red\">"),
            ],
            "{found:#?}"
        );
        assert!(found[0].reason.contains("not allowed"), "{found:#?}");
        assert!(removed("Plain *text* only.").is_empty());
        assert!(removed("<b>bold</b> and <a href=\"https://x.test\">a link</a>").is_empty());
        // What the sanitizer keeps is not reported: tables, escaped values, comments.
        let kept = "<table><tr><td>a</td></tr></table>\n\n<a href=\"https://x.test/?a=1&b=2\">q</a>\n\n\
            <!-- <iframe> -->";
        assert!(removed(kept).is_empty(), "{:#?}", removed(kept));
        // Many allowed tags cost a bounded number of judgements.
        assert!(removed(&"x<br>\n".repeat(80_000)).is_empty());
    }
}
