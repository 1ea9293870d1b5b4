//! Reading a WordPress export (WXR 1.1 and 1.2) as a stream: the whole file is read and
//! checked before anything is written (a broken file is refused with the line where it
//! breaks, nothing half-imported), then read again item by item as posts are imported.
//! Every text, attribute and item is bounded, and only one item is held at a time. WordPress and WordPress.com bind the `wp:` prefix to
//! `http://wordpress.org/export/1.x/` or `https://...`: elements are matched by their
//! prefixed names, which are the same in both.
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

/// A parsed export: what the channel holds.
#[derive(Debug, Default)]
pub struct Export {
    pub authors: Vec<WpAuthor>,
    pub terms: Vec<WpTerm>,
    /// The images' items (what posts show, and what `[gallery]` lists).
    pub attachments: Vec<Item>,
    /// How many other items there are (read one at a time by `items`).
    pub items: usize,
    /// The file's size and modification time when it was checked: read again only as it
    /// was.
    pub fingerprint: Option<(u64, std::time::SystemTime)>,
    /// The site's address, for images given by a path only.
    pub base_url: Option<String>,
}

#[derive(Debug)]
pub struct WpAuthor {
    pub login: String,
    pub email: String,
    pub display_name: String,
}

/// A category or a tag.
#[derive(Debug, Clone)]
pub struct WpTerm {
    pub slug: String,
    pub name: String,
}

/// An `<item>`: a post, a page, an attachment or anything else WordPress keeps as a post.
#[derive(Debug, Default)]
pub struct Item {
    /// Where it starts in the file, for messages.
    pub line: u64,
    pub id: i64,
    pub title: String,
    pub creator: String,
    pub content: String,
    pub excerpt: String,
    pub date: Option<DateTime<Utc>>,
    pub post_name: String,
    pub status: String,
    pub post_type: String,
    pub password: String,
    pub comment_status: String,
    pub attachment_url: String,
    /// The post an attachment was uploaded to.
    pub parent: i64,
    /// Categories and tags (`<category domain=... nicename=...>`).
    pub terms: Vec<WpTerm>,
    pub meta: Vec<(String, String)>,
    pub comments: Vec<WpComment>,
}

impl Item {
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
pub struct WpComment {
    pub id: i64,
    pub author: String,
    pub email: String,
    pub url: String,
    pub ip: String,
    pub date: Option<DateTime<Utc>>,
    pub content: String,
    /// `1`, `0`, `spam`, `trash`.
    pub approved: String,
    /// Empty or `comment` for comments; `pingback`, `trackback`.
    pub kind: String,
    pub parent: i64,
}

/// A parse error, with the line it was found on.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: u64,
    pub message: String,
}

/// An element of the file: its name, attributes, text and children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
    line: u64,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    fn text_of(&self, name: &str) -> String {
        self.child(name).map(|c| c.text.clone()).unwrap_or_default()
    }
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn number(&self, name: &str) -> i64 {
        self.text_of(name).trim().parse().unwrap_or(0)
    }
}

/// A channel's child as large as this is refused (a post with its comments and metadata;
/// WordPress's largest are a few MiB): what one item may cost in memory.
pub const MAX_ITEM_BYTES: usize = 32 << 20;
/// An item with more elements than this is refused (a post with 10,000 comments holds
/// about 150,000).
pub const MAX_ITEM_ELEMENTS: usize = 500_000;
/// An attribute longer than this is refused (a category's `nicename` is a slug).
pub const MAX_ATTRIBUTE_BYTES: usize = 64 << 10;

