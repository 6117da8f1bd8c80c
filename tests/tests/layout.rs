//! The layout ARCHITECTURE.md promises, checked on the sources themselves:
//! - inside a crate, files import in one direction: no cycle between two
//!   files of one crate's `src/`;
//! - no source file is longer than [`LINES_MAX`], except the data-like
//!   files named in [`LONG_FILES`].
//!
//! An import is a path through `crate::`, `super::` or `self::`, or through
//! a child module by its name, followed through re-exports (`crate::Hash`
//! is an import of `types`, where `lib.rs` re-exports it from). A child's
//! use of its own parent's (or an ancestor's) items is not counted: in Rust
//! a child module is part of its parent, so handlers that `use super::*`
//! while their parent routes to them are one part. A cycle between
//! siblings or cousins is what makes a part that cannot be read, moved or
//! tested without the other.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Longest source file, in lines.
const LINES_MAX: usize = 800;

/// Files allowed to be longer, each with why: tables and data, not logic.
const LONG_FILES: &[(&str, &str)] = &[];

/// The workspace's crates with a `src/` folder.
const CRATES: &[&str] = &[
    "ledger",
    "consensus",
    "genesis",
    "wire",
    "node",
    "gateway",
    "tools",
    "cli",
    "testkit",
    "tests",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("a readable folder").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `api/mod.rs` and `api.rs` are
/// `["api"]`, `lib.rs` is `[]`; `None` for a binary's own files.
fn module_path(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.first().map(String::as_str) == Some("bin") {
        return None;
    }
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" if parts.is_empty() => {}
        "main.rs" => return None,
        "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_owned()),
    }
    Some(parts)
}

/// Strips comments and string literals well enough for path matching.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut in_string = false;
        let mut prev = ' ';
        for c in code.chars() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            } else if !in_string {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path that starts at `start` in `code`, as segments, with brace
/// groups (`use super::{a, b::c}`) expanded one level.
fn paths_after(code: &str, start: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find(start) {
        let at = from + i;
        from = at + start.len();
        if at > 0 && is_ident(code[..at].chars().next_back().unwrap_or(' ')) {
            continue;
        }
        let rest = &code[at + start.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                found.push(segments(item.trim()));
            }
        } else {
            found.push(segments(rest));
        }
    }
    found
}

fn segments(rest: &str) -> Vec<String> {
    let mut segs = Vec::new();
    let mut s = rest;
    loop {
        let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
        if end == 0 {
            break;
        }
        segs.push(s[..end].to_owned());
        match s[end..].strip_prefix("::") {
            Some(next) if next.starts_with(is_ident) => s = next,
            _ => break,
        }
    }
    segs
}

/// A crate's modules, each with what it re-exports (`pub use a::B`): the
/// name and the module that defines it.
struct Modules {
    reexports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
}

impl Modules {
    fn contains(&self, m: &[String]) -> bool {
        self.reexports.contains_key(m)
    }

    /// The module that `base` followed by `segs` names: the deepest module
    /// on the way, or where the item it ends at is re-exported from.
    fn resolve(&self, base: &[String], segs: &[String]) -> Option<Vec<String>> {
        let mut path = base.to_vec();
        let mut best = None;
        for seg in segs {
            if seg == "super" {
                path.pop();
                best = Some(path.clone());
                continue;
            }
            path.push(seg.clone());
            if self.contains(&path) {
                best = Some(path.clone());
            } else {
                path.pop();
                if let Some(from) = self.reexports.get(&path).and_then(|r| r.get(seg)) {
                    best = Some(from.clone());
                }
                break;
            }
        }
        best
    }
}

/// Where `path`, written in `module`, starts: the crate root, the module
/// itself, its parent or a child; `None` for another crate.
fn path_base(
    module: &[String],
    first: &str,
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    match first {
        "crate" => Some(Vec::new()),
        "self" => Some(module.to_vec()),
        "super" => Some(module[..module.len().saturating_sub(1)].to_vec()),
        name => {
            let mut child = module.to_vec();
            child.push(name.to_owned());
            modules.contains(&child).then_some(module.to_vec())
        }
    }
}

