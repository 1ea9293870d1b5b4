//! The editor's `Tags` field: names separated by commas, a name that holds a comma in
//! double quotes (`Cities, "Salt, pepper"`), as a spreadsheet writes it.

/// The names of an article's tags (`[{name}, ...]`) as the field shows them.
pub fn shown(tags: &serde_json::Value) -> String {
    tags.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .map(|name| {
            if name.contains(',') || name.contains('"') {
                format!("\"{}\"", name.replace('"', "\"\""))
            } else {
                name.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names a field holds, trimmed, empty ones left out.
pub fn names(field: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut name = String::new();
    let mut quoted = false;
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                name.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => names.push(std::mem::take(&mut name)),
            c => name.push(c),
        }
    }
    names.push(name);
    names
        .into_iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_a_comma_survives_the_field() {
        let tags = serde_json::json!([{"name": "Cities"}, {"name": "Salt, pepper"}, {"name": "The \"Quote\""}]);
        let field = shown(&tags);
        assert_eq!(field, r#"Cities, "Salt, pepper", "The ""Quote""""#);
        assert_eq!(names(&field), ["Cities", "Salt, pepper", "The \"Quote\""]);
        assert_eq!(names(" a,, b ,"), ["a", "b"]);
        assert!(names("").is_empty());
    }
}
