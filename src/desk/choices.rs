//! What a page offers to choose from: bylines and tag names, read straight from their tables
//! (the API's lists also count each one's articles, which a menu does not need).
use crate::error::ApiError;
use crate::state::AppState;

/// The most a menu lists.
const MOST: i64 = 1000;

/// One option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    /// Options of a fixed list, `current` selected.
    pub fn fixed(options: &[(&str, &str)], current: &str) -> Vec<Choice> {
        options
            .iter()
            .map(|(value, label)| Choice {
                value: (*value).to_owned(),
                label: (*label).to_owned(),
                selected: *value == current,
            })
            .collect()
    }
}

/// Every byline by name, its id the value, `selected` (an id) selected.
pub async fn authors(state: &AppState, selected: &str) -> Result<Vec<Choice>, ApiError> {
    let mut conn = crate::db::conn(&state.pool).await?;
    let names = crate::authors::queries::names(&mut conn, MOST).await?;
    Ok(names
        .into_iter()
        .map(|(id, _, name)| {
            let value = id.to_string();
            Choice {
                selected: value == selected,
                value,
                label: name,
            }
        })
        .collect())
}

/// Tag names, for suggestions as one types.
pub async fn tag_names(state: &AppState) -> Result<Vec<String>, ApiError> {
    let mut conn = crate::db::conn(&state.pool).await?;
    Ok(crate::tags::queries::names(&mut conn, MOST).await?)
}

/// Tags' slugs, each with its name, for choosing a tag by its slug.
pub async fn tag_slugs(state: &AppState) -> Result<Vec<(String, String)>, ApiError> {
    let mut conn = crate::db::conn(&state.pool).await?;
    Ok(crate::tags::queries::slugs(&mut conn, MOST).await?)
}
