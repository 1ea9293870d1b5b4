//! The top-level modules of `src/` form no cycle: imports point down only (README,
//! "Development"). Read from the source as text: every `crate::<module>` path (and the
//! modules a `use crate::{...}` names) outside comments and test modules is an arrow from
//! the module the file is in; `lib.rs`, the crate root that wires everything, is a module
//! of its own, and a path to one of its items is an arrow to it.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The files of `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file: without comment lines and without its test module (always last).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first names of the paths a `use crate::{...}` group lists.
fn grouped(group: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && (c.is_ascii_alphabetic() || c == '_') && depth == 0 => {
                names.push(identifier(&group[i..]));
                start = false;
            }
            _ => {}
        }
    }
    names
}

/// The names a path continues with after its root: one, or those of a `{...}` group.
fn continued(rest: &str) -> Vec<&str> {
    match rest.strip_prefix('{') {
        Some(group) => grouped(&group[..group.find("};").unwrap_or(group.len())]),
        None => vec![identifier(rest)],
    }
}

/// Whether `code[..at]` ends inside a path or a name (`a::crate`, `my_crate::`).
fn within_path(code: &str, at: usize) -> bool {
    code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// What `code` refers to at the crate's root: the first segment after each `crate::`, and
/// after each `super::` chain that climbs to the root from a file `depth` modules down
/// (`src/a.rs` and `src/a/mod.rs` are 1, `src/a/b.rs` is 2).
fn referenced(code: &str, depth: usize) -> Vec<&str> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if !within_path(code, at) {
            names.extend(continued(&code[at + "crate::".len()..]));
        }
    }
    for (at, _) in code.match_indices("super::") {
        if within_path(code, at) {
            continue; // the second or later `super::` of a chain
        }
        let mut rest = &code[at..];
        let mut climbed = 0;
        while let Some(after) = rest.strip_prefix("super::") {
            rest = after;
            climbed += 1;
        }
        if climbed >= depth {
            names.extend(continued(rest));
        }
    }
    names
}

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let depth_of = |file: &Path| -> usize {
        let relative = file.strip_prefix(&src).unwrap();
        let parts = relative.components().count();
        if relative.ends_with("mod.rs") {
            parts - 1
        } else {
            parts
        }
    };
    let module_of = |file: &Path| -> String {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        first.to_string_lossy().trim_end_matches(".rs").to_owned()
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f))
        .filter(|m| m != "main")
        .collect();
    // Arrows, with a file that draws each.
    let mut arrows: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(file);
        if from == "main" {
            continue; // the binary, a crate of its own
        }
        let code = code(&std::fs::read_to_string(file).unwrap());
        let mut targets: Vec<String> = referenced(&code, depth_of(file))
            .into_iter()
            .map(|name| {
                if modules.contains(name) {
                    name.to_owned()
                } else {
                    "lib".to_owned()
                }
            })
            .collect();
        if from == "lib" {
            // The root names its modules without `crate::`.
            for module in &modules {
                let used = code.match_indices(&format!("{module}::")).any(|(at, _)| {
                    !code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                });
                if used {
                    targets.push(module.clone());
                }
            }
        }
        for to in targets {
            if to != from {
                let shown = file.strip_prefix(&src).unwrap().display().to_string();
                arrows
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert(shown);
            }
        }
    }
    // Strongly connected components (Tarjan): any with two or more modules is a cycle.
    struct Walk<'a> {
        arrows: &'a BTreeMap<String, BTreeMap<String, String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        cycles: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(walk: &mut Walk<'a>, module: &'a str) {
        let n = walk.index.len();
        walk.index.insert(module, n);
        walk.low.insert(module, n);
        walk.stack.push(module);
        let arrows = walk.arrows;
        for to in arrows.get(module).into_iter().flat_map(|m| m.keys()) {
            let to = to.as_str();
            if !walk.index.contains_key(to) {
                visit(walk, to);
                let low = walk.low[module].min(walk.low[to]);
                walk.low.insert(module, low);
            } else if walk.stack.contains(&to) {
                let low = walk.low[module].min(walk.index[to]);
                walk.low.insert(module, low);
            }
        }
        if walk.low[module] == walk.index[module] {
            let mut component = Vec::new();
            while let Some(top) = walk.stack.pop() {
                component.push(top);
                if top == module {
                    break;
                }
            }
            if component.len() > 1 {
                walk.cycles.push(component);
            }
        }
    }
    let mut walk = Walk {
        arrows: &arrows,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        cycles: Vec::new(),
    };
    let mut all: Vec<&str> = modules.iter().map(String::as_str).collect();
    all.push("lib");
    for module in all {
        if !walk.index.contains_key(module) {
            visit(&mut walk, module);
        }
    }
    let report: Vec<String> = walk
        .cycles
        .iter()
        .map(|cycle| {
            let inside: Vec<String> = cycle
                .iter()
                .flat_map(|from| {
                    arrows[*from]
                        .iter()
                        .filter(|(to, _)| cycle.contains(&to.as_str()))
                        .map(move |(to, file)| format!("  {from} -> {to} (e.g. src/{file})"))
                })
                .collect();
            format!("{}:\n{}", cycle.join(", "), inside.join("\n"))
        })
        .collect();
    assert!(
        report.is_empty(),
        "top-level modules in a cycle (imports must point down only):\n{}",
        report.join("\n")
    );
}
