//! What an article body may hold, checked before it is rendered: how deep it nests, and
//! where its links and images point. Sanitizing HTML costs time in proportion to the depth
//! of every element (a body of 30,000 nested list items took minutes); a newsroom's
//! deepest real structure (a quote in a list in a list) is a handful of levels, so bodies
//! deeper than `MAX_NESTING` are refused, and every body of an allowed size then renders in
//! well under a second (`bench/render`). Link targets are checked on the markdown itself:
//! the stored markdown is public (`include=body`) and front-ends render it with their own
//! tools (MDX, remark), which do not sanitize as lede's HTML does.
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// Markdown containers (lists, items, quotes, footnotes, tables) and HTML elements, one
/// inside another, at most.
pub const MAX_NESTING: usize = 16;

/// Elements with no content and no end tag.
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements a new one of the same name closes (`<p>a<p>b` are two paragraphs side by side).
const SELF_CLOSING_SIBLINGS: [&str; 10] = [
    "p", "li", "dt", "dd", "option", "tr", "td", "th", "rt", "rp",
];

/// A problem with a body: its code and a message naming the line.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyProblem {
    pub code: &'static str,
    pub message: String,
}

/// The problems of `markdown` (none: it may be rendered). Stops at the first nesting
/// problem: past it, nothing is looked at.
pub fn check(markdown: &str) -> Vec<BodyProblem> {
    let lines = LineIndex::new(markdown);
    let mut problems = Vec::new();
    let mut containers = 0usize;
    let mut html = HtmlDepth::new(MAX_NESTING);
    for (event, range) in Parser::new_ext(markdown, super::render::options()).into_offset_iter() {
        match &event {
            Event::Start(tag) if is_container(tag) => containers += 1,
            Event::End(tag) if is_container_end(tag) => containers = containers.saturating_sub(1),
            Event::Html(text) | Event::InlineHtml(text) => html.feed(text),
            _ => {}
        }
        if let Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) = &event {
            let image = matches!(event, Event::Start(Tag::Image { .. }));
            if !safe_target(dest_url, image) && problems.len() < 10 {
                problems.push(BodyProblem {
                    code: "unsafe_link",
                    message: format!(
                        "line {}: a link or image may point to http(s), mailto, tel, a path or \
                         a #fragment, not `{}`",
                        lines.line_of(range.start),
                        shown(dest_url)
                    ),
                });
            }
        }
        if containers + html.depth() > MAX_NESTING {
            problems.push(BodyProblem {
                code: "too_deep",
                message: format!(
                    "line {}: lists, quotes and HTML elements nest more than {MAX_NESTING} \
                     levels deep",
                    lines.line_of(range.start)
                ),
            });
            break;
        }
    }
    problems
}

