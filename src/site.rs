//! The front-end's site: where its pages live, so `canonical_url`, feeds, the sitemap,
//! structured data and preview links point readers at the site, not at the API. Built once
//! from settings (`LEDE_SITE_*`, `LEDE_*_PATH`) and checked at start: nothing a request
//! sends takes part in these URLs.
use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, Utc};

use crate::config::Config;

#[derive(Debug, Clone)]
pub struct Site {
    /// Without a trailing slash.
    url: String,
    pub name: String,
    pub logo: Option<String>,
    article_path: String,
    page_path: String,
    author_path: String,
    tag_path: String,
    preview_path: Option<String>,
    /// Where the newsroom's clocks are: the desk schedules in it.
    pub time_zone: chrono_tz::Tz,
}

impl Site {
    pub fn from_config(config: &Config) -> anyhow::Result<Site> {
        let url = site_url(&config.site_url).context("LEDE_SITE_URL")?;
        let logo = match &config.site_logo {
            Some(logo) => Some(absolute(logo).context("LEDE_SITE_LOGO")?),
            None => None,
        };
        let time_zone = config
            .site_time_zone
            .trim()
            .parse::<chrono_tz::Tz>()
            .map_err(|_| {
                anyhow::anyhow!(
                    "LEDE_SITE_TIME_ZONE: `{}` is not a time zone (an IANA name such as \
                     Europe/Paris, or UTC)",
                    config.site_time_zone
                )
            })?;
        let site = Site {
            url,
            time_zone,
            name: config.site_name.trim().to_owned(),
            logo,
            article_path: template(
                "LEDE_ARTICLE_PATH",
                &config.article_path,
                &["slug", "kind", "yyyy", "mm", "dd"],
                "slug",
            )?,
            page_path: template("LEDE_PAGE_PATH", &config.page_path, &["slug"], "slug")?,
            author_path: template("LEDE_AUTHOR_PATH", &config.author_path, &["slug"], "slug")?,
            tag_path: template("LEDE_TAG_PATH", &config.tag_path, &["slug"], "slug")?,
            preview_path: match &config.preview_path {
                Some(path) => Some(template(
                    "LEDE_PREVIEW_PATH",
                    path,
                    &["token", "slug"],
                    "token",
                )?),
                None => None,
            },
        };
        if site.name.is_empty() || site.name.chars().any(char::is_control) {
            bail!("LEDE_SITE_NAME must be a line of text");
        }
        Ok(site)
    }

    /// The site's home page, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where readers find an article (`page`: a page) on the site. A date placeholder of
    /// an article never published (a draft's preview) takes its creation date.
    pub fn article_url(
        &self,
        page: bool,
        slug: &str,
        published_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
    ) -> String {
        let kind = if page { "page" } else { "article" };
        let path = if page {
            &self.page_path
        } else {
            &self.article_path
        };
        let date = published_at.unwrap_or(created_at);
        let path = path
            .replace("{slug}", slug)
            .replace("{kind}", kind)
            .replace("{yyyy}", &format!("{:04}", date.year()))
            .replace("{mm}", &format!("{:02}", date.month()))
            .replace("{dd}", &format!("{:02}", date.day()));
        format!("{}{path}", self.url)
    }

    pub fn author_url(&self, slug: &str) -> String {
        format!("{}{}", self.url, self.author_path.replace("{slug}", slug))
    }

    pub fn tag_url(&self, slug: &str) -> String {
        format!("{}{}", self.url, self.tag_path.replace("{slug}", slug))
    }

    /// The front-end's draft-mode route for a preview token, when one is configured.
    pub fn preview_url(&self, token: &str, slug: &str) -> Option<String> {
        let path = self.preview_path.as_ref()?;
        Some(format!(
            "{}{}",
            self.url,
            path.replace("{token}", token).replace("{slug}", slug)
        ))
    }
}

impl Site {
    /// `target` as an absolute URL, when it is on the site's own origin (an absolute URL
    /// with the site's scheme, host and port, or a path from the site's root): where a form
    /// may send a browser back to. Nothing else, so no one can use lede to redirect away.
    pub fn same_origin(&self, target: &str) -> Option<String> {
        if target.len() > 2000 || target.chars().any(char::is_control) {
            return None;
        }
        let site = url::Url::parse(&self.url).ok()?;
        let mut resolved = if target.starts_with('/') && !target.starts_with("//") {
            site.join(target).ok()?
        } else {
            url::Url::parse(target).ok()?
        };
        // Dot segments are resolved by the parser; runs of slashes are made one, so no
        // proxy that collapses them can read the path as another host (`/..//evil.example`).
        if resolved.path().contains("//") {
            let mut clean = String::with_capacity(resolved.path().len());
            for c in resolved.path().chars() {
                if !(c == '/' && clean.ends_with('/')) {
                    clean.push(c);
                }
            }
            resolved.set_path(&clean);
        }
        let no_credentials = resolved.username().is_empty() && resolved.password().is_none();
        (resolved.origin() == site.origin() && no_credentials).then(|| resolved.to_string())
    }
}

