//! Search words as people type them (Postgres's `websearch_to_tsquery` syntax, as before the
//! index): words must all match, `"a phrase"` matches in order, `-word` excludes, and `or`
//! between two words lets either match. Nothing else is syntax, so no input is an error.
use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

/// One thing to look for: a word, or words in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Word(String),
    Phrase(String),
}

/// Items that must (or, negated, must not) match: any one of `either`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub negated: bool,
    pub either: Vec<Item>,
}

/// Reads `q` into clauses.
pub fn parse(q: &str) -> Vec<Clause> {
    let mut clauses: Vec<Clause> = Vec::new();
    let mut or_next = false;
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            match chars.peek() {
                Some(next) if !next.is_whitespace() => negated = true,
                _ => continue,
            }
        }
        let item = if chars.peek() == Some(&'"') {
            chars.next();
            let phrase: String = chars.by_ref().take_while(|&c| c != '"').collect();
            Item::Phrase(phrase)
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '"' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            if !negated && word.eq_ignore_ascii_case("or") && !clauses.is_empty() {
                or_next = true;
                continue;
            }
            Item::Word(word)
        };
        match clauses.last_mut() {
            Some(last) if or_next && !negated && !last.negated => last.either.push(item),
            _ => clauses.push(Clause {
                negated,
                either: vec![item],
            }),
        }
        or_next = false;
    }
    clauses
}

/// The fields a word is looked for in, with their weights.
pub struct TextFields {
    pub weighted: Vec<(Field, f32)>,
}

/// The query for `clauses`, or `None` when nothing searchable is left (only stop words):
/// such a search finds nothing, as in Postgres.
pub fn build(
    clauses: &[Clause],
    fields: &TextFields,
    analyzer: &mut TextAnalyzer,
) -> Option<Box<dyn Query>> {
    let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut positive = false;
    for clause in clauses {
        let either: Vec<(Occur, Box<dyn Query>)> = clause
            .either
            .iter()
            .filter_map(|item| item_query(item, fields, analyzer))
            .map(|q| (Occur::Should, q))
            .collect();
        if either.is_empty() {
            continue;
        }
        let query: Box<dyn Query> = Box::new(BooleanQuery::new(either));
        if clause.negated {
            parts.push((Occur::MustNot, query));
        } else {
            positive = true;
            parts.push((Occur::Must, query));
        }
    }
    if parts.is_empty() {
        return None;
    }
    if !positive {
        // Only exclusions: everything else matches.
        parts.push((Occur::Must, Box::new(tantivy::query::AllQuery)));
    }
    Some(Box::new(BooleanQuery::new(parts)))
}

/// An item looked for in every text field: a term, or a phrase when the analyzer makes
/// several terms of it (`e-mail`, `"night tram"`).
fn item_query(
    item: &Item,
    fields: &TextFields,
    analyzer: &mut TextAnalyzer,
) -> Option<Box<dyn Query>> {
    let text = match item {
        Item::Word(text) | Item::Phrase(text) => text,
    };
    let mut tokens: Vec<(usize, String)> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        tokens.push((token.position, token.text.clone()));
    }
    let first = tokens.first()?.0;
    let per_field: Vec<(Occur, Box<dyn Query>)> = fields
        .weighted
        .iter()
        .map(|&(field, weight)| {
            let query: Box<dyn Query> = if tokens.len() == 1 {
                Box::new(TermQuery::new(
                    Term::from_field_text(field, &tokens[0].1),
                    IndexRecordOption::WithFreqs,
                ))
            } else {
                Box::new(PhraseQuery::new_with_offset(
                    tokens
                        .iter()
                        .map(|(position, text)| {
                            (position - first, Term::from_field_text(field, text))
                        })
                        .collect(),
                ))
            };
            let boosted: Box<dyn Query> = if weight == 1.0 {
                query
            } else {
                Box::new(BoostQuery::new(query, weight))
            };
            (Occur::Should, boosted)
        })
        .collect();
    Some(Box::new(BooleanQuery::new(per_field)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(clause: &Clause) -> Vec<String> {
        clause
            .either
            .iter()
            .map(|i| match i {
                Item::Word(w) => w.clone(),
                Item::Phrase(p) => format!("\"{p}\""),
            })
            .collect()
    }

    #[test]
    fn reads_words_phrases_exclusions_and_or() {
        let clauses = parse(r#"night "last tram" -bus harbour or ferry or"#);
        let read: Vec<(bool, Vec<String>)> =
            clauses.iter().map(|c| (c.negated, words(c))).collect();
        assert_eq!(
            read,
            vec![
                (false, vec!["night".to_owned()]),
                (false, vec!["\"last tram\"".to_owned()]),
                (true, vec!["bus".to_owned()]),
                (false, vec!["harbour".to_owned(), "ferry".to_owned()]),
            ]
        );
    }

    #[test]
    fn odd_input_is_just_words() {
        assert_eq!(
            parse("  - \"unclosed"),
            vec![Clause {
                negated: false,
                either: vec![Item::Phrase("unclosed".into())]
            }]
        );
        assert_eq!(
            parse("or"),
            vec![Clause {
                negated: false,
                either: vec![Item::Word("or".into())]
            }]
        );
        assert!(parse("   ").is_empty());
    }
}