/// What `code` (of `module`) re-exports: each name, and the module it names.
fn reexports(
    module: &[String],
    code: &str,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    let bare = Modules {
        reexports: modules
            .iter()
            .map(|m| (m.clone(), BTreeMap::new()))
            .collect(),
    };
    let mut out = BTreeMap::new();
    for start in ["pub use ", "pub(crate) use ", "pub(super) use "] {
        for (prefix, items) in use_items(code, start) {
            for item in items {
                let mut segs = prefix.clone();
                segs.extend(item.path);
                let Some(first) = segs.first() else { continue };
                let Some(base) = path_base(module, first, modules) else {
                    continue;
                };
                let skip = usize::from(matches!(first.as_str(), "crate" | "self"));
                let rest = &segs[skip..segs.len().saturating_sub(1)];
                if let Some(target) = bare.resolve(&base, rest) {
                    if let Some(name) = item.name {
                        out.insert(name, target);
                    }
                }
            }
        }
    }
    out
}

/// One name brought in by a `use`: its path after the group's prefix, and
/// the name it is known by (`None` for a glob).
struct UseItem {
    path: Vec<String>,
    name: Option<String>,
}

/// Each `use` statement after `start`: its prefix, and its items (one for a
/// plain path; those of a brace group, one level deep).
fn use_items(code: &str, start: &str) -> Vec<(Vec<String>, Vec<UseItem>)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find(start) {
        let at = from + i + start.len();
        from = at;
        let end = code[at..].find(';').map_or(code.len(), |e| at + e);
        let statement = &code[at..end];
        let (prefix, group) = match statement.find('{') {
            Some(b) => (
                &statement[..b],
                statement[b + 1..]
                    .trim_end()
                    .trim_end_matches('}')
                    .to_owned(),
            ),
            None => ("", statement.to_owned()),
        };
        let prefix = segments(prefix.trim().trim_end_matches("::"));
        let items = group
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                let (path, alias) = match t.split_once(" as ") {
                    Some((p, a)) => (p.trim(), Some(a.trim().to_owned())),
                    None => (t, None),
                };
                let path = segments(path);
                let name = if path.is_empty() || t.ends_with('*') {
                    None
                } else {
                    alias.or_else(|| path.last().cloned())
                };
                UseItem { path, name }
            })
            .collect();
        found.push((prefix, items));
    }
    found
}

