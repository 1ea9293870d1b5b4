//! Authors and tags of an export: found by slug or made (an author's email only when lede
//! takes it), each made once per run.
use super::*;

/// Authors and tags found or made so far, by WordPress login and slug (`None`: it could
/// not be made, and the summary says why).
#[derive(Default)]
pub(super) struct People {
    pub(super) authors: HashMap<String, Option<Uuid>>,
    pub(super) tags: HashMap<String, Option<Uuid>>,
    /// Authors (by login) and tags (by slug) this run made: counted once, and forgotten
    /// after each of a dry run's rolled-back transactions (made again when needed again).
    pub(super) made_authors: HashSet<String>,
    pub(super) made_tags: HashSet<String>,
    /// The ids of what this run made: gone with a dry run's rollback.
    pub(super) made_ids: HashSet<Uuid>,
}

impl People {
    /// Forgets what was made in a transaction that was rolled back.
    pub(super) fn forget_made(&mut self) {
        let made = &self.made_ids;
        let kept = |id: &mut Option<Uuid>| id.is_none_or(|id| !made.contains(&id));
        self.authors.retain(|_, id| kept(id));
        self.tags.retain(|_, id| kept(id));
    }

    /// The author of a post, by its creator's login; made from the login alone when the
    /// export does not list it.
    pub(super) async fn author_of(
        &mut self,
        conn: &mut AsyncPgConnection,
        login: &str,
        summary: &mut Summary,
    ) -> Option<Uuid> {
        let login = match login.trim() {
            "" => "wordpress",
            login => login,
        };
        if let Some(id) = self.authors.get(login) {
            return *id;
        }
        let author = wxr::WpAuthor {
            login: login.to_owned(),
            email: String::new(),
            display_name: login.to_owned(),
        };
        self.author(conn, &author, summary).await
    }

    /// Finds the author by slug (from the login), then by email; else makes it through
    /// the API's code. Its email is kept private, as every author's is.
    pub(super) async fn author(
        &mut self,
        conn: &mut AsyncPgConnection,
        author: &wxr::WpAuthor,
        summary: &mut Summary,
    ) -> Option<Uuid> {
        if let Some(id) = self.authors.get(&author.login) {
            return *id;
        }
        let slug = slug_of(&author.login).unwrap_or_else(|| "wordpress-author".into());
        let email = author.email.trim().to_lowercase();
        let found = match crate::authors::queries::find(conn, &slug).await {
            Ok(None) if !email.is_empty() => crate::authors::queries::by_email(conn, &email).await,
            other => other,
        };
        let id = match found {
            Ok(Some(existing)) => {
                summary.count("authors").unchanged += 1;
                Some(existing.id)
            }
            Ok(None) => {
                let name = match html::plain_text(&author.display_name) {
                    name if name.is_empty() => author.login.clone(),
                    name => name,
                };
                let new = |email: Option<String>| crate::authors::model::NewAuthor {
                    name: name.chars().take(100).collect(),
                    slug: Some(slug.clone()),
                    email,
                    bio: None,
                    website: None,
                    avatar: None,
                };
                let importer = &Principal::IMPORTER;
                let made = match crate::authors::create(
                    conn,
                    importer,
                    new(Some(email).filter(|e| !e.is_empty())),
                    Checks::new(),
                )
                .await
                {
                    // An address lede does not take: the author without it.
                    Err(ApiError::Validation(_)) => {
                        crate::authors::create(conn, importer, new(None), Checks::new()).await
                    }
                    other => other,
                };
                match made {
                    Ok(made) => {
                        self.made_ids.insert(made.id);
                        if self.made_authors.insert(slug.clone()) {
                            summary.count("authors").created += 1;
                        }
                        Some(made.id)
                    }
                    Err(error) => {
                        summary.count("authors").failed += 1;
                        summary.problems.push(format!(
                            "author {}: {} (their posts are not imported)",
                            author.login,
                            explain(&error)
                        ));
                        None
                    }
                }
            }
            Err(error) => {
                summary
                    .problems
                    .push(format!("author {}: {error}", author.login));
                None
            }
        };
        self.authors.insert(author.login.clone(), id);
        id
    }

    /// Finds the tag by slug, else makes it through the API's code.
    pub(super) async fn tag(
        &mut self,
        conn: &mut AsyncPgConnection,
        term: &wxr::WpTerm,
        summary: &mut Summary,
    ) -> Option<Uuid> {
        let name = html::plain_text(&term.name);
        let slug = slug_of(&term.slug).or_else(|| slug_of(&name))?;
        if let Some(id) = self.tags.get(&slug) {
            return *id;
        }
        let id = match crate::tags::queries::find(conn, &slug).await {
            Ok(Some(tag)) => {
                summary.count("tags").unchanged += 1;
                Some(tag.id)
            }
            Ok(None) => {
                let new = crate::tags::model::NewTag {
                    name: match name.is_empty() {
                        true => slug.clone(),
                        false => name.chars().take(100).collect(),
                    },
                    slug: Some(slug.clone()),
                    description: None,
                };
                match crate::tags::create(conn, &Principal::IMPORTER, new, Checks::new()).await {
                    Ok(tag) => {
                        self.made_ids.insert(tag.id);
                        if self.made_tags.insert(slug.clone()) {
                            summary.count("tags").created += 1;
                        }
                        Some(tag.id)
                    }
                    Err(error) => {
                        summary.count("tags").failed += 1;
                        summary
                            .problems
                            .push(format!("tag {slug}: {}", explain(&error)));
                        None
                    }
                }
            }
            Err(error) => {
                summary.problems.push(format!("tag {slug}: {error}"));
                None
            }
        };
        self.tags.insert(slug, id);
        id
    }
}

/// A lede slug from a WordPress one (which may be percent-encoded unicode).
pub(super) fn slug_of(text: &str) -> Option<String> {
    let decoded = percent_decode(text.trim());
    let slug: String = slug::slugify(decoded).chars().take(100).collect();
    let slug = slug.trim_end_matches('-').to_owned();
    (!slug.is_empty()).then(|| crate::http::validate::not_id_shaped(slug))
}

pub(super) fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
