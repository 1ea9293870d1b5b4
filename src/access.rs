//! Who may call each documented operation, by its `operationId`: the handlers' first role
//! check, said once for what reads the route table (the document's `x-roles`, the agents'
//! tools); and what a few do beyond what their method says. The role walk
//! (`tests/api/roles.rs`) holds the handlers to it, and the agents' tests hold each role's
//! tools to the walk.
use crate::principal::{ADMIN, ActorKind, PUBLISHERS, Principal, Role, STAFF, WRITERS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; a token, when sent, may show more (drafts to their writers).
    Public,
    /// Tokens of these roles, on what the role may touch (an author's own articles, a
    /// contributor's own drafts).
    Roles(&'static [Role]),
    /// Admins on anyone; each person on their own account and tokens.
    People,
    /// A browser's: signing in and out, accepting an invitation, asking for a reset.
    Browser,
    /// Not behind tokens at all: feeds, files, a preview by its signed link, health.
    Open,
}

impl Access {
    /// Whether `principal` may call it at all (what it may touch is the handler's to say).
    pub fn admits(self, principal: &Principal) -> bool {
        match self {
            Access::Public => true,
            Access::Roles(roles) => roles.contains(&principal.role),
            Access::People => {
                principal.role == Role::Admin || principal.actor.kind == ActorKind::User
            }
            Access::Browser | Access::Open => false,
        }
    }

    /// The roles the document names (`x-roles`): none for what needs no token.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Access::Roles(roles) => roles,
            Access::People => WRITERS,
            Access::Public | Access::Browser | Access::Open => &[],
        }
    }
}

/// The access of a documented operation; `None` for one not (yet) listed here, which
/// `tests::every_documented_operation_says_who_may_call_it` refuses.
pub fn of(operation_id: &str) -> Option<Access> {
    use Access::*;
    Some(match operation_id {
        "list_articles"
        | "find_article"
        | "list_related_articles"
        | "list_authors"
        | "find_author"
        | "list_tags"
        | "find_tag"
        | "list_images"
        | "find_image"
        | "list_article_comments"
        | "list_replies"
        | "submit_comment" => Public,
        "create_article"
        | "update_article"
        | "upsert_article"
        | "delete_article"
        | "list_revisions"
        | "find_revision"
        | "create_preview_link"
        | "revoke_preview_links"
        | "list_notes"
        | "create_note"
        | "run_batch"
        | "who_am_i" => Roles(WRITERS),
        "create_image" | "update_image" | "delete_image" | "create_tag" => Roles(PUBLISHERS),
        "create_author"
        | "update_author"
        | "delete_author"
        | "update_tag"
        | "delete_tag"
        | "list_comments"
        | "find_comment"
        | "update_comment"
        | "delete_comment"
        | "bulk_comment_status"
        | "reply_to_comment"
        | "merge_tag"
        | "list_activity" => Roles(STAFF),
        "list_users"
        | "find_settings"
        | "update_settings"
        | "invite_user"
        | "create_reset_link"
        | "list_webhooks"
        | "create_webhook"
        | "find_webhook"
        | "update_webhook"
        | "delete_webhook"
        | "rotate_webhook_secret"
        | "ping_webhook"
        | "list_webhook_deliveries"
        | "redeliver_webhook_delivery" => Roles(ADMIN),
        "list_tokens" | "create_token" | "find_token" | "revoke_token" | "find_user"
        | "update_user" | "end_user_sessions" => People,
        "sign_in"
        | "sign_out"
        | "change_password"
        | "begin_passkey_registration"
        | "add_passkey"
        | "list_passkeys"
        | "delete_passkey"
        | "begin_passkey_sign_in"
        | "sign_in_with_passkey"
        | "accept_invitation"
        | "request_password_reset" => Browser,
        "preview_article" | "get_avatar" | "get_media" | "site_atom_feed" | "site_json_feed"
        | "tag_atom_feed" | "tag_json_feed" | "author_atom_feed" | "author_json_feed"
        | "list_sitemap" | "feed_stylesheet" | "healthz" | "readyz" | "metrics" => Open,
        _ => return None,
    })
}

/// POSTs that may destroy what was there: a batch may delete, a rotation retires a
/// secret, moderation hides or removes comments. (Every DELETE, PATCH and PUT is counted
/// destructive by its method.)
pub fn destroys(operation_id: &str) -> bool {
    matches!(
        operation_id,
        "run_batch" | "rotate_webhook_secret" | "bulk_comment_status" | "merge_tag"
    )
}

/// Operations that reach beyond lede: an image fetched from a URL, a webhook called.
pub fn reaches_out(operation_id: &str) -> bool {
    matches!(
        operation_id,
        "create_image" | "ping_webhook" | "redeliver_webhook_delivery"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_documented_operation_says_who_may_call_it() {
        let doc = serde_json::to_value(crate::openapi::document()).unwrap();
        let mut missing = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                if let Some(id) = operation["operationId"].as_str()
                    && super::of(id).is_none()
                {
                    missing.push(id.to_owned());
                }
            }
        }
        assert!(missing.is_empty(), "add to access::of: {missing:?}");
    }
}