/// Reads the whole export at `path` and checks it, keeping what every post may need (the
/// authors, the terms, the attachments) and counting the rest: nothing of a broken file
/// is imported, and memory stays flat whatever the file's size (one item at a time).
pub fn scan(path: &Path) -> Result<Export, ParseError> {
    let mut export = Export {
        fingerprint: fingerprint(path),
        ..Export::default()
    };
    let mut base_urls = (None, None);
    let root = walk(open(path)?, |node| {
        match node.name.as_str() {
            "wp:author" => export.authors.push(WpAuthor {
                login: node.text_of("wp:author_login"),
                email: node.text_of("wp:author_email"),
                display_name: node.text_of("wp:author_display_name"),
            }),
            "wp:category" => export.terms.push(WpTerm {
                slug: node.text_of("wp:category_nicename"),
                name: node.text_of("wp:cat_name"),
            }),
            "wp:tag" => export.terms.push(WpTerm {
                slug: node.text_of("wp:tag_slug"),
                name: node.text_of("wp:tag_name"),
            }),
            "wp:base_blog_url" => base_urls.0 = Some(node.text.trim().to_owned()),
            "link" => base_urls.1 = Some(node.text.trim().to_owned()),
            // A post is read whole in the second pass, not here.
            "item" if !is_attachment(&node) => export.items += 1,
            "item" => {
                // Kept for the whole import: only what posts need of it.
                let item = item(&node);
                export.attachments.push(Item {
                    content: String::new(),
                    comments: Vec::new(),
                    terms: Vec::new(),
                    meta: item
                        .meta
                        .into_iter()
                        .filter(|(key, _)| key == "_wp_attachment_image_alt")
                        .collect(),
                    ..item
                });
            }
            _ => {}
        }
        true
    })?;
    root.check()?;
    export.base_url = [base_urls.0, base_urls.1]
        .into_iter()
        .flatten()
        .find(|url| url.starts_with("http"));
    Ok(export)
}

/// Every `<item>` of the export at `path` but the attachments, in the file's order, to
/// `each` (which answers whether to go on). The file was `scan`ned: it is read again.
pub fn items(path: &Path, mut each: impl FnMut(Item) -> bool) -> Result<(), ParseError> {
    walk(open(path)?, |node| {
        node.name != "item" || is_attachment(&node) || each(item(&node))
    })?;
    Ok(())
}

/// Whether an `<item>` is an attachment (an image's item, kept by `scan`).
fn is_attachment(node: &Node) -> bool {
    node.text_of("wp:post_type") == "attachment"
}

/// A file's size and modification time.
pub fn fingerprint(path: &Path) -> Option<(u64, std::time::SystemTime)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.len(), metadata.modified().ok()?))
}

fn open(path: &Path) -> Result<std::io::BufReader<std::fs::File>, ParseError> {
    std::fs::File::open(path)
        .map(|file| std::io::BufReader::with_capacity(1 << 16, file))
        .map_err(|e| ParseError {
            line: 0,
            message: format!("cannot read it: {e}"),
        })
}

/// What is known of the document's root once it is read.
struct Root {
    name: Option<(String, u64)>,
    wordpress: bool,
    channel: bool,
}

impl Root {
    fn check(&self) -> Result<(), ParseError> {
        let Some((name, line)) = &self.name else {
            return Err(ParseError {
                line: 1,
                message: "the file holds no XML element".into(),
            });
        };
        if name != "rss" {
            return Err(ParseError {
                line: *line,
                message: format!("expected an <rss> document, found <{name}>"),
            });
        }
        if !(self.wordpress && self.channel) {
            return Err(ParseError {
                line: *line,
                message: "not a WordPress export: no <channel> with the wp: namespace \
                          (http(s)://wordpress.org/export/1.x/)"
                    .into(),
            });
        }
        Ok(())
    }
}

/// Bytes of a file on their way to the XML reader, counted: lines (for messages), whether
/// they are UTF-8, and how many since `reset` (more than `MAX_ITEM_BYTES` is an error: no
/// text, tag or item makes the reader hold more).
struct Metered<R> {
    inner: R,
    line: u64,
    since_reset: usize,
    /// The start of a character cut at the end of the last chunk.
    carry: Vec<u8>,
    not_utf8: bool,
}

impl<R: std::io::BufRead> Metered<R> {
    fn new(inner: R) -> Self {
        Metered {
            inner,
            line: 1,
            since_reset: 0,
            carry: Vec::new(),
            not_utf8: false,
        }
    }

    fn count(&mut self, bytes: &[u8]) {
        self.line += bytes.iter().filter(|b| **b == b'\n').count() as u64;
        self.since_reset += bytes.len();
        let mut chunk = std::mem::take(&mut self.carry);
        chunk.extend_from_slice(bytes);
        if let Err(e) = std::str::from_utf8(&chunk) {
            match e.error_len() {
                Some(_) => self.not_utf8 = true,
                None => self.carry = chunk[e.valid_up_to()..].to_vec(),
            }
        }
    }