fn is_container(tag: &Tag) -> bool {
    matches!(
        tag,
        Tag::List(_)
            | Tag::Item
            | Tag::BlockQuote(_)
            | Tag::FootnoteDefinition(_)
            | Tag::Table(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
    )
}

fn is_container_end(tag: &TagEnd) -> bool {
    matches!(
        tag,
        TagEnd::List(_)
            | TagEnd::Item
            | TagEnd::BlockQuote(_)
            | TagEnd::FootnoteDefinition
            | TagEnd::Table
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
    )
}

/// Whether a link (or, with `image`, an image) may point at `target`: a web or mail
/// address, a phone number, a path or a fragment; a figure (`image:<id>`) for images.
/// Read as a browser would: ASCII whitespace and control characters anywhere are ignored
/// (`java\tscript:`), and the scheme's case does not matter.
pub fn safe_target(target: &str, image: bool) -> bool {
    let target: String = target
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect();
    let Some((scheme, _)) = target.split_once(':') else {
        return true;
    };
    // A colon after a `/`, `?` or `#` belongs to a path, a query or a fragment.
    if scheme.contains(['/', '?', '#']) {
        return true;
    }
    let scheme = scheme.to_ascii_lowercase();
    matches!(scheme.as_str(), "http" | "https" | "mailto" | "tel") || (image && scheme == "image")
}

/// At most 60 characters of a target, for a message.
fn shown(target: &str) -> String {
    let short: String = target.chars().take(60).collect();
    if short.len() < target.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// How deep HTML elements are open, read as a browser's parser builds them: an end tag
/// closes the open element of its name (and those opened inside it), a stray one closes
/// nothing, void elements and `<x/>` open nothing.
struct HtmlDepth {
    /// Past this depth nothing more is read.
    limit: usize,
    open: Vec<String>,
    /// The start of a tag not finished in the last piece of HTML (an HTML block comes in
    /// one piece per line).
    pending: String,
}

/// Whether `html` nests elements deeper than `limit`, as a browser's parser would build
/// them (stray end tags close nothing). Reads no further than the first element past it.
pub fn html_deeper_than(html: &str, limit: usize) -> bool {
    let mut depth = HtmlDepth::new(limit);
    depth.feed(html);
    depth.depth() > limit
}

impl HtmlDepth {
    fn new(limit: usize) -> HtmlDepth {
        HtmlDepth {
            limit,
            open: Vec::new(),
            pending: String::new(),
        }
    }

    fn depth(&self) -> usize {
        self.open.len()
    }

    fn feed(&mut self, text: &str) {
        let joined;
        let mut rest = if self.pending.is_empty() {
            text
        } else {
            joined = std::mem::take(&mut self.pending) + text;
            joined.as_str()
        };
        // Past the limit the body is refused: nothing more is worth reading (and a stray
        // end tag looked up in a deep stack would cost in proportion to its depth).
        while let Some(at) = rest.find('<')
            && self.open.len() <= self.limit
        {
            rest = &rest[at + 1..];
            let Some(end) = rest.find('>') else {
                // Kept for the next piece, but never more than a tag's worth.
                if rest.len() < 4096 {
                    self.pending = format!("<{rest}");
                }
                return;
            };
            self.tag(&rest[..end]);
            rest = &rest[end + 1..];
        }
    }

    fn tag(&mut self, tag: &str) {
        let (closing, tag) = match tag.strip_prefix('/') {
            Some(tag) => (true, tag),
            None => (false, tag),
        };
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || !tag.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return;
        }
        if closing {
            if let Some(at) = self.open.iter().rposition(|open| *open == name) {
                self.open.truncate(at);
            }
        } else if !VOID.contains(&name.as_str()) && !tag.ends_with('/') {
            if SELF_CLOSING_SIBLINGS.contains(&name.as_str())
                && self.open.last().is_some_and(|top| *top == name)
            {
                self.open.pop();
            }
            self.open.push(name);
        }
    }
}

/// Line numbers of byte offsets.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        LineIndex(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(at, _)| at)
                .collect(),
        )
    }

    fn line_of(&self, offset: usize) -> usize {
        1 + self.0.partition_point(|&newline| newline < offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(markdown: &str) -> Vec<&'static str> {
        check(markdown).into_iter().map(|p| p.code).collect()
    }

    #[test]
    fn ordinary_bodies_pass() {
        let body = "## A heading\n\n- one\n  - two\n    > a quote\n\n<div><p>a<p>b</div>\n\n\
                    [site](https://x.test) [mail](mailto:a@x.test) [call](tel:+4412) \
                    [path](/about) [here](#top) [rel](other-page) [q](/a?b=c:d)\n\n\
                    ![fig](image:0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b)";
        assert_eq!(check(body), []);
    }

    #[test]
    fn deep_nesting_is_refused_with_its_line() {
        let limit = "- ".repeat(MAX_NESTING / 2) + "x";
        assert_eq!(check(&limit), []);
        for deep in [
            "- ".repeat(32_000) + "x",
            "> ".repeat(64_000),
            "<div>".repeat(100_000),
            // Stray end tags close nothing: still 10,000 deep.
            "<div></span>".repeat(10_000),
            format!("text\n\n{}", "<ul><li>".repeat(20)),
            format!("{}<div>x</div>", "> - ".repeat(7)),
        ] {
            let problems = check(&deep);
            assert_eq!(problems.len(), 1, "{}", &deep[..20]);
            assert_eq!(problems[0].code, "too_deep");
        }
        let problem = &check(&format!("a\n\nb\n\n{}", "> ".repeat(40)))[0];
        assert!(
            problem.message.starts_with("line 5:"),
            "{}",
            problem.message
        );
        // Closed elements and siblings do not add up.
        assert_eq!(
            codes(&"<div><b>x</b></div>".repeat(1000)),
            Vec::<&str>::new()
        );
        assert_eq!(codes(&"<p>x".repeat(1000)), Vec::<&str>::new());
    }

    #[test]
    fn only_safe_link_targets() {
        for bad in [
            "[js](javascript:alert(3))",
            "[js](JaVaScRiPt:alert(3))",
            "[js](java%0Ascript:x)",
            "[js](<java\tscript:alert(1)>)",
            "[d](data:text/html;base64,PHNjcmlwdD4=)",
            "[v](vbscript:msgbox)",
            "![i](javascript:alert(1))",
            "[x](image:0193a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b)",
            "<javascript:alert(1)>",
            "[ref]\n\n[ref]: javascript:alert(1)",
            "[e](&#106;avascript:alert(1))",
        ] {
            assert_eq!(codes(bad), ["unsafe_link"], "{bad}");
        }
        let problem = &check("ok\n\n[js](javascript:alert(3))")[0];
        assert!(
            problem.message.starts_with("line 3:"),
            "{}",
            problem.message
        );
    }
}
