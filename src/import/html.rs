//! WordPress post HTML (classic or Gutenberg block markup) to the markdown lede stores.
//!
//! Three steps: `prepare` turns WordPress's own syntax into plain HTML (`[caption]`,
//! `[gallery]` and `[embed]` shortcodes, paragraphs of classic posts that WordPress adds
//! only when it shows them); `images` lists the images the HTML shows, for the importer to
//! fetch; `to_markdown` converts with `htmd`, writing each image it could store as a lede
//! figure (`![alt](image:<id> "caption")`). Whatever is not brought over is named in `notes`.
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use htmd::element_handler::{HandlerResult, Handlers};
use htmd::{Element, HtmlToMarkdown};
use markup5ever_rcdom::{Node, NodeData};
use uuid::Uuid;

/// The `src` standing for a gallery's attachment given only by id.
pub const ATTACHMENT_SRC: &str = "wp-attachment:";

/// An image the HTML shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    pub src: String,
    /// From `class="wp-image-12"` (both editors write it) or a gallery's ids.
    pub attachment: Option<i64>,
    pub alt: String,
}

/// WordPress's own syntax made HTML. Shortcodes it does not know stay as text, named in
/// `notes`. `attached` are the ids of the post's own images (what a `[gallery]` without
/// ids shows).
pub fn prepare(content: &str, attached: &[i64], notes: &mut Vec<String>) -> String {
    if content.contains("<!-- wp:block {\"ref\"") {
        note(
            notes,
            "a reusable block (kept apart from posts) was left out".into(),
        );
    }
    let html = shortcodes(content, attached, notes);
    if content.contains("<!-- wp:") {
        html
    } else {
        paragraphs(&html)
    }
}

/// How deep elements nest in a parsed tree (counted without recursion: the tree may be
/// deeper than the stack allows).
pub fn tree_depth(tree: &Rc<Node>) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(tree.clone(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        for child in node.children.borrow().iter() {
            stack.push((child.clone(), depth + 1));
        }
    }
    deepest
}

/// WordPress's `wpautop` in brief: a classic post's blank lines separate paragraphs and
/// its single line breaks are kept. A chunk that starts with a block's start or end tag
/// (`<li>`, `</ul>`) is not a paragraph: a list with blank lines between its items stays a
/// list.
fn paragraphs(html: &str) -> String {
    const BLOCKS: [&str; 26] = [
        "<p",
        "<h1",
        "<h2",
        "<h3",
        "<h4",
        "<h5",
        "<h6",
        "<ul",
        "<ol",
        "<li",
        "<dl",
        "<dt",
        "<dd",
        "<blockquote",
        "<figure",
        "<div",
        "<table",
        "<thead",
        "<tbody",
        "<tr",
        "<td",
        "<th",
        "<pre",
        "<hr",
        "<!--",
        "</",
    ];
    let normalized = protect_pre(&html.replace("\r\n", "\n"));
    let mut out = String::with_capacity(normalized.len() + 64);
    for chunk in normalized.split("\n\n") {
        let chunk = chunk.trim();
        if chunk.is_empty() {
            continue;
        }
        let lower = chunk.get(..12).unwrap_or(chunk).to_ascii_lowercase();
        // `<li` opens a list item, not a `<link>`: the name ends there.
        let opens = |tag: &str| {
            lower.strip_prefix(tag).is_some_and(|rest| {
                tag.ends_with('/')
                    || tag == "<!--"
                    || !rest.starts_with(|c: char| c.is_ascii_alphanumeric())
            })
        };
        if BLOCKS.iter().any(|tag| opens(tag)) {
            out.push_str(chunk);
        } else {
            out.push_str("<p>");
            out.push_str(&chunk.replace('\n', "<br>"));
            out.push_str("</p>");
        }
        out.push('\n');
    }
    out.replace(KEPT_NEWLINE, "\n")
}