    fn refusal(&self) -> Option<std::io::Error> {
        if self.not_utf8 {
            Some(std::io::Error::other("the file is not valid UTF-8"))
        } else if self.since_reset > MAX_ITEM_BYTES {
            Some(std::io::Error::other(format!(
                "an item, text or tag is larger than {} MiB",
                MAX_ITEM_BYTES >> 20
            )))
        } else {
            None
        }
    }
}

impl<R: std::io::BufRead> std::io::Read for Metered<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = std::io::BufRead::fill_buf(self)?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for Metered<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if let Some(refusal) = self.refusal() {
            return Err(refusal);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        let consumed = match self.inner.fill_buf() {
            Ok(buffer) => buffer[..n.min(buffer.len())].to_vec(),
            Err(_) => Vec::new(),
        };
        self.count(&consumed);
        self.inner.consume(n);
    }
}

/// Reads the document as a stream: each child of `<channel>` is built whole (text and
/// CDATA joined, entities resolved) and handed to `child` when it closes, then dropped;
/// `child` answers whether to go on. Nothing else is kept.
fn walk(
    input: impl std::io::BufRead,
    mut child: impl FnMut(Node) -> bool,
) -> Result<Root, ParseError> {
    let mut reader = Reader::from_reader(Metered::new(input));
    let mut buffer = Vec::new();
    // The elements open now, outermost first; the document's root and its channel keep
    // no children (those are handed over).
    let mut stack: Vec<Node> = Vec::new();
    let mut elements = 0usize;
    let mut root = Root {
        name: None,
        wordpress: false,
        channel: false,
    };
    loop {
        let line = reader.get_ref().line;
        let fail = |message: String| ParseError { line, message };
        // Between the channel's children, each event is measured on its own.
        if stack.len() <= 2 {
            reader.get_mut().since_reset = 0;
        }
        buffer.clear();
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|e| fail(e.to_string()))?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let empty = matches!(event, Event::Empty(_));
                if stack.len() >= MAX_DEPTH {
                    return Err(fail(format!(
                        "elements nest more than {MAX_DEPTH} deep (an export nests about 6)"
                    )));
                }
                let node = element(start, line).map_err(fail)?;
                // Each element costs memory beyond its bytes: an item holds so many at most.
                if stack.len() > 2 {
                    elements += 1;
                    if elements > MAX_ITEM_ELEMENTS {
                        return Err(fail(format!(
                            "an item holds more than {MAX_ITEM_ELEMENTS} elements"
                        )));
                    }
                } else {
                    elements = 0;
                }
                if stack.is_empty() {
                    if let Some((name, first)) = &root.name {
                        return Err(fail(format!(
                            "a second root element <{}> (a file holds one; <{name}> began on line {first})",
                            node.name
                        )));
                    }
                    root.name = Some((node.name.clone(), line));
                    root.wordpress = node
                        .attr("xmlns:wp")
                        .is_some_and(|ns| ns.contains("wordpress.org/export/1."));
                }
                if stack.len() == 1 && node.name == "channel" {
                    root.channel = true;
                }
                stack.push(node);
                if empty && !close(&mut stack, &mut child) {
                    return Ok(root);
                }
            }
            Event::End(_) if !close(&mut stack, &mut child) => return Ok(root),
            Event::Text(text) => {
                let text = text.xml10_content().map_err(|e| fail(e.to_string()))?;
                push_text(&mut stack, &text);
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|e| fail(e.to_string()))?;
                push_text(&mut stack, &text);
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.decode().map_err(|e| fail(e.to_string()))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .map(str::to_owned)
                            .ok_or_else(|| fail(format!("unknown entity &{name};")))?
                    }
                    Err(e) => return Err(fail(e.to_string())),
                };
                push_text(&mut stack, &resolved);
            }
            Event::Eof if !reader.get_ref().carry.is_empty() => {
                return Err(fail(
                    "the file is not valid UTF-8 (it ends mid-character)".into(),
                ));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(ParseError {
            line: reader.get_ref().line,
            message: format!(
                "the file ends before <{}> (line {}) is closed",
                open.name, open.line
            ),
        });
    }
    Ok(root)
}

