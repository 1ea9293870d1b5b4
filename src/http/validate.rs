//! Input checks that collect every bad field of a request before answering 422 once.
use crate::error::{ApiError, FieldError};

pub const MAX_SLUG_LEN: usize = 100;

#[derive(Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    pub fn new() -> Self {
        Checks::default()
    }

    /// Checks that start with problems already found (a body's shape).
    pub fn with(problems: Vec<FieldError>) -> Self {
        Checks(problems)
    }

    /// Whether `field` (or a part of it: `tags[1]`) already has a problem.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().filter_map(|e| e.field.as_deref()).any(|f| {
            f.strip_prefix(field)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['[', '.']))
        })
    }

    /// A reference to a thing by id or slug (`author`, an entry of `tags`): anything else
    /// (a name, control characters) cannot name one.
    pub fn key(&mut self, field: &str, value: &str) -> bool {
        let ok = uuid::Uuid::parse_str(value).is_ok() || is_valid_slug(value);
        if !ok {
            self.fail(
                field,
                "invalid_key",
                format!("{field} must be an id or a slug (lowercase a-z, 0-9 and dashes)"),
            );
        }
        ok
    }

    /// Records a problem; a field already named keeps its first one (it may carry a
    /// stand-in value the later checks would complain of).
    pub fn fail(&mut self, field: &str, code: &str, message: impl Into<String>) {
        if !self.0.iter().any(|e| e.field.as_deref() == Some(field)) {
            self.0.push(FieldError::new(field, code, message));
        }
    }

    /// A required line of text: trimmed, non-empty, at most `max` characters, no control
    /// characters (NUL cannot even be stored).
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        if value.is_empty() {
            self.fail(field, "required", format!("{field} must not be empty"));
        } else {
            self.plain(field, value, max, false);
        }
        value.to_owned()
    }

    /// Required text that may span lines (a comment's body): like `text`, but newlines and
    /// tabs are text; other control characters are refused.
    pub fn multiline_text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        if value.is_empty() {
            self.fail(field, "required", format!("{field} must not be empty"));
        } else {
            self.plain(field, value, max, true);
        }
        value.to_owned()
    }

    /// A merge-patch value for a field that cannot be removed: `null` is refused.
    pub fn kept(
        &mut self,
        field: &str,
        value: Option<String>,
        check: impl FnOnce(&mut Self, &str) -> String,
    ) -> String {
        match value {
            Some(value) => check(self, &value),
            None => {
                self.fail(field, "required", format!("{field} cannot be removed"));
                String::new()
            }
        }
    }

    /// Optional free text (may span lines); empty means none.
    pub fn long_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        self.plain(field, value, max, true);
        Some(value.to_owned())
    }

    fn plain(&mut self, field: &str, value: &str, max: usize, multiline: bool) {
        if value.chars().count() > max {
            self.fail(
                field,
                "too_long",
                format!("{field} must be at most {max} characters"),
            );
        }
        if value
            .chars()
            .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\t' | '\r')))
        {
            self.fail(
                field,
                "invalid_characters",
                format!("{field} must not contain control characters"),
            );
        }
        // Lines of text (titles, names, captions); a comment's body may need them.
        if !multiline && value.chars().any(is_bidi_control) {
            self.fail(
                field,
                "invalid_characters",
                format!(
                    "{field} must not contain bidirectional embedding, override or isolate \
                     characters (U+202A-U+202E, U+2066-U+2069): they make text read other \
                     than it is"
                ),
            );
        }
    }

    /// A slug as given by a client: lowercase ASCII letters and digits in dash-separated runs.
    pub fn slug(&mut self, field: &str, value: &str) -> String {
        if !is_valid_slug(value) {
            self.fail(
                field,
                "invalid_format",
                format!(
                    "{field} may only hold a-z, 0-9 and single dashes (not at either end), at most {MAX_SLUG_LEN} characters"
                ),
            );
        } else if is_id_shaped(value) {
            self.fail(
                field,
                "shaped_like_id",
                format!("{field} must not have the shape of an id: it would be read as one"),
            );
        }
        value.to_owned()
    }

    /// An absolute http(s) URL without credentials, stored as the `url` crate serialises it:
    /// `"`, `<`, `>`, spaces and the like percent-encoded, so it is safe in an attribute.
    pub fn url(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        let parsed = url::Url::parse(value).ok().filter(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.username().is_empty()
                && u.password().is_none()
        });
        match parsed.map(String::from) {
            Some(normalised) if normalised.len() <= 2000 => Some(normalised),
            _ => {
                self.fail(
                    field,
                    "invalid_url",
                    format!(
                        "{field} must be an absolute http or https URL without credentials, \
                         at most 2,000 characters"
                    ),
                );
                Some(value.to_owned())
            }
        }
    }

    /// An email address of the plain `local@domain.tld` form.
    pub fn email(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        let ok = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            })
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>\"(),;:\\[]".contains(c));
        if !ok {
            self.fail(
                field,
                "invalid_email",
                format!("{field} must be an email address"),
            );
        }
        Some(value.to_owned())
    }

    /// The problems recorded, for a caller that knows there is one.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