/// Stands for a line break inside `<pre>` while paragraphs are made (WordPress keeps
/// preformatted text as it is).
const KEPT_NEWLINE: &str = "\u{E000}";

fn protect_pre(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<pre") {
        let end = rest[start..]
            .find("</pre>")
            .map_or(rest.len(), |end| start + end + "</pre>".len());
        out.push_str(&rest[..start]);
        out.push_str(&rest[start..end].replace('\n', KEPT_NEWLINE));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `[caption]`, `[gallery]` and `[embed]` as HTML; other shortcodes are left as they are.
fn shortcodes(content: &str, attached: &[i64], notes: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(start) = rest.find('[') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let Some((name, attrs, open_len)) = opening(tail) else {
            out.push('[');
            rest = &tail[1..];
            continue;
        };
        let closing = format!("[/{name}]");
        // Only the shortcodes read here enclose text worth looking for.
        let enclosed = matches!(name.as_str(), "caption" | "wp_caption" | "embed")
            .then(|| tail[open_len..].find(&closing))
            .flatten();
        match (name.as_str(), enclosed) {
            ("caption" | "wp_caption", Some(end)) => {
                let inner = &tail[open_len..open_len + end];
                out.push_str(&caption_figure(inner, &attrs));
                rest = &tail[open_len + end + closing.len()..];
            }
            ("embed", Some(end)) => {
                let url = escape_attr(tail[open_len..open_len + end].trim());
                out.push_str(&format!("<p><a href=\"{url}\">{url}</a></p>"));
                rest = &tail[open_len + end + closing.len()..];
            }
            ("gallery", _) => {
                let ids: Vec<i64> = match attr_value(&attrs, "ids") {
                    Some(ids) => ids
                        .split(',')
                        .filter_map(|id| id.trim().parse().ok())
                        .collect(),
                    None => attached.to_vec(),
                };
                if ids.is_empty() {
                    note(
                        notes,
                        "a [gallery] of a post without images was left out".into(),
                    );
                }
                out.push_str("<figure class=\"wp-block-gallery\">");
                for id in ids {
                    out.push_str(&format!(
                        "<figure><img src=\"{ATTACHMENT_SRC}{id}\" class=\"wp-image-{id}\"></figure>"
                    ));
                }
                out.push_str("</figure>");
                rest = &tail[open_len..];
            }
            _ => {
                note(notes, format!("the shortcode [{name}] was kept as text"));
                out.push_str(&tail[..open_len]);
                rest = &tail[open_len..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Adds a note once.
pub fn note(notes: &mut Vec<String>, text: String) {
    if !notes.contains(&text) {
        notes.push(text);
    }
}

/// `[name attrs]` at the start of `text`: the name, the attributes' text and the length.
/// Only the next 1,000 bytes are looked at: a post of brackets stays linear.
fn opening(text: &str) -> Option<(String, String, usize)> {
    let mut cut = text.len().min(1000);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let window = &text[..cut];
    let end = window.find(']')?;
    let inside = &text[1..end];
    let name: String = inside
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let starts_well = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let after = &inside[name.len()..];
    let ends_well = after.is_empty() || after.starts_with(' ') || after == "/";
    (starts_well && ends_well && !inside.contains('[')).then(|| {
        let attrs = after.trim().trim_end_matches('/').to_owned();
        (name, attrs, end + 1)
    })
}

/// The value of `name="..."` (or `'...'`) in a shortcode's attributes.
fn attr_value(attrs: &str, name: &str) -> Option<String> {
    let at = attrs.find(&format!("{name}="))? + name.len() + 1;
    let value = &attrs[at..];
    let quote = value.chars().next()?;
    if quote == '"' || quote == '\'' {
        let end = value[1..].find(quote)?;
        Some(value[1..1 + end].to_owned())
    } else {
        Some(value.split_whitespace().next()?.to_owned())
    }
}

/// `[caption]<a><img></a> The caption[/caption]` as a figure (older exports give the
/// caption as an attribute).
fn caption_figure(inner: &str, attrs: &str) -> String {
    let split = match inner.rfind("</a>") {
        Some(end) if inner.find("<img").is_some_and(|img| img < end) => end + 4,
        _ => inner
            .find("<img")
            .and_then(|img| inner[img..].find('>').map(|end| img + end + 1))
            .unwrap_or(0),
    };
    let (media, text) = inner.split_at(split);
    let caption = match text.trim() {
        "" => attr_value(attrs, "caption").unwrap_or_default(),
        text => text.to_owned(),
    };
    // `[caption align="alignright"]`: the figure keeps its alignment.
    let class = attr_value(attrs, "align")
        .map(|align| format!(" class=\"{}\"", escape_attr(&align)))
        .unwrap_or_default();
    format!("<figure{class}>{media}<figcaption>{caption}</figcaption></figure>")
}

fn escape_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

/// Parses prepared HTML.
pub fn parse(html: &str) -> Rc<Node> {
    HtmlToMarkdown::new()
        .html_to_tree(html)
        .unwrap_or_else(|_| markup5ever_rcdom::RcDom::default().document)
}

/// Removes every link target a browser would run (`javascript:`, `data:`, `vbscript:`, ...:
/// anything but what `articles::limits::safe_target` allows), keeping the link's text.
/// Says how many were removed.
pub fn drop_unsafe_links(tree: &Rc<Node>) -> usize {
    let mut all = Vec::new();
    descendants(tree, &mut all);
    let mut dropped = 0;
    for node in all {
        if let NodeData::Element { attrs, .. } = &node.data {
            attrs.borrow_mut().retain(|a| {
                // Images become figures or are left out; links keep their targets.
                let target = &*a.name.local == "href";
                let safe = !target || crate::articles::limits::safe_target(&a.value, false);
                dropped += usize::from(!safe);
                safe
            });
        }
    }
    dropped
}

fn element_name(node: &Node) -> Option<&str> {
    match &node.data {
        NodeData::Element { name, .. } => Some(&name.local),
        _ => None,
    }
}

fn attr(node: &Node, key: &str) -> Option<String> {
    match &node.data {
        NodeData::Element { attrs, .. } => attrs
            .borrow()
            .iter()
            .find(|a| &*a.name.local == key)
            .map(|a| a.value.to_string()),
        _ => None,
    }
}

/// Every descendant of `node` (not itself), depth first, in document order (without
/// recursion).
fn descendants(node: &Rc<Node>, found: &mut Vec<Rc<Node>>) {
    let mut stack: Vec<Rc<Node>> = node.children.borrow().iter().rev().cloned().collect();
    while let Some(next) = stack.pop() {
        stack.extend(next.children.borrow().iter().rev().cloned());
        found.push(next);
    }
}

/// The text nodes of a node and its descendants, in document order.
fn text_nodes(node: &Rc<Node>) -> Vec<String> {
    let mut all = vec![node.clone()];
    descendants(node, &mut all);
    all.iter()
        .filter_map(|node| match &node.data {
            NodeData::Text { contents } => Some(contents.borrow().to_string()),
            _ => None,
        })
        .collect()
}

/// The text of a node and its descendants, as it is.
fn raw_text(node: &Rc<Node>) -> String {
    text_nodes(node).concat()
}

/// Preformatted text as a fenced code block, its lines as they are (a fence longer than
/// any run of backticks inside).
fn code_block(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("\n\n{fence}\n{}\n{fence}\n\n", text.trim_matches('\n'))
}

/// The text of a node and its descendants, with runs of white space made one space. Inline
/// elements join their neighbours as they are (`Mark<sup>up</sup>` is `Markup`); a block
/// or a line break parts the text before it from the text after.
fn text(node: &Rc<Node>) -> String {
    const PARTS: [&str; 30] = [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "figure",
        "figcaption",
        "table",
        "caption",
        "tr",
        "td",
        "th",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "aside",
    ];
    let mut out = String::new();
    // `None`: the end of a block, after its children.
    let mut stack = vec![Some(node.clone())];
    while let Some(next) = stack.pop() {
        let Some(next) = next else {
            out.push(' ');
            continue;
        };
        match &next.data {
            NodeData::Text { contents } => out.push_str(&contents.borrow()),
            NodeData::Element { name, .. } if PARTS.contains(&&*name.local) => {
                out.push(' ');
                stack.push(None);
            }
            _ => {}
        }
        stack.extend(next.children.borrow().iter().rev().cloned().map(Some));
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Markup-free text of some HTML (a title, an excerpt).
pub fn plain_text(html: &str) -> String {
    text(&parse(html))
}

/// The alignment WordPress gave an element (`alignwide` on a block's figure, `alignleft` on
/// a classic post's image), as lede writes it after an image's id (`wide`).
fn alignment(node: &Node) -> Option<&'static str> {
    let class = attr(node, "class")?;
    crate::articles::render::ALIGN_CLASSES
        .iter()
        .find(|c| class.split_whitespace().any(|word| word == **c))
        .and_then(|c| c.strip_prefix("align"))
}

fn image_ref(img: &Node) -> Option<ImageRef> {
    let src = attr(img, "src")?.trim().to_owned();
    let attachment = attr(img, "class").and_then(|class| {
        class
            .split_whitespace()
            .find_map(|c| c.strip_prefix("wp-image-")?.parse().ok())
    });
    Some(ImageRef {
        src,
        attachment,
        alt: attr(img, "alt").unwrap_or_default(),
    })
}

/// The images `tree` shows, in order, each once.
pub fn images(tree: &Rc<Node>) -> Vec<ImageRef> {
    let mut all = Vec::new();
    descendants(tree, &mut all);
    let mut refs: Vec<ImageRef> = Vec::new();
    for node in all {
        if element_name(&node) == Some("img")
            && let Some(image) = image_ref(&node)
            && !refs.iter().any(|r| r.src == image.src)
        {
            refs.push(image);
        }
    }
    refs
}

/// What an image became: a stored image, or nothing (it could not be had).
pub type Stored = HashMap<String, Option<Uuid>>;

/// A figure in lede's markdown; `align` from WordPress's class (`alignwide`) when it had one.
fn figure_markdown(image: &ImageRef, id: Uuid, caption: &str, align: Option<&str>) -> String {
    let alt = image.alt.replace(['[', ']', '\n', '\\'], " ");
    let align = align.map(|a| format!("#{a}")).unwrap_or_default();
    let mut md = format!("\n\n![{}](image:{id}{align}", alt.trim());
    if !caption.is_empty() {
        let caption = caption.replace('\\', "\\\\").replace('"', "\\\"");
        md.push_str(&format!(" \"{caption}\""));
    }
    md.push_str(")\n\n");
    md
}

/// Text as a markdown paragraph of itself: nothing in it is markup.
pub fn text_paragraph(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '<' => escaped.push_str("&lt;"),
            '&' => escaped.push_str("&amp;"),
            '\\' | '*' | '_' | '[' | ']' | '`' | '#' | '!' => {
                escaped.push('\\');
                escaped.push(c);
            }
            c => escaped.push(c),
        }
    }
    format!("\n\n{escaped}\n\n")
}

/// An embed's address as a markdown autolink, when it is a web address.
fn autolink(src: &str) -> Option<String> {
    let url = url::Url::parse(src.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| format!("\n\n<{url}>\n\n"))
}

/// Converts prepared HTML to markdown; `stored` says what each image `src` became.
pub fn to_markdown(tree: &Rc<Node>, stored: Stored, notes: &mut Vec<String>) -> String {
    let stored = Arc::new(stored);
    let heard = Arc::new(Mutex::new(Vec::<String>::new()));
    let hear = {
        let heard = heard.clone();
        move |text: String| {
            let mut heard = heard.lock().unwrap_or_else(|e| e.into_inner());
            if !heard.contains(&text) {
                heard.push(text);
            }
        }
    };
    let figure = {
        let stored = stored.clone();
        move |handlers: &dyn Handlers, element: Element| -> Option<HandlerResult> {
            figure(handlers, element, &stored)
        }
    };
    let img = {
        let stored = stored.clone();
        move |_: &dyn Handlers, element: Element| -> Option<HandlerResult> {
            let image = image_ref(element.node)?;
            Some(match stored.get(&image.src).copied().flatten() {
                Some(id) => figure_markdown(&image, id, "", alignment(element.node)).into(),
                None => String::new().into(),
            })
        }
    };
    let embed = {
        let hear = hear.clone();
        move |_: &dyn Handlers, element: Element| -> Option<HandlerResult> {
            let src = attr(element.node, "src").or_else(|| attr(element.node, "data"));
            match src.as_deref().and_then(autolink) {
                Some(link) => {
                    hear(format!("an embedded <{}> became a link", element.tag));
                    Some(link.into())
                }
                None => {
                    hear(format!(
                        "an embedded <{}> without a web address was left out",
                        element.tag
                    ));
                    Some(String::new().into())
                }
            }
        }
    };
    let dropped = {
        let hear = hear.clone();
        move |_: &dyn Handlers, element: Element| -> Option<HandlerResult> {
            hear(format!("a <{}> was left out", element.tag));
            Some(String::new().into())
        }
    };
    let converter = HtmlToMarkdown::builder()
        // A line break as `\` at the end of its line: no trailing spaces in the source.
        .options(htmd::options::Options {
            br_style: htmd::options::BrStyle::Backslash,
            ..Default::default()
        })
        .add_handler(vec!["figure"], figure)
        .add_handler(vec!["img"], img)
        .add_handler(vec!["pre"], |_: &dyn Handlers, element: Element| {
            Some(code_block(&raw_text(element.node)).into())
        })
        .add_handler(vec!["iframe", "video", "audio", "embed", "object"], embed)
        .add_handler(
            vec![
                "script", "style", "form", "input", "button", "select", "textarea", "noscript",
            ],
            dropped,
        )
        .build();
    let markdown = converter.tree_to_markdown(tree);
    for heard in heard.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        note(notes, heard);
    }
    without_trailing_space(&markdown)
}

/// Markdown with no white space at the ends of its lines (nor lines of white space only),
/// except inside fenced code, which is kept as it is.
fn without_trailing_space(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut fence: Option<String> = None;
    for line in markdown.split('\n') {
        let trimmed = line.trim_start();
        let ticks: String = trimmed.chars().take_while(|&c| c == '`').collect();
        match &fence {
            Some(open) if ticks.len() >= open.len() && trimmed.trim_end() == ticks => {
                fence = None;
                out.push_str(line.trim_end());
            }
            Some(_) => out.push_str(line),
            None => {
                if ticks.len() >= 3 {
                    fence = Some(ticks);
                }
                out.push_str(line.trim_end());
            }
        }
        out.push('\n');
    }
    out.pop();
    out
}

/// A figure: each image it holds (not those of figures inside it: a gallery's) with the
/// figure's caption; an image that could not be had leaves its caption. A figure without
/// images (a table, an embed) is converted as its content.
fn figure(handlers: &dyn Handlers, element: Element, stored: &Stored) -> Option<HandlerResult> {
    let node = element.node;
    let mut inside = Vec::new();
    descendants(node, &mut inside);
    let nested = inside.iter().any(|n| element_name(n) == Some("figure"));
    let class = attr(node, "class").unwrap_or_default();
    if nested {
        // A gallery: its figures, then its own caption.
        let mut md = String::new();
        for child in node.children.borrow().iter() {
            match element_name(child) {
                Some("figcaption") => md.push_str(&text_paragraph(&text(child))),
                _ => md.push_str(&handlers.handle(child)?.content),
            }
        }
        return Some(md.into());
    }
    let images: Vec<ImageRef> = inside
        .iter()
        .filter(|n| element_name(n) == Some("img"))
        .filter_map(|n| image_ref(n))
        .collect();
    if images.is_empty() {
        if class.contains("wp-block-embed")
            && let Some(link) = autolink(&text(node))
        {
            return Some(link.into());
        }
        return Some(handlers.walk_children(node));
    }
    let caption = inside
        .iter()
        .find(|n| element_name(n) == Some("figcaption"))
        .map(text)
        .unwrap_or_default();
    let align = alignment(node).or_else(|| {
        inside
            .iter()
            .filter(|n| element_name(n) == Some("img"))
            .find_map(|n| alignment(n))
    });
    let mut md = String::new();
    let mut kept = false;
    for image in &images {
        if let Some(id) = stored.get(&image.src).copied().flatten() {
            md.push_str(&figure_markdown(image, id, &caption, align));
            kept = true;
        }
    }
    if !kept && !caption.is_empty() {
        md.push_str(&text_paragraph(&caption));
    }
    Some(md.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(content: &str, stored: &[(&str, Option<Uuid>)]) -> (String, Vec<String>) {
        let mut notes = Vec::new();
        let tree = parse(&prepare(content, &[], &mut notes));
        let stored = stored
            .iter()
            .map(|(src, id)| (src.to_string(), *id))
            .collect();
        let md = to_markdown(&tree, stored, &mut notes);
        (md, notes)
    }

    #[test]
    fn classic_posts_get_paragraphs_and_caption_figures() {
        let id = Uuid::now_v7();
        let content = "First line\nsecond line\n\n[caption id=\"attachment_5\" width=\"300\"]\
            <a href=\"/p.jpg\"><img class=\"wp-image-5\" src=\"/p-300x200.jpg\" alt=\"A pier\"></a> \
            The \"old\" pier[/caption]\n\n<h2>Next</h2>\nMore [footnote]x[/footnote]";
        let (md, notes) = convert(content, &[("/p-300x200.jpg", Some(id))]);
        assert!(md.starts_with("First line\\\nsecond line"), "{md}");
        assert!(
            md.contains(&format!("![A pier](image:{id} \"The \\\"old\\\" pier\")")),
            "{md}"
        );
        assert!(md.contains("## Next"), "{md}");
        assert_eq!(notes, ["the shortcode [footnote] was kept as text"]);
    }

    #[test]
    fn blocks_galleries_and_missing_images() {
        let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
        let content = "<!-- wp:paragraph --><p>Hello <strong>there</strong></p><!-- /wp:paragraph -->\
            <!-- wp:image {\"id\":9} --><figure class=\"wp-block-image\"><img src=\"/gone.jpg\" \
            class=\"wp-image-9\"/><figcaption>Lost photo</figcaption></figure><!-- /wp:image -->\
            <!-- wp:gallery --><figure class=\"wp-block-gallery\"><figure class=\"wp-block-image\">\
            <img src=\"/a.jpg\" alt=\"a\"/></figure><figure class=\"wp-block-image\"><img src=\"/b.jpg\" \
            alt=\"b\"/><figcaption>B</figcaption></figure><figcaption>Both</figcaption></figure>\
            <!-- /wp:gallery --><iframe src=\"https://video.example/1\"></iframe><script>x()</script>";
        let stored = [
            ("/gone.jpg", None),
            ("/a.jpg", Some(one)),
            ("/b.jpg", Some(two)),
        ];
        let (md, notes) = convert(content, &stored);
        assert!(md.starts_with("Hello **there**"), "{md}");
        assert!(md.contains("\n\nLost photo\n\n"), "{md}");
        assert!(md.contains(&format!("![a](image:{one})")), "{md}");
        assert!(md.contains(&format!("![b](image:{two} \"B\")")), "{md}");
        assert!(md.contains("Both"), "{md}");
        assert!(md.contains("<https://video.example/1>"), "{md}");
        assert!(!md.contains("x()"), "{md}");
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn a_bracket_before_long_unicode_text_is_text() {
        let content = format!("[{}", "é".repeat(700));
        assert_eq!(shortcodes(&content, &[], &mut Vec::new()), content);
    }

    #[test]
    fn depth_and_escaped_captions() {
        // The document's html, body, then the elements.
        let depth = |html: &str| tree_depth(&parse(html)) - 2;
        assert_eq!(depth("<p>a<br>b<img src=x></p><div><div></div></div>"), 2);
        assert_eq!(depth(&"<div>".repeat(500)), 500);
        // Stray end tags close nothing.
        assert_eq!(depth(&"<div></span>".repeat(300)), 300);
        let (md, _) = convert(
            "<figure><img src=\"/x.jpg\"><figcaption><script>x</script> *a* \\</figcaption></figure>",
            &[("/x.jpg", None)],
        );
        assert!(md.contains("\\*a\\* \\\\"), "{md}");
        // A post of brackets is read once, not once per bracket.
        let mut notes = Vec::new();
        let brackets = "[a] [".repeat(40_000);
        assert!(prepare(&brackets, &[], &mut notes).len() >= brackets.len());
    }

    #[test]
    fn galleries_by_ids_and_plain_titles() {
        let mut notes = Vec::new();
        let tree = parse(&prepare("[gallery ids=\"3, 4\"]", &[], &mut notes));
        let refs = images(&tree);
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1].attachment, Some(4));
        assert_eq!(refs[1].src, "wp-attachment:4");
        // Without ids, a gallery shows the images uploaded to the post.
        let tree = parse(&prepare("[gallery columns=\"2\"]", &[7, 8], &mut notes));
        assert_eq!(images(&tree).len(), 2);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            plain_text("<em>Fish</em> &amp; <b>chips</b>&nbsp;!"),
            "Fish & chips !"
        );
    }

    #[test]
    fn lists_stay_tight_lines_clean_alignment_kept_and_inline_text_joined() {
        let (wide, right) = (Uuid::now_v7(), Uuid::now_v7());
        let content = "Intro line\nnext line\n\n<ul>\n\t<li>One</li>\n\n\t<li>Two <em>x</em> </li>\n</ul>\n\n\
            <figure class=\"wp-block-image alignwide size-large\"><img src=\"/w.jpg\" alt=\"Wide\"></figure>\n\n\
            [caption id=\"attachment_9\" align=\"alignright\" width=\"300\"]<img src=\"/r.jpg\" alt=\"R\"> Right[/caption]";
        let (md, _) = convert(content, &[("/w.jpg", Some(wide)), ("/r.jpg", Some(right))]);
        assert!(
            md.contains("*   One\n*   Two *x*\n"),
            "a tight list: {md:?}"
        );
        assert!(
            md.lines().all(|l| l == l.trim_end()),
            "no trailing space, no line of spaces: {md:?}"
        );
        assert!(md.contains(&format!("![Wide](image:{wide}#wide)")), "{md}");
        assert!(
            md.contains(&format!("![R](image:{right}#right \"Right\")")),
            "{md}"
        );
        assert_eq!(
            plain_text("Markup: Title <em>With</em> <b>Mark<sup>up</sup></b>"),
            "Markup: Title With Markup"
        );
        assert_eq!(plain_text("<p>One</p><p>Two<br>Three</p>"), "One Two Three");
        assert_eq!(
            plain_text("<h2>Title</h2>Body <dt>Term</dt><dd>Meaning</dd>"),
            "Title Body Term Meaning"
        );
    }
}