/// Text inside the innermost open element, when it is inside a child of the channel (text
/// of the root or the channel itself is not kept: nothing reads it, and it is not bounded).
fn push_text(stack: &mut [Node], text: &str) {
    if stack.len() > 2
        && let Some(top) = stack.last_mut()
    {
        top.text.push_str(text);
    }
}

/// Closes the innermost open element: a child of the channel goes to `child` (its answer
/// is returned), anything deeper to its parent.
fn close(stack: &mut Vec<Node>, child: &mut impl FnMut(Node) -> bool) -> bool {
    let Some(node) = stack.pop() else {
        return true;
    };
    let in_channel = stack.len() == 2 && stack[1].name == "channel";
    let depth = stack.len();
    match stack.last_mut() {
        _ if in_channel => child(node),
        Some(parent) if depth > 2 => {
            parent.children.push(node);
            true
        }
        // The root, the channel, and other children of the root: nothing to keep.
        _ => true,
    }
}

fn item(node: &Node) -> Item {
    let date = gmt(&node.text_of("wp:post_date_gmt"))
        .or_else(|| {
            DateTime::parse_from_rfc2822(node.text_of("pubDate").trim())
                .ok()
                .map(|d| d.with_timezone(&Utc))
        })
        .or_else(|| gmt(&node.text_of("wp:post_date")));
    let mut item = Item {
        line: node.line,
        id: node.number("wp:post_id"),
        title: node.text_of("title"),
        creator: node.text_of("dc:creator"),
        content: node.text_of("content:encoded"),
        excerpt: node.text_of("excerpt:encoded"),
        date,
        post_name: node.text_of("wp:post_name"),
        status: node.text_of("wp:status"),
        post_type: node.text_of("wp:post_type"),
        password: node.text_of("wp:post_password"),
        comment_status: node.text_of("wp:comment_status"),
        attachment_url: node.text_of("wp:attachment_url"),
        parent: node.number("wp:post_parent"),
        ..Item::default()
    };
    for child in &node.children {
        match child.name.as_str() {
            "category" if matches!(child.attr("domain"), Some("category" | "post_tag")) => {
                item.terms.push(WpTerm {
                    slug: child.attr("nicename").unwrap_or_default().to_owned(),
                    name: child.text.clone(),
                });
            }
            "wp:postmeta" => item
                .meta
                .push((child.text_of("wp:meta_key"), child.text_of("wp:meta_value"))),
            "wp:comment" => item.comments.push(WpComment {
                id: child.number("wp:comment_id"),
                author: child.text_of("wp:comment_author"),
                email: child.text_of("wp:comment_author_email"),
                url: child.text_of("wp:comment_author_url"),
                ip: child.text_of("wp:comment_author_IP"),
                date: gmt(&child.text_of("wp:comment_date_gmt"))
                    .or_else(|| gmt(&child.text_of("wp:comment_date"))),
                content: child.text_of("wp:comment_content"),
                approved: child.text_of("wp:comment_approved"),
                kind: child.text_of("wp:comment_type"),
                parent: child.number("wp:comment_parent"),
            }),
            _ => {}
        }
    }
    item
}

/// `2024-03-01 12:00:00` as UTC; WordPress writes `0000-00-00 00:00:00` for "none".
fn gmt(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|d| d.and_utc())
}

/// Deeper than this is no export: refused before it costs a deep recursion.
const MAX_DEPTH: usize = 32;

