//! How long an article body takes to check and render, for the worst bodies of an allowed
//! size found so far: deep lists, quotes and HTML (refused past the nesting limit, so also
//! each at the limit, repeated to fill the size limit), odd runs of markdown punctuation,
//! beside an ordinary long article. Prints one row per body: its size, the check's time,
//! whether it is refused, and the render's time. Run by `bench/render`.
// Tools and tests: a failure here should stop with a message, as `expect` does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::collections::HashMap;
use std::time::Instant;

use lede::articles::limits::{self, MAX_NESTING};
use lede::articles::render;

fn main() {
    let size: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500_000);
    let deep = MAX_NESTING;
    let cases: Vec<(String, String)> = vec![
        (
            "ordinary article".into(),
            fill(
                "## A heading\n\nSome prose with *emphasis*, a [link](https://example.com) and more words to read.\n\n- one\n- two\n\n> a quote\n\n",
                size,
            ),
        ),
        (
            "`- ` x 250,000 (nested list)".into(),
            format!("{}x", "- ".repeat(size / 2 - 1)),
        ),
        (
            "`> ` x 250,000 (nested quote)".into(),
            "> ".repeat(size / 2),
        ),
        ("`<div>` x 100,000".into(), "<div>".repeat(size / 5)),
        (
            "`<div></span>` x 41,000".into(),
            "<div></span>".repeat(size / 12),
        ),
        ("`<div/>` x 83,000".into(), "<div/>".repeat(size / 6)),
        (
            "`<span><div></span>` x 27,000".into(),
            "<span><div></span>".repeat(size / 18),
        ),
        (
            "`<div title=\"></div>\">` x".into(),
            fill("<div title=\"></div>\">", size),
        ),
        (
            "`<div><script></div></script>` x".into(),
            fill("<div><script></div></script>", size),
        ),
        ("`<p>` x 125,000 (siblings)".into(), "<p>x".repeat(size / 4)),
        (
            format!("`<b>` {} elements, flat", limits::MAX_ELEMENTS),
            fill("<b>x</b> ", limits::MAX_ELEMENTS * 9),
        ),
        (
            format!("list {} deep, repeated", deep / 2),
            fill(&format!("{}x\n\n", "- ".repeat(deep / 2)), size),
        ),
        (
            format!("quote {deep} deep, repeated"),
            fill(&format!("{}x\n\n", "> ".repeat(deep)), size),
        ),
        (
            format!("`<div>` {deep} deep, repeated"),
            fill(
                &format!("{}x{}\n", "<div>".repeat(deep), "</div>".repeat(deep)),
                size,
            ),
        ),
        (
            format!("`<b>` {deep} deep, repeated"),
            fill(
                &format!("{}x{}", "<b>".repeat(deep), "</b>".repeat(deep)),
                size,
            ),
        ),
        ("`<b></i>` misnested".into(), fill("<b><i>x</b></i>", size)),
        ("`<table><td>` x".into(), fill("<table><td>", size)),
        ("`<a href=x>` unclosed".into(), fill("<a href=x>a", size)),
        ("`*[` run".into(), "*[".repeat(size / 2)),
        ("`[` run".into(), "[".repeat(size)),
        ("`<` run".into(), "<".repeat(size)),
        ("`![` run".into(), "![".repeat(size / 2)),
        ("`` `a `` run".into(), "`a".repeat(size / 2)),
        (
            "`|` table".into(),
            format!("|a|\n|-|\n{}", "|".repeat(size - 10)),
        ),
        ("`[^a]: ` footnotes".into(), "[^a]: ".repeat(size / 6)),
        ("`**a` run".into(), "**a".repeat(size / 3)),
        ("`_a*` run".into(), "_a*".repeat(size / 3)),
        ("links x".into(), fill("[a](https://x.test/a) ", size)),
    ];
    println!(
        "| body | bytes | check ms | verdict | render ms |\n| --- | ---: | ---: | --- | ---: |"
    );
    for (name, body) in cases {
        let started = Instant::now();
        let problems = limits::check(&body);
        let checked = started.elapsed().as_secs_f64() * 1000.0;
        let (verdict, rendered) = match problems.first() {
            Some(problem) => (format!("refused: {}", problem.code), "-".to_owned()),
            None => {
                let started = Instant::now();
                render::render(&body, &HashMap::new());
                (
                    "rendered".to_owned(),
                    format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
                )
            }
        };
        println!(
            "| {name} | {} | {checked:.1} | {verdict} | {rendered} |",
            body.len()
        );
    }
}

fn fill(unit: &str, size: usize) -> String {
    unit.repeat(size / unit.len())
}
