//! Text helpers every layer uses.

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A new secret: `prefix` and 40 random letters and digits (~238 bits), for tokens,
/// sessions and one-use links, which keep only its SHA-256.
pub fn random_secret(prefix: &str) -> String {
    use rand::Rng;
    let random: String = rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("{prefix}{random}")
}