fn element(start: &quick_xml::events::BytesStart, line: u64) -> Result<Node, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        if attr.value.len() > MAX_ATTRIBUTE_BYTES {
            return Err(format!(
                "the attribute {key} of <{name}> is longer than {} KiB",
                MAX_ATTRIBUTE_BYTES >> 10
            ));
        }
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Node {
        name,
        attrs,
        line,
        ..Node::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(items: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="https://wordpress.org/export/1.2/">
<channel>
<wp:author><wp:author_login><![CDATA[kim]]></wp:author_login><wp:author_display_name><![CDATA[Kim Li]]></wp:author_display_name></wp:author>
{items}
</channel></rss>"#
        )
    }

    /// The export's items, read as `lede import` reads them, from a file.
    fn parse(bytes: &[u8]) -> Result<(Export, Vec<Item>), ParseError> {
        let path = std::env::temp_dir().join(format!("lede-wxr-{}.xml", uuid::Uuid::now_v7()));
        std::fs::write(&path, bytes).unwrap();
        let scanned = scan(&path).and_then(|export| {
            let mut items = Vec::new();
            super::items(&path, |item| {
                items.push(item);
                true
            })?;
            Ok((export, items))
        });
        let _ = std::fs::remove_file(&path);
        scanned
    }

    #[test]
    fn reads_items_with_entities_and_cdata() {
        let xml = wrap(
            r#"<item><title>Fish &amp; chips &#8211; &#x263A;</title><wp:post_id>7</wp:post_id>
<content:encoded><![CDATA[<p>Hi</p>]]></content:encoded>
<category domain="category" nicename="news"><![CDATA[News]]></category>
<wp:post_date_gmt>2024-03-01 12:00:00</wp:post_date_gmt></item>"#,
        );
        let (export, items) = parse(xml.as_bytes()).unwrap();
        assert_eq!(export.authors[0].display_name, "Kim Li");
        assert_eq!(export.items, 1);
        let item = &items[0];
        assert_eq!(item.title, "Fish & chips \u{2013} \u{263A}");
        assert_eq!(item.id, 7);
        assert_eq!(item.content, "<p>Hi</p>");
        assert_eq!(item.terms[0].slug, "news");
        assert_eq!(item.date.unwrap().to_rfc3339(), "2024-03-01T12:00:00+00:00");
    }

    #[test]
    fn names_the_line_of_a_broken_file() {
        let xml = wrap("<item>\n<title>Open</wrong></item>");
        let error = parse(xml.as_bytes()).unwrap_err();
        assert_eq!(error.line, 7, "{error}");
        let truncated = &wrap("<item><title>x</title></item>")[..200];
        assert!(parse(truncated.as_bytes()).is_err());
        assert!(
            parse(b"<rss>\xff\xfe</rss>")
                .unwrap_err()
                .message
                .contains("UTF-8")
        );
        let deep = format!("<rss>{}", "<a>".repeat(100));
        assert!(parse(deep.as_bytes()).unwrap_err().message.contains("nest"));
        let two = parse(b"<rss/>\n<rss/>").unwrap_err();
        assert_eq!((two.line, two.message.contains("second root")), (2, true));
        let not_wp = parse(b"<rss><channel/></rss>").unwrap_err();
        assert!(
            not_wp.message.contains("not a WordPress export"),
            "{not_wp}"
        );
    }

    #[test]
    fn texts_attributes_and_items_are_bounded() {
        let attribute = wrap(&format!(
            "<item>\n<category domain=\"post_tag\" nicename=\"{}\">x</category></item>",
            "a".repeat(MAX_ATTRIBUTE_BYTES + 1)
        ));
        let error = parse(attribute.as_bytes()).unwrap_err();
        assert!(error.message.contains("nicename"), "{error}");
        assert_eq!(error.line, 7);
        let text = wrap(&format!(
            "<item><title>{}</title></item>",
            "a".repeat(MAX_ITEM_BYTES + 1)
        ));
        let error = parse(text.as_bytes()).unwrap_err();
        assert!(error.message.contains("larger than"), "{error}");
        // Many small parts of one item add up.
        let meta = "<wp:postmeta><wp:meta_key>k</wp:meta_key></wp:postmeta>";
        let many = wrap(&format!(
            "<item>{}</item>",
            meta.repeat(MAX_ITEM_BYTES / meta.len() + 1)
        ));
        let error = parse(many.as_bytes()).unwrap_err().message;
        assert!(
            error.contains("larger than") || error.contains("elements"),
            "{error}"
        );
        // As many items as one likes, each within bounds.
        let item = "<item><wp:post_id>1</wp:post_id><title>t</title></item>\n";
        let (export, items) = parse(wrap(&item.repeat(10_000)).as_bytes()).unwrap();
        assert_eq!((export.items, items.len()), (10_000, 10_000));
    }
}
