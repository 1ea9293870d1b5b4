//! The editor's `Tags` field: names separated by commas, a name that holds a comma in
//! double quotes (`Cities, "Salt, pepper"`), as a spreadsheet writes it.

/// A name as the field writes it: in double quotes (its own doubled) when it holds a comma
/// or starts with a quote.
pub fn quoted(name: &str) -> String {
    if name.contains(',') || name.starts_with('"') {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_owned()
    }
}

/// The names of an article's tags (`[{name}, ...]`) as the field shows them.
pub fn shown(tags: &serde_json::Value) -> String {
    tags.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .map(quoted)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names a field holds, trimmed, empty ones left out. A quote is one only at the start
/// of a name (`12" vinyl` is a name with a quote in it); an unclosed one runs to the end.
pub fn names(field: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = field.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        name.push('"');
                    }
                    '"' => break,
                    c => name.push(c),
                }
            }
            // Whatever follows the closing quote, up to the comma, belongs to the name.
            for c in chars.by_ref() {
                if c == ',' {
                    break;
                }
                name.push(c);
            }
        } else {
            for c in chars.by_ref() {
                if c == ',' {
                    break;
                }
                name.push(c);
            }
        }
        let name = name.trim();
        if !name.is_empty() {
            names.push(name.to_owned());
        }
        if chars.peek().is_none() {
            return names;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_a_comma_survives_the_field() {
        let tags = serde_json::json!([{"name": "Cities"}, {"name": "Salt, pepper"}, {"name": "The \"Quote\""}, {"name": "\"Quoted\", too"}]);
        let field = shown(&tags);
        assert_eq!(
            field,
            r#"Cities, "Salt, pepper", The "Quote", """Quoted"", too""#
        );
        assert_eq!(
            names(&field),
            ["Cities", "Salt, pepper", "The \"Quote\"", "\"Quoted\", too"]
        );
        assert_eq!(names(" a,, b ,"), ["a", "b"]);
        // A quote inside a name is a letter; an unclosed one runs to the end.
        assert_eq!(
            names(r#"Cities, "Salt, pepper", 12" vinyl, Food"#),
            ["Cities", "Salt, pepper", "12\" vinyl", "Food"]
        );
        assert_eq!(names(r#""open, never closed"#), ["open, never closed"]);
        assert!(names("").is_empty());
    }
}