/// An absolute http(s) URL without credentials, as the `url` crate writes it.
fn absolute(text: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(text.trim()).context("not an absolute URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("must be an http or https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!("must not carry credentials");
    }
    Ok(url.to_string())
}

/// The site's base: an absolute http(s) URL with no query or fragment, kept without its
/// trailing slash so paths join it.
fn site_url(text: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(&absolute(text)?)?;
    if url.query().is_some() || url.fragment().is_some() {
        bail!("must not have a query or a fragment");
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A path with `{placeholders}`: it starts with `/`, names only `allowed` ones, `required`
/// among them, and is a valid URL path once they are filled (so what it makes is one).
fn template(setting: &str, path: &str, allowed: &[&str], required: &str) -> anyhow::Result<String> {
    if !path.starts_with('/') {
        bail!("{setting} must start with `/`");
    }
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .with_context(|| format!("{setting} has an unclosed `{{`"))?;
        let name = &rest[start + 1..start + end];
        if !allowed.contains(&name) {
            bail!(
                "{setting} names `{{{name}}}`; it may use {}",
                allowed
                    .iter()
                    .map(|a| format!("{{{a}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        rest = &rest[start + end + 1..];
    }
    if !path.contains(&format!("{{{required}}}")) {
        bail!("{setting} must contain {{{required}}}");
    }
    let filled = allowed.iter().fold(path.to_owned(), |p, name| {
        p.replace(&format!("{{{name}}}"), "x")
    });
    let joined = url::Url::parse("http://site.test")?.join(&filled)?;
    if joined.as_str() != format!("http://site.test{filled}")
        || filled.contains('}')
        || filled.starts_with("//")
    {
        bail!("{setting} must be a plain URL path (no spaces, quotes, `<`, `>` or `}}`)");
    }
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(url: &str, article_path: &str) -> anyhow::Result<Site> {
        let mut config = Config::for_database(String::new());
        config.site_url = url.into();
        config.article_path = article_path.into();
        Site::from_config(&config)
    }

    #[test]
    fn article_urls_follow_the_path_template() {
        let at = DateTime::parse_from_rfc3339("2025-03-07T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let site = site(
            "https://www.example.com/",
            "/{kind}s/{yyyy}/{mm}/{dd}/{slug}",
        )
        .unwrap();
        assert_eq!(
            site.article_url(false, "night-tram", Some(at), at),
            "https://www.example.com/articles/2025/03/07/night-tram"
        );
        assert_eq!(
            site.article_url(true, "about", None, at),
            "https://www.example.com/about"
        );
        let nested = self::site("https://example.com/news", "/{slug}").unwrap();
        assert_eq!(
            nested.article_url(false, "a", None, at),
            "https://example.com/news/a"
        );
    }

    #[test]
    fn only_the_sites_own_origin_is_a_place_to_send_browsers_back_to() {
        let site = site("https://www.example.com", "/{slug}").unwrap();
        for (target, want) in [
            (
                "/the-tram#comments",
                Some("https://www.example.com/the-tram#comments"),
            ),
            (
                "https://www.example.com/a?b=1",
                Some("https://www.example.com/a?b=1"),
            ),
            (
                "https://www.example.com:443/a",
                Some("https://www.example.com/a"),
            ),
            ("https://evil.test/", None),
            ("//evil.test/x", None),
            ("/\\evil.test/x", None),
            (
                "/%2F%2Fevil.test",
                Some("https://www.example.com/%2F%2Fevil.test"),
            ),
            ("https://www.example.com.evil.test/", None),
            ("http://www.example.com/", None),
            ("https://www.example.com:8443/", None),
            ("https://user@www.example.com/", None),
            ("https://:pw@www.example.com/", None),
            ("https://www.ex\u{0430}mple.com/", None),
            ("/a\r\nSet-Cookie: x=1", None),
            ("javascript:alert(1)", None),
            ("the-tram", None),
            // Resolved to one clean path on the site, never a `//host` a proxy could collapse.
            (
                "/..//evil.example",
                Some("https://www.example.com/evil.example"),
            ),
            (
                "/a/..//..///evil.example/x",
                Some("https://www.example.com/evil.example/x"),
            ),
            (
                "https://www.example.com//evil.example",
                Some("https://www.example.com/evil.example"),
            ),
        ] {
            assert_eq!(site.same_origin(target).as_deref(), want, "{target}");
        }
    }

    #[test]
    fn bad_settings_are_refused_at_start() {
        for (url, path) in [
            ("example.com", "/{slug}"),
            ("javascript:alert(1)", "/{slug}"),
            ("https://u:p@example.com", "/{slug}"),
            ("https://example.com/?q=1", "/{slug}"),
            ("https://example.com", "{slug}"),
            ("https://example.com", "/{slug}/{year}"),
            ("https://example.com", "/{yyyy}/{mm}"),
            ("https://example.com", "/{slug}\"><script>"),
            ("https://example.com", "//evil.test/{slug}"),
            ("https://example.com", "/{slug"),
        ] {
            assert!(site(url, path).is_err(), "{url} {path}");
        }
    }
}
