//! What rendering takes out of a body's HTML, told to the writer: each element or attribute
//! the sanitizer does not allow (an `<iframe>`, a `class` on a `<div>`), with its line. The
//! stored source keeps what was written; only `body_html` goes without. Judged by the
//! sanitizer itself (each start tag the body check read is cleaned alone, read back the
//! same way and compared), so the report cannot drift from what it does.
use serde::Serialize;
use utoipa::ToSchema;

use super::limits::{self, StartTag};

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
pub const JUDGED: usize = 2_000;

/// What rendering removes from a body's raw HTML, given the start tags `limits::read`
/// kept of it (at most `JUDGED`), in source order.
pub fn removed(tags: &[StartTag]) -> Vec<Removed> {
    let mut found = Vec::new();
    for tag in tags.iter().take(JUDGED) {
        found.extend(judge(tag).into_iter().map(|(html, reason)| Removed {
            line: tag.line,
            html,
            reason,
        }));
        if found.len() >= MOST {
            found.truncate(MOST);
            break;
        }
    }
    found
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
    let kept = limits::start_tags(&cleaned, 8)
        .into_iter()
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

    fn removed(markdown: &str) -> Vec<Removed> {
        super::removed(&limits::read(markdown, JUDGED).start_tags)
    }

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