/// The file-level imports of one crate: module path to the modules it uses.
fn imports(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let codes: Vec<(Vec<String>, String)> = files
        .iter()
        .filter_map(|f| {
            let module = module_path(src, f)?;
            let text = fs::read_to_string(f).expect("a readable source file");
            Some((module, code_only(&text)))
        })
        .collect();
    let names: BTreeSet<Vec<String>> = codes.iter().map(|(m, _)| m.clone()).collect();
    let modules = Modules {
        reexports: codes
            .iter()
            .map(|(m, code)| (m.clone(), reexports(m, code, &names)))
            .collect(),
    };
    let mut graph = BTreeMap::new();
    for (module, code) in &codes {
        let mut targets = BTreeSet::new();
        let mut add = |base: &[String], segs: &[String]| {
            if let Some(t) = modules.resolve(base, segs) {
                // A child is part of its parent: using the parent's (or an
                // ancestor's) items is not an import between parts.
                if !module.starts_with(&t) {
                    targets.insert(t);
                }
            }
        };
        for segs in paths_after(code, "crate::") {
            add(&[], &segs);
        }
        for segs in paths_after(code, "super::") {
            let mut all = vec!["super".to_owned()];
            all.extend(segs);
            add(module, &all);
        }
        for segs in paths_after(code, "self::") {
            add(module, &segs);
        }
        // A child module named without a prefix.
        for m in &names {
            if m.len() == module.len() + 1 && m.starts_with(module) {
                let child = m.last().expect("a child has a name");
                for segs in paths_after(code, &format!("{child}::")) {
                    let mut all = vec![child.clone()];
                    all.extend(segs);
                    add(module, &all);
                }
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

/// The groups of two or more modules that import each other in a cycle.
fn cycles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    // Tarjan's strongly connected components.
    struct Walk<'a> {
        graph: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        groups: Vec<Vec<Vec<String>>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Vec<String>) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let Some((w, _)) = self.graph.get_key_value(w) else {
                    continue;
                };
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    self.groups.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.groups
}

fn show(module: &[String]) -> String {
    if module.is_empty() {
        "crate root".into()
    } else {
        module.join("::")
    }
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let mut found = Vec::new();
    for krate in CRATES {
        let src = root().join(krate).join("src");
        assert!(src.is_dir(), "{} is missing", src.display());
        for group in cycles(&imports(&src)) {
            let names: Vec<String> = group.iter().map(|m| show(m)).collect();
            found.push(format!("{krate}: {}", names.join(" ↔ ")));
        }
    }
    assert!(
        found.is_empty(),
        "import cycles between files:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_cycle_check_finds_a_cycle_through_a_reexport_and_spares_a_child_using_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    fs::create_dir_all(src.join("api")).unwrap();
    fs::create_dir_all(src.join("explorer")).unwrap();
    fs::write(src.join("lib.rs"), "pub mod api;\npub mod explorer;\n").unwrap();
    // The handlers use their parent, the parent routes to the handlers.
    fs::write(
        src.join("api/mod.rs"),
        "mod chain;\nuse crate::explorer::pages;\nfn r() { chain::get(); }\n",
    )
    .unwrap();
    fs::write(src.join("api/chain.rs"), "use super::*;\npub fn get() {}\n").unwrap();
    fs::write(
        src.join("explorer/mod.rs"),
        "pub mod layout;\npub fn pages() { layout::f(); }\n",
    )
    .unwrap();
    fs::write(
        src.join("explorer/layout.rs"),
        "// crate::api::nothing in a comment\nfn f() -> &'static str { \"crate::api\" }\n",
    )
    .unwrap();
    assert!(cycles(&imports(src)).is_empty());

    // The API's handlers use the explorer's layout, which uses a handler
    // through the crate root's re-export.
    fs::write(
        src.join("lib.rs"),
        "pub mod api;\npub mod explorer;\npub use api::chain::{get as fetch, Other};\n",
    )
    .unwrap();
    fs::write(
        src.join("api/chain.rs"),
        "use super::*;\nuse crate::explorer::layout::f;\npub fn get() { f() }\n",
    )
    .unwrap();
    fs::write(
        src.join("explorer/layout.rs"),
        "pub fn f() { crate::fetch() }\n",
    )
    .unwrap();
    let found = cycles(&imports(src));
    assert_eq!(found.len(), 1, "{found:?}");
    let mut names: Vec<String> = found[0].iter().map(|m| show(m)).collect();
    names.sort();
    assert_eq!(names, ["api::chain", "explorer::layout"]);
}

#[test]
fn no_source_file_is_longer_than_the_bound() {
    let root = root();
    let mut files = Vec::new();
    for dir in CRATES.iter().chain(&["fuzz"]) {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 100, "found only {} files", files.len());
    let mut long = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .into_owned();
        let lines = fs::read_to_string(&file)
            .expect("a readable source file")
            .lines()
            .count();
        let allowed = LONG_FILES.iter().any(|(name, _)| *name == rel);
        if lines > LINES_MAX && !allowed {
            long.push(format!("{rel}: {lines} lines"));
        }
    }
    long.sort();
    assert!(
        long.is_empty(),
        "files over {LINES_MAX} lines (split them, or name a data file in LONG_FILES):\n{}",
        long.join("\n")
    );
}
