//! `ls` filters and ordering (spec §3.1), pure: several `filter` params are OR-ed, the clauses
//! of one (joined by `/`) AND-ed; `orderby` is a comma list of `field [ASC|DESC]`, name
//! ascending by default (code-point order).

use crate::error::ApiError;
use crate::storage::{Entry, EntryKind};
use std::cmp::Ordering;

/// `*` matches any run of characters, `?` one character; everything else is literal.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn kind_name(k: EntryKind) -> &'static str {
    match k {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Link => "invalid_symlink",
        EntryKind::Other => "other",
    }
}

#[derive(Debug, Clone)]
enum Clause {
    Name {
        negate: bool,
        pattern: bool,
        value: String,
    },
    Type(Vec<String>),
    Size(Option<u64>, Option<u64>),
}

/// One `filter` parameter: clauses that must all hold.
#[derive(Debug, Clone)]
pub struct Filter(Vec<Clause>);

impl Filter {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut clauses = Vec::new();
        for clause in text.split('/').filter(|c| !c.is_empty()) {
            let (field, value) = clause.split_once(':').ok_or_else(|| {
                ApiError::bad_request(format!("Invalid filter clause '{clause}'"))
            })?;
            clauses.push(match field {
                "name" => {
                    let (negate, pattern, value) = if let Some(v) = value.strip_prefix("!~") {
                        (true, true, v)
                    } else if let Some(v) = value.strip_prefix('~') {
                        (false, true, v)
                    } else if let Some(v) = value.strip_prefix('!') {
                        (true, false, v)
                    } else {
                        (false, false, value.strip_prefix('=').unwrap_or(value))
                    };
                    Clause::Name {
                        negate,
                        pattern,
                        value: value.to_owned(),
                    }
                }
                "type" => Clause::Type(value.split(',').map(str::to_owned).collect()),
                "size" => {
                    let (lo, hi) = value.split_once(',').unwrap_or((value, ""));
                    let n = |s: &str| -> Result<Option<u64>, ApiError> {
                        if s.is_empty() {
                            return Ok(None);
                        }
                        s.parse()
                            .map(Some)
                            .map_err(|_| ApiError::bad_request("size bounds must be integers"))
                    };
                    Clause::Size(n(lo)?, n(hi)?)
                }
                // user:, group:, permissions:, last_modified: are accepted and not applied.
                "user" | "group" | "permissions" | "last_modified" => continue,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "Unknown filter field '{other}'"
                    )))
                }
            });
        }
        Ok(Self(clauses))
    }

    pub fn accepts(&self, e: &Entry) -> bool {
        self.0.iter().all(|c| match c {
            Clause::Name {
                negate,
                pattern,
                value,
            } => {
                let hit = if *pattern {
                    glob(value, &e.name)
                } else {
                    *value == e.name
                };
                hit != *negate
            }
            Clause::Type(types) => types.iter().any(|t| t == kind_name(e.kind)),
            Clause::Size(lo, hi) => {
                lo.is_none_or(|l| e.size >= l) && hi.is_none_or(|h| e.size <= h)
            }
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Name,
    Type,
    Size,
    Modified,
    Permissions,
    User,
    Group,
}

/// `orderby`: a comparison over entries.
#[derive(Debug, Clone)]
pub struct Order(Vec<(Field, bool)>);

impl Order {
    pub fn parse(text: Option<&str>) -> Result<Self, ApiError> {
        let mut keys = Vec::new();
        for part in text
            .unwrap_or("name ASC")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let mut it = part.split_whitespace();
            let field = match it.next().unwrap_or("") {
                "name" => Field::Name,
                "type" => Field::Type,
                "size" => Field::Size,
                "last_modified" => Field::Modified,
                "permissions" => Field::Permissions,
                "user" => Field::User,
                "group" => Field::Group,
                other => return Err(ApiError::bad_request(format!("Cannot order by '{other}'"))),
            };
            let desc = match it.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("ASC") => false,
                Some("DESC") => true,
                Some(other) => {
                    return Err(ApiError::bad_request(format!("Unknown order '{other}'")))
                }
            };
            keys.push((field, desc));
        }
        keys.push((Field::Name, false));
        Ok(Self(keys))
    }

    pub fn compare(&self, a: &Entry, b: &Entry) -> Ordering {
        for (field, desc) in &self.0 {
            let o = match field {
                Field::Name => a.name.cmp(&b.name),
                Field::Type => kind_name(a.kind).cmp(kind_name(b.kind)),
                Field::Size => a.size.cmp(&b.size),
                Field::Modified => a.modified.cmp(&b.modified),
                Field::Permissions => a.permissions.cmp(&b.permissions),
                Field::User => a.user.cmp(&b.user),
                Field::Group => a.group.cmp(&b.group),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

/// Filters, orders and windows a directory's entries.
pub fn select(
    mut entries: Vec<Entry>,
    show_hidden: bool,
    filters: &[Filter],
    order: &Order,
    offset: usize,
    limit: usize,
) -> (Vec<Entry>, usize) {
    entries.retain(|e| {
        (show_hidden || !e.name.starts_with('.'))
            && (filters.is_empty() || filters.iter().any(|f| f.accepts(e)))
    });
    entries.sort_by(|a, b| order.compare(a, b));
    let total = entries.len();
    let page = entries.into_iter().skip(offset).take(limit).collect();
    (page, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn entry(name: &str, kind: EntryKind, size: u64) -> Entry {
        Entry {
            name: name.into(),
            name_is_utf8: true,
            kind,
            size,
            modified: UNIX_EPOCH,
            permissions: 0o644,
            user: "u".into(),
            group: "g".into(),
            link_target: None,
        }
    }

    fn names(e: &[Entry]) -> Vec<&str> {
        e.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn globs() {
        assert!(glob("*.txt", "a.txt"));
        assert!(glob("a?c", "abc"));
        assert!(glob("*", ""));
        assert!(!glob("*.txt", "a.txt.bak"));
        assert!(glob("r*数据.txt", "résumé 数据.txt"));
    }

    #[test]
    fn default_order_is_code_points_and_filters_or_across_params() {
        let all = vec![
            entry("b.txt", EntryKind::File, 1),
            entry("Z", EntryKind::Dir, 0),
            entry(".hidden", EntryKind::File, 1),
            entry("é.txt", EntryKind::File, 1),
            entry("a", EntryKind::Dir, 0),
        ];
        let order = Order::parse(None).unwrap();
        let (page, total) = select(all.clone(), false, &[], &order, 0, 100);
        assert_eq!(names(&page), ["Z", "a", "b.txt", "é.txt"]);
        assert_eq!(total, 4);
        let filters = [
            Filter::parse("type:dir").unwrap(),
            Filter::parse("name:~*.txt").unwrap(),
        ];
        let (page, _) = select(all.clone(), true, &filters, &order, 0, 100);
        assert_eq!(names(&page), ["Z", "a", "b.txt", "é.txt"]);
        let (page, _) = select(
            all.clone(),
            true,
            &[Filter::parse("name:!~*.txt/type:file").unwrap()],
            &order,
            0,
            100,
        );
        assert_eq!(names(&page), [".hidden"]);
        let (page, total) = select(
            all,
            true,
            &[],
            &Order::parse(Some("type DESC")).unwrap(),
            1,
            2,
        );
        assert_eq!((names(&page), total), (vec!["b.txt", "é.txt"], 5));
    }

    #[test]
    fn bad_filters_and_orders_are_refused() {
        assert!(Filter::parse("nope").is_err());
        assert!(Filter::parse("colour:red").is_err());
        assert!(Order::parse(Some("colour")).is_err());
        assert!(Order::parse(Some("name SIDEWAYS")).is_err());
    }
}
