//! A post's comments: pings and repeats left out, parents before replies, ids made from
//! where they came from (so a second run finds them).
use super::*;

/// Comment ids of imported comments are made from where they came from, so a second run
/// finds them (`Uuid::new_v5` of `wp:<post>:comment:<id>` in this namespace).
pub(super) const COMMENT_IDS: Uuid = Uuid::from_u128(0x6c65_6465_2d77_702d_636f_6d6d_656e_7473);

/// A post's comments worth importing (pings and trackbacks are not), parents first.
pub(super) fn comments_of<'a>(item: &'a Item, notes: &mut Vec<String>) -> Vec<&'a WpComment> {
    let (mut pings, mut repeated) = (0, 0);
    let mut kept: Vec<&WpComment> = Vec::new();
    let mut seen = HashSet::new();
    for comment in &item.comments {
        if matches!(comment.kind.as_str(), "pingback" | "trackback") {
            pings += 1;
        } else if !seen.insert(comment.id) {
            repeated += 1;
        } else {
            kept.push(comment);
        }
    }
    if pings > 0 {
        notes.push(format!("{pings} pingback(s)/trackback(s) skipped"));
    }
    if repeated > 0 {
        notes.push(format!(
            "{repeated} comment(s) with an id already used skipped"
        ));
    }
    // Parents before replies, however the file orders them.
    let ids: HashSet<i64> = kept.iter().map(|c| c.id).collect();
    let mut placed = HashSet::new();
    let mut ordered = Vec::with_capacity(kept.len());
    while ordered.len() < kept.len() {
        let before = ordered.len();
        for comment in &kept {
            let ready = comment.parent == 0
                || !ids.contains(&comment.parent)
                || placed.contains(&comment.parent);
            if !placed.contains(&comment.id) && ready {
                placed.insert(comment.id);
                ordered.push(*comment);
            }
        }
        if ordered.len() == before {
            // A cycle (a broken file): what is left is not imported.
            notes.push(format!(
                "{} comment(s) in a reply cycle skipped",
                kept.len() - before
            ));
            break;
        }
    }
    ordered
}

/// A WordPress commenter's name the API would refuse, made one it takes: without control
/// and bidirectional characters, at most 100 characters, `Anonymous` when nothing is left.
pub(super) fn clean_name(name: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control() && !crate::http::validate::is_bidi_control(*c))
        .take(100)
        .collect();
    match name.trim() {
        "" => "Anonymous".into(),
        name => name.to_owned(),
    }
}

pub(super) fn comment_id(external_id: &str, comment: i64) -> Uuid {
    Uuid::new_v5(
        &COMMENT_IDS,
        format!("{external_id}:comment:{comment}").as_bytes(),
    )
}

/// `approved` in lede's words, or the status WordPress's `comment_approved` names.
pub(super) fn comment_status(approved: &str) -> &'static str {
    match approved {
        "1" | "approve" => "approved",
        "spam" => "spam",
        "trash" => "trash",
        _ => "pending",
    }
}

pub(super) fn comment_rows(
    article_id: Uuid,
    external_id: &str,
    comments: Vec<&WpComment>,
    notes: &mut Vec<String>,
) -> Vec<crate::comments::model::Comment> {
    let by_id: HashMap<i64, &WpComment> = comments.iter().map(|c| (c.id, *c)).collect();
    // A public reply hangs under its nearest public ancestor (a reply to a comment held
    // for moderation or marked spam is shown under the one above it, or at the top).
    let parent_of = |comment: &WpComment| -> Option<i64> {
        let approved = comment_status(&comment.approved) == "approved";
        let mut parent = by_id.get(&comment.parent)?;
        let mut steps = 0;
        while approved && comment_status(&parent.approved) != "approved" {
            parent = by_id.get(&parent.parent)?;
            steps += 1;
            if steps > by_id.len() {
                return None;
            }
        }
        Some(parent.id)
    };
    comments
        .into_iter()
        .map(|c| {
            let mut dropped = Vec::new();
            let prepared = html::prepare(&c.content, &[], &mut dropped);
            let body_markdown = if too_deep(&prepared) {
                html::note(
                    notes,
                    "a comment's HTML nests too deep: its text was kept without markup".into(),
                );
                html::text_paragraph(&html::plain_text(&prepared))
            } else {
                let tree = html::parse(&prepared);
                note_dropped_links(html::drop_unsafe_links(&tree), notes);
                html::to_markdown(&tree, html::Stored::new(), &mut dropped)
            };
            // The API's checks and normalisation; what they refuse is left out and named
            // (an old comment is not refused for its author's address).
            let mut checks = Checks::new();
            let url = Some(c.url.as_str()).filter(|u| !u.trim().is_empty());
            let (name, _, url) =
                crate::comments::author_fields(&mut checks, &c.author, &c.email, url);
            let url = match checks.has("author_url") {
                true => {
                    html::note(
                        notes,
                        "a comment's author_url that is not an http(s) URL was left out".into(),
                    );
                    None
                }
                false => url,
            };
            let name = match checks.has("author_name") {
                true => clean_name(&c.author),
                false => name,
            };
            let body_html = crate::comments::render_body(&body_markdown);
            let at = c.date.unwrap_or_else(Utc::now);
            let status = comment_status(&c.approved);
            crate::comments::model::Comment {
                id: comment_id(external_id, c.id),
                article_id,
                parent_id: parent_of(c).map(|parent| comment_id(external_id, parent)),
                author_name: name,
                author_email: c.email.trim().to_owned(),
                author_url: url,
                body_markdown,
                body_html,
                status: status.into(),
                ip: c.ip.trim().to_owned(),
                user_agent: None,
                deleted_at: None,
                created_at: at,
                updated_at: at,
                staff: false,
            }
        })
        .collect()
}
