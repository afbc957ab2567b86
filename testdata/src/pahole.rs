//! pahole's view of a vmlinux (its `-C` output parsed), the independent reading of the DWARF
//! that the real-kernel tests check the walk's layouts against. Needs `pahole` (dwarves).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One member line of pahole's output; offsets are from the start of the printed type.
#[derive(Debug, Clone, Default)]
pub struct PMember {
    /// The member's name (`None`: an anonymous struct or union).
    pub name: Option<String>,
    /// Its declaration as printed.
    pub decl: String,
    /// Byte offset from the start of the printed type.
    pub offset: u64,
    /// Bit offset within that byte, for bitfields.
    pub bit: Option<u64>,
    /// Members of an anonymous struct or union printed inline.
    pub children: Vec<PMember>,
}

/// A type as pahole prints it.
#[derive(Debug, Default)]
pub struct PType {
    /// Its members, in order.
    pub members: Vec<PMember>,
    /// `/* size: N */`.
    pub size: Option<u64>,
    /// Enumerators, for an enum.
    pub enumerators: HashMap<String, i64>,
}

fn parse_comment(line: &str) -> Option<(u64, Option<u64>)> {
    let c = line.rsplit_once("/*")?.1.split_once("*/")?.0;
    let mut it = c.split_whitespace();
    let first = it.next()?;
    if let Some(off) = first.strip_suffix(':') {
        return Some((off.parse().ok()?, Some(it.next()?.parse().ok()?)));
    }
    if let Some((off, bit)) = first.split_once(':') {
        return Some((off.parse().ok()?, Some(bit.parse().ok()?)));
    }
    Some((first.parse().ok()?, None))
}

