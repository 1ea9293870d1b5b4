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

/// A problem with a body: its code and a message naming the line.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyProblem {
    pub code: &'static str,
    pub message: String,
}

/// A start tag of a body's raw HTML, as the check read it: its line, name (lowercased),
/// text as written (`<div class="x">`) and attributes (names lowercased, values decoded).
#[derive(Debug, Clone, PartialEq)]
pub struct StartTag {
    pub line: usize,
    pub name: String,
    pub text: String,
    pub attributes: Vec<(String, String)>,
}

/// What reading a body found: its problems, and the first start tags of its raw HTML.
pub struct Reading {
    pub problems: Vec<BodyProblem>,
    pub start_tags: Vec<StartTag>,
}

/// The problems of `markdown` (none: it may be rendered). Stops at the first nesting
/// problem: past it, nothing is looked at.
pub fn check(markdown: &str) -> Vec<BodyProblem> {
    read(markdown, 0).problems
}

/// As `check`, also keeping the first `keep_tags` start tags of the raw HTML (for
/// `removed`: one read of the body serves both).
pub fn read(markdown: &str, keep_tags: usize) -> Reading {
    let lines = LineIndex::new(markdown);
    let mut problems = Vec::new();
    let mut containers = 0usize;
    let mut html = HtmlDepth::new(MAX_NESTING, MAX_ELEMENTS);
    html.keep_tags = keep_tags;
    unsafe_definitions(markdown, &mut problems);
    for (event, range) in Parser::new_ext(markdown, super::render::options()).into_offset_iter() {
        match &event {
            Event::Start(tag) if is_container(tag) => containers += 1,
            Event::End(tag) if is_container_end(tag) => containers = containers.saturating_sub(1),
            Event::Html(text) | Event::InlineHtml(text) => {
                html.feed(text, lines.line_of(range.start));
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
        if html.unreadable {
            problems.push(BodyProblem {
                code: "invalid_html",
                message: format!(
                    "line {}: a tag, comment or script that does not end (or ends kilobytes \
                     later)",
                    lines.line_of(range.start)
                ),
            });
            break;
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
    Reading {
        problems,
        start_tags: html.start_tags,
    }
}

/// The start tags of `html` (at most `most`), read as `check` reads a body's raw HTML.
pub fn start_tags(html: &str, most: usize) -> Vec<StartTag> {
    let mut depth = HtmlDepth::new(usize::MAX, usize::MAX);
    depth.keep_tags = most;
    depth.feed(html, 1);
    depth.start_tags
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
    // As a URL parser reads it: spaces and controls at either end go, tabs and line breaks
    // anywhere; a scheme is a letter, then letters, digits, `+`, `-` or `.`, before the
    // first colon (`14:30`, `Part 1: Results` and `/wiki/File:x` are relative).
    let target: String = target
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let Some((scheme, _)) = target.split_once(':') else {
        return true;
    };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
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
    /// Bytes of unfinished HTML read again, and whether some could not be read at all.
    reread: usize,
    unreadable: bool,
    /// A tag, comment or raw text not finished in the last piece of HTML (an HTML block
    /// comes in one piece per line), and the line it starts on.
    pending: String,
    pending_line: usize,
    /// Start tags kept, and how many may be (none unless asked).
    start_tags: Vec<StartTag>,
    keep_tags: usize,
}

/// Whether `html` nests elements deeper than `limit`, as a browser's parser would build
/// them. Reads no further than the first element past it.
pub fn html_deeper_than(html: &str, limit: usize) -> bool {
    let mut depth = HtmlDepth::new(limit, usize::MAX);
    depth.feed(html, 1);
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
            reread: 0,
            unreadable: false,
            raw: None,
            pending: String::new(),
            pending_line: 0,
            start_tags: Vec::new(),
            keep_tags: 0,
        }
    }

    fn depth(&self) -> usize {
        self.open.len()
    }

    fn too_many(&self) -> bool {
        self.elements > self.max_elements
    }

    /// Reads `text`, a piece of HTML starting on `line`.
    fn feed(&mut self, text: &str, line: usize) {
        // What was pending starts on its own line; what follows it, on this one.
        let (pending, pending_line) = (self.pending.len(), self.pending_line);
        let joined;
        let whole = if self.pending.is_empty() {
            text
        } else {
            joined = std::mem::take(&mut self.pending) + text;
            joined.as_str()
        };
        let line_of = |rest: &str| match whole.len() - rest.len() < pending {
            true => pending_line,
            false => line,
        };
        let mut rest = whole;
        // Past the limit the body is refused: nothing more is worth reading (and a stray
        // end tag looked up in a deep stack would cost in proportion to its depth).
        while self.open.len() <= self.limit && !self.too_many() && !self.unreadable {
            if let Some(raw) = &self.raw {
                let Some(at) = find_ignoring_case(rest, &format!("</{raw}")) else {
                    self.keep(rest, line_of(rest));
                    return;
                };
                rest = &rest[at..];
                self.raw = None;
            }
            let Some(at) = rest.find('<') else {
                return;
            };
            rest = &rest[at..];
            // As the browser's tokenizer starts things: a tag is `<` or `</` then a letter;
            // `<!--` a comment (`<!-->` and `<!--->` are whole ones, `--!>` ends one too);
            // any other `<!`, `<?` or `</` runs to the next `>`; any other `<` is text.
            let next = rest[1..].chars().next();
            let after_slash = rest[1..].strip_prefix('/').and_then(|r| r.chars().next());
            if let Some(comment) = rest.strip_prefix("<!--") {
                if comment.starts_with('>') || comment.starts_with("->") {
                    rest = &comment[comment.find('>').map_or(0, |end| end + 1)..];
                    continue;
                }
                let ends = [
                    comment.find("-->").map(|end| end + 3),
                    comment.find("--!>").map(|end| end + 4),
                ];
                let Some(end) = ends.into_iter().flatten().min() else {
                    self.keep(rest, line_of(rest));
                    return;
                };
                rest = &comment[end..];
            } else if next.is_some_and(|c| c.is_ascii_alphabetic())
                || after_slash.is_some_and(|c| c.is_ascii_alphabetic())
            {
                let Some(end) = tag_end(&rest[1..]) else {
                    self.keep(rest, line_of(rest));
                    return;
                };
                self.tag(&rest[1..1 + end], line_of(rest));
                rest = &rest[1 + end + 1..];
            } else if matches!(next, Some('!' | '?' | '/')) {
                let Some(end) = rest.find('>') else {
                    self.keep(rest, line_of(rest));
                    return;
                };
                rest = &rest[end + 1..];
            } else {
                rest = &rest[1..];
            }
        }
    }

    /// Keeps what is not finished for the next piece. A tag, comment or raw text that
    /// stays unfinished over more than `MAX_PENDING` bytes, or is read again more than
    /// `MAX_REREAD` bytes in all, makes the body unreadable (it is refused).
    fn keep(&mut self, rest: &str, line: usize) {
        const MAX_PENDING: usize = 4096;
        const MAX_REREAD: usize = 1 << 20;
        self.reread += rest.len();
        if rest.len() > MAX_PENDING || self.reread > MAX_REREAD {
            self.unreadable = true;
        } else {
            self.pending = rest.to_owned();
            self.pending_line = line;
        }
    }

    fn tag(&mut self, tag: &str, line: usize) {
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
            let attributes = attributes(&tag[name.len()..]);
            for (attribute, value) in &attributes {
                if URL_ATTRIBUTES.contains(&attribute.as_str()) && !safe_target(value, false) {
                    self.unsafe_targets.push(value.clone());
                }
            }
            if self.start_tags.len() < self.keep_tags {
                self.start_tags.push(StartTag {
                    line,
                    name: name.clone(),
                    text: format!("<{tag}>"),
                    attributes,
                });
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
        } else {
            // Inside SVG or MathML `/>` closes, and `<style>`/`<title>` hold markup.
            let foreign = self.open.iter().any(|open| open == "svg" || open == "math");
            if RAW_TEXT.contains(&name.as_str()) && !foreign {
                self.raw = Some(name);
            } else {
                let opens_nothing =
                    VOID.contains(&name.as_str()) || (foreign && tag.ends_with('/'));
                if opens_nothing {
                    return;
                }
                self.elements += 1;
                self.close_implied(&name);
                self.open.push(name);
            }
        }
    }

    /// The end tags a new `name` implies, as the parser closes them: a list item, a
    /// definition's term or description, a table row or cell ends its open sibling (within
    /// its list or table), and a block ends an open paragraph.
    fn close_implied(&mut self, name: &str) {
        let (closes, stops): (&[&str], &[&str]) = match name {
            "li" => (&["li"], &["ul", "ol", "table"]),
            "dt" | "dd" => (&["dt", "dd"], &["dl", "table"]),
            "tr" => (&["tr"], &["table"]),
            "td" | "th" => (&["td", "th"], &["tr", "table"]),
            "option" => (&["option"], &["select"]),
            name if name == "p" || P_CLOSERS.contains(&name) => {
                (&["p"], &["table", "td", "th", "button", "li", "dd", "dt"])
            }
            _ => return,
        };
        for at in (0..self.open.len()).rev() {
            let open = self.open[at].as_str();
            if closes.contains(&open) {
                self.open.truncate(at);
                return;
            }
            if stops.contains(&open) {
                return;
            }
        }
    }
}

/// Elements whose start tag ends an open `<p>`.
const P_CLOSERS: [&str; 24] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "main",
    "nav",
    "ol",
    "section",
    "ul",
];

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

/// The attributes of a tag after its name: names lowercased, values with their character
/// references decoded as a browser reads them (`&#106;avascript&colon;`).
fn attributes(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        // A name may start with `=` (`<a =x href=...>` has an attribute `=x`).
        let end = rest
            .char_indices()
            .skip(1)
            .find(|(_, c)| c.is_ascii_whitespace() || *c == '=' || *c == '/')
            .map_or(rest.len(), |(at, _)| at);
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
        match entity(rest) {
            Some((c, length)) => {
                out.push(c);
                rest = &rest[length..];
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

/// The character a reference at the start of `text` (`&#58;`, `&#x3a`, `&colon;`) stands
/// for, and its length. Numeric ones need no `;`, as browsers read them; only a few bytes
/// are looked at.
fn entity(text: &str) -> Option<(char, usize)> {
    let bytes = text.as_bytes();
    if let Some(number) = text.strip_prefix("&#") {
        let (hex, digits) = match number.strip_prefix(['x', 'X']) {
            Some(digits) => (true, digits),
            None => (false, number),
        };
        let length = digits
            .bytes()
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count();
        if length == 0 {
            return None;
        }
        // Leading zeros may be many; what is left must fit a character.
        let significant = digits[..length].trim_start_matches('0');
        let code = match significant {
            "" => 0,
            digits if digits.len() > 8 => 0x110000,
            digits => u32::from_str_radix(digits, if hex { 16 } else { 10 }).unwrap_or(0x110000),
        };
        let used = 2 + usize::from(hex) + length;
        let used = used + usize::from(bytes.get(used) == Some(&b';'));
        return Some((char::from_u32(code).unwrap_or('\u{FFFD}'), used));
    }
    let name_end = text[1..].find(';').filter(|end| *end <= 8)? + 1;
    let c = match text[1..name_end].to_ascii_lowercase().as_str() {
        "colon" => ':',
        "tab" => '\t',
        "newline" => '\n',
        _ => return None,
    };
    Some((c, name_end + 1))
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
pub(crate) struct LineIndex(Vec<usize>);

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        LineIndex(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(at, _)| at)
                .collect(),
        )
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
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
        let body = "[Kick-off](14:30) [r](<Part 1: Results>) [w](/wiki/File:x.png) \
                    [q](page.html?a=b:c)\n\n## A heading\n\n- one\n  - two\n    > a quote\n\n<div><p>a<p>b</div>\n\n\
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
        // Omitted end tags and SVG's self-closed shapes do not add up.
        let table = format!("<table>{}</table>", "<tr><td>a<td>b".repeat(40));
        let list = format!("<ul>{}</ul>", "<li><p>x<li><p>y".repeat(40));
        let terms = format!("<dl>{}</dl>", "<dt>a<dd>b".repeat(40));
        let svg = format!("<svg>{}</svg>", "<path d=\"M0 0\"/>".repeat(40));
        for fine in [table, list, terms, svg] {
            assert_eq!(codes(&fine), Vec::<&str>::new(), "{}", &fine[..30]);
        }
        // A tag left open for kilobytes is refused, not skipped.
        let open = format!(
            "<div>\n<a title=\"{}\n\" href=\"javascript:alert(1)\">",
            "x".repeat(5000)
        );
        assert_eq!(codes(&open), ["invalid_html"]);
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
            "<div>\n<!--><a href=\"javascript:alert(1)\">x</a>",
            "<div>\n<!-- x --!><a href=javascript:alert(1)>x</a>",
            "<div>\n<!x=\"> <a href=\"javascript:alert(1)\">",
            "<div>\n<?x=\"?> <a href=\"javascript:alert(1)\">",
            "<div>\na < b=\"c <a href=\"javascript:alert(1)\">",
            "<a href=\"javascript&#58alert(1)\">x</a>",
            "<a href=\"javascript&#0000000058;alert(1)\">x</a>",
            "<svg><style><a href=\"javascript:alert(1)\">x</a></style></svg>",
            "<div>\n<a =x href=\"javascript:alert(1)\">x</a>",
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