pub fn is_valid_slug(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_SLUG_LEN
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--")
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The bidirectional embeddings, overrides and isolates, which reorder what follows them
/// (a title that shows one thing and says another).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether a slug would be read as an id where either is taken (`/articles/{id_or_slug}`).
pub fn is_id_shaped(value: &str) -> bool {
    uuid::Uuid::parse_str(value).is_ok()
}

/// A slug made elsewhere (a title, an import) that has the shape of an id, made one that
/// has not (`-1` added); any other is kept.
pub fn not_id_shaped(slug: String) -> String {
    if is_id_shaped(&slug) {
        format!("{slug}-1")
    } else {
        slug
    }
}

/// A slug made from a title or name: transliterated to ASCII, at most 100 characters, cut
/// at a dash, never shaped like an id. Names with nothing transliterable fall back to
/// `fallback`.
pub fn slugify(text: &str, fallback: &str) -> String {
    let mut slug = slug::slugify(text);
    if slug.len() > MAX_SLUG_LEN {
        let cut = slug[..=MAX_SLUG_LEN]
            .rfind('-')
            .filter(|&i| i > 0)
            .unwrap_or(MAX_SLUG_LEN);
        slug.truncate(cut);
        while slug.ends_with('-') {
            slug.pop();
        }
    }
    if slug.is_empty() {
        fallback.to_owned()
    } else {
        not_id_shaped(slug)
    }
}

/// The first of `base`, `base-2`, `base-3`, ... that is not in `taken` (the slugs that
/// start with `base`), keeping within the length limit.
pub fn first_free_slug(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| {
            let suffix = format!("-{n}");
            let mut stem = base[..base.len().min(MAX_SLUG_LEN - suffix.len())].to_owned();
            while stem.ends_with('-') {
                stem.pop();
            }
            format!("{stem}{suffix}")
        })
        .find(|candidate| !taken.iter().any(|t| t == candidate))
        .unwrap_or_else(|| base.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_slugs_avoid_taken_ones() {
        let taken = vec!["news".to_owned(), "news-2".to_owned()];
        assert_eq!(first_free_slug("news", &taken), "news-3");
        assert_eq!(first_free_slug("sport", &taken), "sport");
        let long = "a".repeat(100);
        let next = first_free_slug(&long, std::slice::from_ref(&long));
        assert!(next.ends_with("-2") && next.len() <= MAX_SLUG_LEN);
    }

    use super::*;

    #[test]
    fn slugs_are_made_ascii_and_bounded() {
        assert_eq!(slugify("Ada Lovelace", "x"), "ada-lovelace");
        assert_eq!(slugify("  Zoë Ünal!! ", "x"), "zoe-unal");
        assert_eq!(slugify("!!! ???", "author"), "author");
        assert_eq!(slugify("東京", "x"), "dong-jing");
        let long = slugify(&"word ".repeat(60), "x");
        assert!(long.len() <= MAX_SLUG_LEN && is_valid_slug(&long), "{long}");
    }

    #[test]
    fn slug_format_is_checked() {
        for good in ["a", "a-b", "2025-review"] {
            assert!(is_valid_slug(good), "{good}");
        }
        for bad in ["", "A", "a--b", "-a", "a-", "a b", "é", &"a".repeat(101)] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn collects_every_bad_field() {
        let mut checks = Checks::new();
        checks.text("name", "  ", 10);
        checks.url("website", Some("javascript:alert(1)"));
        checks.email("email", Some("nobody"));
        checks.text("title", "a\0b", 10);
        match checks.finish() {
            Err(ApiError::Validation(errors)) => assert_eq!(errors.len(), 4),
            other => panic!("{other:?}"),
        }
    }
}
