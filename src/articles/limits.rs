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
    let mut html = HtmlDepth::new(MAX_NESTING, MAX_ELEMENTS);
    unsafe_definitions(markdown, &mut problems);
    for (event, range) in Parser::new_ext(markdown, super::render::options()).into_offset_iter() {
        match &event {
            Event::Start(tag) if is_container(tag) => containers += 1,
            Event::End(tag) if is_container_end(tag) => containers = containers.saturating_sub(1),
            Event::Html(text) | Event::InlineHtml(text) => {
                html.feed(text);
                for target in html.unsafe_targets.drain(..) {
                    unsafe_link(&mut problems, lines.line_of(range.start), &target);
                }
            }
            _ => {}
        }
        if let Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) = &event {
            let image = matches!(event, Event::Start(Tag::Image { .. }));
            if !safe_target(dest_url, image) {
                unsafe_link(&mut problems, lines.line_of(range.start), dest_url);
            }
        }
        if html.too_many() {
            problems.push(BodyProblem {
                code: "too_many_elements",
                message: format!(
                    "line {}: more than {MAX_ELEMENTS} HTML elements",
                    lines.line_of(range.start)
                ),
            });
            break;
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

/// Names a link target that is refused (each once, ten at most).
fn unsafe_link(problems: &mut Vec<BodyProblem>, line: usize, target: &str) {
    let named = format!("`{}`", shown(target));
    if problems.len() < 10 && !problems.iter().any(|p| p.message.ends_with(&named)) {
        problems.push(BodyProblem {
            code: "unsafe_link",
            message: format!(
                "line {line}: a link or image may point to http(s), mailto, tel, a path or a \
                 #fragment, not {named}"
            ),
        });
    }
}

/// Link reference definitions (`[name]: target`) whose target is refused, wherever they
/// are and whether or not a link uses them: another renderer may read one the markdown
/// parser here takes for something else (`[^note]: javascript:...` is a footnote here,
/// a link elsewhere). A line of a code block that looks like one is refused too.
fn unsafe_definitions(markdown: &str, problems: &mut Vec<BodyProblem>) {
    for (number, line) in markdown.lines().enumerate() {
        let text = line.trim_start_matches(' ');
        if line.len() - text.len() > 3 || !text.starts_with('[') {
            continue;
        }
        let Some(close) = text.find("]:") else {
            continue;
        };
        let mut words = text[close + 2..].split_whitespace();
        let target = words
            .next()
            .unwrap_or_default()
            .trim_start_matches('<')
            .trim_end_matches('>');
        // A definition is a target alone or with a quoted title (`[^1]: Source: Reuters`
        // is a footnote's text, here and anywhere).
        let alone = words
            .next()
            .is_none_or(|title| title.starts_with(['"', '\'', '(']));
        // A footnote's text may start with any word and a colon: only what would run is
        // refused there.
        let runs = |target: &str| {
            let target = target.to_ascii_lowercase();
            ["javascript:", "vbscript:", "data:"]
                .iter()
                .any(|scheme| target.starts_with(scheme))
        };
        let footnote = text.starts_with("[^");
        if alone && !target.is_empty() && !safe_target(target, false) && (!footnote || runs(target))
        {
            unsafe_link(problems, number + 1, target);
        }
    }
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

/// HTML elements a body may hold (start tags of elements that have content): a bound on
/// what sanitizing costs, whatever the nesting rules below misjudge.
pub const MAX_ELEMENTS: usize = 5_000;

/// Elements whose end tag a stray end tag of another name never passes (the HTML
/// parser's "special" category): `</span>` inside `<span><div>` closes nothing.
const SPECIAL: [&str; 52] = [
    "address",
    "applet",
    "article",
    "aside",
    "blockquote",
    "body",
    "button",
    "caption",
    "center",
    "colgroup",
    "dd",
    "details",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "html",
    "li",
    "listing",
    "main",
    "marquee",
    "menu",
    "nav",
    "object",
    "ol",
    "p",
    "pre",
    "section",
    "select",
    "summary",
    "table",
    "tbody",
    "td",
    "template",
    "tfoot",
    "th",
    "thead",
    "tr",
];

/// Elements whose content is text, not markup, up to their own end tag.
const RAW_TEXT: [&str; 9] = [
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
];

/// How deep HTML elements are open, read as a browser's parser builds them: `<x/>` opens
/// `x` unless it is void; an end tag closes the open element of its name unless a
/// "special" element stands above it (then it closes nothing); quoted attribute values,
/// comments and the text of `<script>`-like elements hold no tags. Where this differs from
/// the parser it counts deeper, and `MAX_ELEMENTS` bounds the rest.
struct HtmlDepth {
    /// Past this depth nothing more is read.
    limit: usize,
    open: Vec<String>,
    /// Start tags of elements with content seen so far, and how many may be.
    elements: usize,
    max_elements: usize,
    /// Inside the text of this element (`script`, `style`, ...), up to its end tag.
    raw: Option<String>,
    /// Link targets of raw HTML (`href`, `src`, ...) that `safe_target` refuses.
    unsafe_targets: Vec<String>,
    /// A tag, comment or raw text not finished in the last piece of HTML (an HTML block
    /// comes in one piece per line).
    pending: String,
}

/// Whether `html` nests elements deeper than `limit`, as a browser's parser would build
/// them. Reads no further than the first element past it.
pub fn html_deeper_than(html: &str, limit: usize) -> bool {
    let mut depth = HtmlDepth::new(limit, usize::MAX);
    depth.feed(html);
    depth.depth() > limit
}

impl HtmlDepth {
    fn new(limit: usize, max_elements: usize) -> HtmlDepth {
        HtmlDepth {
            limit,
            open: Vec::new(),
            elements: 0,
            max_elements,
            unsafe_targets: Vec::new(),
            raw: None,
            pending: String::new(),
        }
    }

    fn depth(&self) -> usize {
        self.open.len()
    }

    fn too_many(&self) -> bool {
        self.elements > self.max_elements
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
        while self.open.len() <= self.limit && !self.too_many() {
            if let Some(raw) = &self.raw {
                let Some(at) = find_ignoring_case(rest, &format!("</{raw}")) else {
                    self.keep(rest);
                    return;
                };
                rest = &rest[at..];
                self.raw = None;
            }
            let Some(at) = rest.find('<') else {
                return;
            };
            rest = &rest[at..];
            if let Some(comment) = rest.strip_prefix("<!--") {
                let Some(end) = comment.find("-->") else {
                    self.keep(rest);
                    return;
                };
                rest = &comment[end + 3..];
                continue;
            }
            let Some(end) = tag_end(&rest[1..]) else {
                self.keep(rest);
                return;
            };
            self.tag(&rest[1..1 + end]);
            rest = &rest[1 + end + 1..];
        }
    }

    /// Keeps what is not finished for the next piece, but never more than a tag's worth.
    fn keep(&mut self, rest: &str) {
        if rest.len() < 4096 {
            self.pending = rest.to_owned();
        }
    }

    fn tag(&mut self, tag: &str) {
        let (closing, tag) = match tag.strip_prefix('/') {
            Some(tag) => (true, tag),
            None => (false, tag),
        };
        if !tag.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if !closing {
            for (attribute, value) in attributes(&tag[name.len()..]) {
                if URL_ATTRIBUTES.contains(&attribute.as_str()) && !safe_target(&value, false) {
                    self.unsafe_targets.push(value);
                }
            }
        }
        if closing {
            for at in (0..self.open.len()).rev() {
                if self.open[at] == name {
                    self.open.truncate(at);
                    break;
                }
                if SPECIAL.contains(&self.open[at].as_str()) {
                    break;
                }
            }
        } else if RAW_TEXT.contains(&name.as_str()) {
            self.raw = Some(name);
        } else if !VOID.contains(&name.as_str()) {
            self.elements += 1;
            if SELF_CLOSING_SIBLINGS.contains(&name.as_str())
                && self.open.last().is_some_and(|top| *top == name)
            {
                self.open.pop();
            }
            self.open.push(name);
        }
    }
}

/// Attributes of raw HTML whose value is an address a browser may load or run.
const URL_ATTRIBUTES: [&str; 9] = [
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "poster",
    "data",
    "background",
    "cite",
];

/// The attributes of a tag after its name, names lowercased, values as written (entities
/// left as they are: `&#106;` hides nothing from `safe_target`, which refuses the colon
/// it cannot see past).
fn attributes(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        let end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        if end == 0 {
            return found;
        }
        let name = rest[..end].to_ascii_lowercase();
        rest = rest[end..].trim_start();
        let Some(after) = rest.strip_prefix('=') else {
            found.push((name, String::new()));
            continue;
        };
        let after = after.trim_start();
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(close) => (&after[1..1 + close], &after[close + 2..]),
                None => (&after[1..], ""),
            },
            _ => {
                let end = after
                    .find(|c: char| c.is_ascii_whitespace())
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        found.push((name, decode_entities(value)));
        rest = next;
    }
}

/// Numeric character references and a colon's named one decoded, as a browser reads an
/// attribute (`&#106;avascript&colon;`).
fn decode_entities(value: &str) -> String {
    if !value.contains('&') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|end| *end <= 12);
        let decoded = end.and_then(|end| {
            let entity = &rest[1..end];
            let number = match entity.strip_prefix('#') {
                Some(hex) if hex.starts_with(['x', 'X']) => u32::from_str_radix(&hex[1..], 16).ok(),
                Some(decimal) => decimal.parse().ok(),
                None if entity.eq_ignore_ascii_case("colon") => Some(u32::from(':')),
                None if entity.eq_ignore_ascii_case("tab") => Some(u32::from('\t')),
                None if entity.eq_ignore_ascii_case("newline") => Some(u32::from('\n')),
                None => None,
            };
            number.and_then(char::from_u32).map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where a tag that started just before `text` ends (its `>`), past quoted attribute
/// values; `None` when it does not end in `text`.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut after_equals = false;
    for (at, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '>') => return Some(at),
            (None, '"' | '\'') if after_equals => quote = Some(c),
            (None, '=') => after_equals = true,
            (None, c) if c.is_ascii_whitespace() => {}
            (None, _) => after_equals = false,
        }
    }
    None
}

/// Where `needle` (ASCII) first appears in `text`, whatever the case.
fn find_ignoring_case(text: &str, needle: &str) -> Option<usize> {
    text.as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
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
                    A note[^1].\n\n[^1]: Source: Reuters\n\n[^2]: See: the council's minutes\n\n\
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
        // What a browser's parser nests, however it is written.
        for deep in [
            "<div/>".repeat(1000),
            "<span><div></span>".repeat(1000),
            "<div title=\"></div>\">".repeat(1000),
            "<div><!-- > </div> -->".repeat(1000),
            "<div><script></div></script>".repeat(1000),
        ] {
            assert_eq!(codes(&deep), ["too_deep"], "{}", &deep[..30]);
        }
        assert_eq!(
            codes(&"<b>x</b>".repeat(MAX_ELEMENTS + 1)),
            ["too_many_elements"]
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
            "[^x]: javascript:alert(1)",
            "[unused]: <javascript:alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a HREF='JaVaScRiPt:alert(1)'>x</a>",
            "<img src=x:y>",
            "text <a href=&#106;avascript&colon;alert(1)>x</a>",
            "<iframe src=\"data:text/html,x\"></iframe>",
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
