//! Reading a WordPress export (WXR 1.1 and 1.2): the whole file is read and checked before
//! anything is written, so a broken file is refused with the line where it breaks and
//! nothing half-imported. WordPress and WordPress.com bind the `wp:` prefix to
//! `http://wordpress.org/export/1.x/` or `https://...`: elements are matched by their
//! prefixed names, which are the same in both.
use chrono::{DateTime, NaiveDateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

/// A parsed export: what the channel holds.
#[derive(Debug, Default)]
pub struct Export {
    pub authors: Vec<WpAuthor>,
    pub terms: Vec<WpTerm>,
    pub items: Vec<Item>,
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

pub fn parse(bytes: &[u8]) -> Result<Export, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError {
        line: line_at(bytes, e.valid_up_to()),
        message: "the file is not valid UTF-8".into(),
    })?;
    let root = tree(text)?;
    if root.name != "rss" {
        return Err(ParseError {
            line: root.line,
            message: format!("expected an <rss> document, found <{}>", root.name),
        });
    }
    let wordpress = root
        .attr("xmlns:wp")
        .is_some_and(|ns| ns.contains("wordpress.org/export/1."));
    let channel = root
        .child("channel")
        .filter(|_| wordpress)
        .ok_or(ParseError {
            line: root.line,
            message: "not a WordPress export: no <channel> with the wp: namespace \
                  (http(s)://wordpress.org/export/1.x/)"
                .into(),
        })?;
    let mut export = Export {
        base_url: [channel.text_of("wp:base_blog_url"), channel.text_of("link")]
            .into_iter()
            .map(|url| url.trim().to_owned())
            .find(|url| url.starts_with("http")),
        ..Export::default()
    };
    for node in &channel.children {
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
            "item" => export.items.push(item(node)),
            _ => {}
        }
    }
    Ok(export)
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

fn line_at(bytes: &[u8], position: usize) -> u64 {
    let end = position.min(bytes.len());
    1 + bytes[..end].iter().filter(|b| **b == b'\n').count() as u64
}

/// The document as a tree of elements (text and CDATA joined, entities resolved).
fn tree(text: &str) -> Result<Node, ParseError> {
    let bytes = text.as_bytes();
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = vec![Node::default()];
    // Lines are counted as the reader moves on (counting from the start each time would
    // be quadratic in a 100 MB export).
    let (mut counted_to, mut line) = (0usize, 1u64);
    let mut line_of = |position: u64| {
        let position = (position as usize).min(bytes.len());
        line += bytes[counted_to..position]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        counted_to = position;
        line
    };
    let fail = |position: u64, message: String| ParseError {
        line: line_at(bytes, position as usize),
        message,
    };
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| fail(reader.error_position(), e.to_string()))?;
        let top = stack.last_mut().expect("the document node stays");
        match event {
            Event::Start(start) => {
                if stack.len() > MAX_DEPTH {
                    return Err(fail(
                        position,
                        format!(
                            "elements nest more than {MAX_DEPTH} deep (an export nests about 6)"
                        ),
                    ));
                }
                let node = element(&start, line_of(position)).map_err(|m| fail(position, m))?;
                stack.push(node);
            }
            Event::Empty(start) => {
                let node = element(&start, line_of(position)).map_err(|m| fail(position, m))?;
                top.children.push(node);
            }
            Event::End(_) => {
                let node = stack.pop().expect("quick-xml matches end tags");
                stack
                    .last_mut()
                    .ok_or_else(|| fail(position, "an end tag without a start".into()))?
                    .children
                    .push(node);
            }
            Event::Text(text) => top.text.push_str(
                &text
                    .xml10_content()
                    .map_err(|e| fail(position, e.to_string()))?,
            ),
            Event::CData(data) => top
                .text
                .push_str(&data.decode().map_err(|e| fail(position, e.to_string()))?),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference
                            .decode()
                            .map_err(|e| fail(position, e.to_string()))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .map(str::to_owned)
                            .ok_or_else(|| fail(position, format!("unknown entity &{name};")))?
                    }
                    Err(e) => return Err(fail(position, e.to_string())),
                };
                top.text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() > 1 {
        let open = stack.last().expect("more than one");
        return Err(ParseError {
            line: line_at(bytes, bytes.len()),
            message: format!(
                "the file ends before <{}> (line {}) is closed",
                open.name, open.line
            ),
        });
    }
    let mut document = stack.pop().expect("the document node");
    if let [_, second, ..] = document.children.as_slice() {
        return Err(ParseError {
            line: second.line,
            message: format!("a second root element <{}> (a file holds one)", second.name),
        });
    }
    document.children.pop().ok_or(ParseError {
        line: 1,
        message: "the file holds no XML element".into(),
    })
}

/// Deeper than this is no export: refused before it costs a deep recursion.
const MAX_DEPTH: usize = 32;

fn element(start: &quick_xml::events::BytesStart, line: u64) -> Result<Node, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
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

    #[test]
    fn reads_items_with_entities_and_cdata() {
        let xml = wrap(
            r#"<item><title>Fish &amp; chips &#8211; &#x263A;</title><wp:post_id>7</wp:post_id>
<content:encoded><![CDATA[<p>Hi</p>]]></content:encoded>
<category domain="category" nicename="news"><![CDATA[News]]></category>
<wp:post_date_gmt>2024-03-01 12:00:00</wp:post_date_gmt></item>"#,
        );
        let export = parse(xml.as_bytes()).unwrap();
        assert_eq!(export.authors[0].display_name, "Kim Li");
        let item = &export.items[0];
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
            parse(b"\xff\xfe<rss/>")
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
}