/// `decl` without its `__attribute__((…))` groups (pahole prints them before and after names).
fn strip_attrs(decl: &str) -> String {
    let mut out = String::new();
    let mut rest = decl;
    while let Some(i) = rest.find("__attribute__") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "__attribute__".len()..];
        let mut depth = 0usize;
        let mut end = after.len();
        for (j, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The type a member without a name has when it is a tagged struct or union embedded
/// anonymously (`struct freelist_counters;` in 7.x's `struct slab`, built with -fms-extensions).
fn anonymous_type(decl: &str) -> Option<String> {
    let d = strip_attrs(decl);
    let toks: Vec<&str> = d.split_whitespace().collect();
    match toks.as_slice() {
        ["struct" | "union", name] => Some((*name).to_owned()),
        _ => None,
    }
}

fn ident_before(decl: &str) -> Option<String> {
    let stripped = strip_attrs(decl);
    if anonymous_type(&stripped).is_some() {
        return None;
    }
    let d = stripped.split(':').next()?.trim();
    let d = d.split('[').next()?.trim();
    let name: String = d
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Keep, of two definitions of one name, the one with more members.
fn insert_richer(out: &mut HashMap<String, PType>, name: String, t: PType) {
    if out
        .get(&name)
        .is_none_or(|old| old.members.len() < t.members.len())
    {
        out.insert(name, t);
    }
}

/// Parse `pahole -C` output into its types.
pub fn parse_pahole(text: &str) -> HashMap<String, PType> {
    let mut out = HashMap::new();
    let mut cur: Option<(String, PType)> = None;
    let mut stack: Vec<Vec<PMember>> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        // a type starts and ends at column 0 (members are indented): a type whose body this
        // parser misreads cannot swallow the next one
        if raw.starts_with('}') && cur.is_some() {
            let (name, mut t) = cur.take().unwrap();
            t.members = stack.drain(..).next().unwrap_or_default();
            insert_richer(&mut out, name, t);
            continue;
        }
        if cur.is_none() {
            for kw in ["struct ", "union ", "enum "] {
                if let Some(rest) = line.strip_prefix(kw) {
                    if let Some(name) = rest.strip_suffix(" {") {
                        cur = Some((name.to_owned(), PType::default()));
                        stack = vec![Vec::new()];
                    }
                }
            }
            continue;
        }
        let (_, t) = cur.as_mut().unwrap();
        if line.starts_with("/* size:") {
            t.size = line
                .trim_start_matches("/* size:")
                .split(',')
                .next()
                .and_then(|s| s.trim().parse().ok());
            continue;
        }
        if line.starts_with("/*") || line.is_empty() {
            continue;
        }
        if line.ends_with('{') {
            stack.push(Vec::new());
            continue;
        }
        if let Some(rest) = line.strip_prefix('}') {
            if stack.len() == 1 {
                // End of the type.
                let (name, mut t) = cur.take().unwrap();
                t.members = stack.pop().unwrap();
                insert_richer(&mut out, name, t);
                continue;
            }
            let children = stack.pop().unwrap();
            let name = rest.split(';').next().and_then(ident_before);
            let (offset, _) = parse_comment(line).unwrap_or((0, None));
            stack.last_mut().unwrap().push(PMember {
                name,
                decl: String::new(),
                offset,
                bit: None,
                children,
            });
            continue;
        }
        if let Some((name, value)) = line.trim_end_matches(',').split_once('=') {
            if let Ok(v) = value.trim().parse::<i64>() {
                t.enumerators.insert(name.trim().to_owned(), v);
                continue;
            }
        }
        let Some((decl, _)) = line.split_once(';') else {
            continue;
        };
        let Some((offset, bit)) = parse_comment(line) else {
            continue;
        };
        stack.last_mut().unwrap().push(PMember {
            name: ident_before(decl),
            decl: decl.to_owned(),
            offset,
            bit,
            children: Vec::new(),
        });
    }
    out
}

/// pahole's view of one vmlinux, loaded type by type.
pub struct Pahole {
    vmlinux: PathBuf,
    /// The types loaded so far.
    pub types: HashMap<String, PType>,
}

impl Pahole {
    /// pahole on `vmlinux` (nothing read yet).
    pub fn new(vmlinux: &Path) -> Pahole {
        Pahole {
            vmlinux: vmlinux.to_path_buf(),
            types: HashMap::new(),
        }
    }

    /// Load the types `names` (one pahole run for all that are not loaded yet).
    pub fn load(&mut self, names: &[&str]) {
        let want: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !self.types.contains_key(*n))
            .collect();
        if want.is_empty() {
            return;
        }
        self.run(&want);
        // pahole 1.24 on a 7.x vmlinux (Rust CUs it cannot read) stops printing a list of
        // types part way, and may print an opaque stand-in (`struct kmem_cache { private: u8
        // _unused[0]; }`, from bindings) for a type: each type the list run left out or gave
        // without members is asked for alone.
        for n in want {
            if self.types.get(n).is_none_or(|t| t.members.len() < 2) {
                self.run(&[n]);
            }
        }
    }

    fn run(&mut self, names: &[&str]) {
        let out = Command::new("pahole")
            .arg("-C")
            .arg(names.join(","))
            .arg(&self.vmlinux)
            .output()
            .expect("pahole (Debian package pahole/dwarves) must be installed");
        assert!(out.status.success(), "pahole failed: {out:?}");
        // of two definitions of one name, the one with more members (not an opaque stand-in)
        for (name, t) in parse_pahole(&String::from_utf8_lossy(&out.stdout)) {
            if self
                .types
                .get(&name)
                .is_none_or(|old| old.members.len() < t.members.len())
            {
                self.types.insert(name, t);
            }
        }
    }

    /// The member `name` among `members`, looking into anonymous members (inline ones, and
    /// anonymously embedded tagged types, loaded); its offset is from the start of `members`'
    /// type.
    fn find(&mut self, members: &[PMember], name: &str) -> Option<PMember> {
        for m in members {
            match &m.name {
                Some(n) if n == name => return Some(m.clone()),
                Some(_) => {}
                None if !m.children.is_empty() => {
                    if let Some(f) = self.find(&m.children, name) {
                        return Some(f);
                    }
                }
                None => {
                    let Some(t) = anonymous_type(&m.decl) else {
                        continue;
                    };
                    self.load(&[t.as_str()]);
                    let inner = self.types.get(&t)?.members.clone();
                    if let Some(mut f) = self.find(&inner, name) {
                        f.offset += m.offset;
                        return Some(f);
                    }
                }
            }
        }
        None
    }

    /// Bit position of a dotted member path from the start of `ty`, per pahole.
    pub fn offset(&mut self, ty: &str, path: &str) -> Option<u64> {
        self.load(&[ty]);
        let mut members = self.types.get(ty)?.members.clone();
        let mut base = 0;
        let comps: Vec<&str> = path.split('.').collect();
        for (i, c) in comps.iter().enumerate() {
            let m = self.find(&members, c)?;
            if i + 1 == comps.len() {
                return Some((base + m.offset) * 8 + m.bit.unwrap_or(0));
            }
            if !m.children.is_empty() {
                members = m.children;
                continue;
            }
            let tname = strip_attrs(&m.decl)
                .trim()
                .trim_start_matches("const ")
                .trim_start_matches("volatile ")
                .trim_start_matches("struct ")
                .trim_start_matches("union ")
                .split_whitespace()
                .next()?
                .to_owned();
            base += m.offset;
            self.load(&[tname.as_str()]);
            members = self.types.get(&tname)?.members.clone();
        }
        None
    }
}
