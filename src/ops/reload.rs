//! SIGHUP: the parts of the configuration that can change while the daemon runs — routes,
//! requestors and templates — swapped in atomically, with a one-line report of what changed.
//!
//! [`Live`] holds the current [`Snapshot`] (the configuration the loops use, and the `Offers`
//! built with its templates). A loop takes a snapshot at the start of each pass and keeps it
//! for that pass, so a message is never routed by one configuration and answered with the
//! templates of another. [`Live::reload`] builds the whole new snapshot first (templates
//! compiled) and swaps only when that succeeded: an invalid new configuration is refused with
//! its reason and the running one is kept. Sections that cannot change without a restart
//! (database, listener, mailboxes — added, removed or changed —, transport, API tokens, …) are
//! kept as they are and named in the report.
//!
//! Who reads the snapshot, and when: the Maildir loop once per pass, the matching loop once
//! per step, each IMAP task once per message (on the connection it already has), and the HTTP
//! server once per request (on whatever connection it arrives: keep-alive ones included).
//!
//! Reads the template files it is asked to compare; never touches the store or the network.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::config::{Config, ConfigError, RouteConfig};
use crate::offers::Offers;
use crate::outbox::templates::Templates;
use crate::store::Store;

/// One consistent view: the configuration and the use cases built from it.
pub struct Snapshot {
    pub config: Arc<Config>,
    pub offers: Arc<Offers>,
    /// File name → SHA-256 of every file in `[templates] dir` when this was built.
    templates: BTreeMap<String, String>,
}

/// The configuration the running loops use, replaced as a whole on reload.
pub struct Live {
    /// Invariant: always a snapshot whose templates compiled and whose config loaded.
    current: RwLock<Arc<Snapshot>>,
    store: Arc<dyn Store>,
}

/// What a reload changed, for the log (and systemd's STATUS line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// `+addr (pair)`, `-addr (pair)`, `~addr (old ⇒ new)`.
    pub routes: Vec<String>,
    /// `+domain x`, `-address y…@x`, `unknown_senders: reply ⇒ ignore`.
    pub requestors: Vec<String>,
    /// `+name`, `-name`, `~name`, `dir: a ⇒ b`.
    pub templates: Vec<String>,
    /// Sections that differ in the file but need a restart; not applied.
    pub needs_restart: Vec<&'static str>,
}

impl Changes {
    /// Nothing that was applied changed.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.requestors.is_empty() && self.templates.is_empty()
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (name, list) in [
            ("routes", &self.routes),
            ("requestors", &self.requestors),
            ("templates", &self.templates),
        ] {
            if !list.is_empty() {
                parts.push(format!("{name}: {}", list.join(", ")));
            }
        }
        if parts.is_empty() {
            parts.push("nothing changed".into());
        }
        if !self.needs_restart.is_empty() {
            parts.push(format!(
                "not applied until a restart: {}",
                self.needs_restart.join(", ")
            ));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Why a reload was refused (the running configuration is kept).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("the new configuration is invalid: {0}")]
    Config(#[from] ConfigError),
    #[error("the new templates do not load: {0:#}")]
    Templates(anyhow::Error),
}

impl Live {
    /// The snapshot for the configuration the daemon started with (its templates loaded).
    pub fn new(config: Arc<Config>, offers: Arc<Offers>, store: Arc<dyn Store>) -> Live {
        let templates = fingerprint(config.templates.dir.as_deref());
        Live {
            current: RwLock::new(Arc::new(Snapshot {
                config,
                offers,
                templates,
            })),
            store,
        }
    }

    /// The snapshot to use for one pass.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Applies the routes, requestors and templates of `loaded` (the file read again), or
    /// refuses it and keeps the running snapshot. Returns what changed.
    pub fn reload(&self, loaded: Result<Config, ConfigError>) -> Result<Changes, Refused> {
        let new = loaded?;
        let old = self.current();
        let templates =
            Templates::load(new.templates.dir.as_deref()).map_err(Refused::Templates)?;
        let fingerprint = fingerprint(new.templates.dir.as_deref());
        let mut changes = diff(&old.config, &new);
        changes.templates = diff_templates(
            old.config.templates.dir.as_deref(),
            &old.templates,
            new.templates.dir.as_deref(),
            &fingerprint,
        );
        // Everything else stays as the daemon started with it.
        let mut merged = (*old.config).clone();
        merged.routes = new.routes;
        merged.requestors = new.requestors;
        merged.templates = new.templates;
        let offers = Arc::new(Offers::new(
            self.store.clone(),
            Arc::new(templates),
            &merged,
        ));
        let snapshot = Arc::new(Snapshot {
            config: Arc::new(merged),
            offers,
            templates: fingerprint,
        });
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = snapshot;
        Ok(changes)
    }
}

fn route_label(r: &RouteConfig) -> String {
    let mut s = format!("{} ({}", r.address, r.pair);
    if r.bidirectional {
        s.push_str(", both ways");
    }
    s.push(')');
    s
}

/// Routes, requestors and the sections that need a restart, old against new.
pub fn diff(old: &Config, new: &Config) -> Changes {
    let mut c = Changes::default();
    let key = |r: &RouteConfig| r.address.clone();
    let olds: BTreeMap<String, &RouteConfig> = old.routes.iter().map(|r| (key(r), r)).collect();
    let news: BTreeMap<String, &RouteConfig> = new.routes.iter().map(|r| (key(r), r)).collect();
    for (addr, r) in &news {
        match olds.get(addr) {
            None => c.routes.push(format!("+{}", route_label(r))),
            Some(o)
                if o.pair != r.pair
                    || o.skills != r.skills
                    || o.bidirectional != r.bidirectional =>
            {
                let mut what = format!("~{addr} ({} ⇒ {}", o.pair, r.pair);
                if o.skills != r.skills {
                    what.push_str(&format!(", skills {:?} ⇒ {:?}", o.skills, r.skills));
                }
                if o.bidirectional != r.bidirectional {
                    what.push_str(&format!(
                        ", both ways {} ⇒ {}",
                        o.bidirectional, r.bidirectional
                    ));
                }
                what.push(')');
                c.routes.push(what);
            }
            Some(_) => {}
        }
    }
    for (addr, r) in &olds {
        if !news.contains_key(addr) {
            c.routes.push(format!("-{}", route_label(r)));
        }
    }

    let (o, n) = (&old.requestors, &new.requestors);
    list_diff(
        &o.allow_domains,
        &n.allow_domains,
        "domain ",
        |d| d.to_string(),
        &mut c.requestors,
    );
    // Addresses are people's: shown as their first letter and domain.
    list_diff(
        &o.allow_addresses,
        &n.allow_addresses,
        "address ",
        mask_address,
        &mut c.requestors,
    );
    if o.unknown_senders != n.unknown_senders {
        c.requestors.push(format!(
            "unknown_senders {:?} ⇒ {:?}",
            o.unknown_senders, n.unknown_senders
        ));
    }

    // Compared by their Debug form: secrets print as `***`, so a changed secret alone is not
    // noticed (and not applied) — it needs a restart like the rest of these sections.
    let same = |a: &dyn fmt::Debug, b: &dyn fmt::Debug| format!("{a:?}") == format!("{b:?}");
    let sections: [(&'static str, bool); 11] = [
        ("database", same(&old.database, &new.database)),
        ("http", same(&old.http, &new.http)),
        ("mailbox", same(&old.mailboxes, &new.mailboxes)),
        ("outbound", same(&old.outbound, &new.outbound)),
        ("smtp", same(&old.smtp, &new.smtp)),
        ("matching", same(&old.matching, &new.matching)),
        ("zoom", same(&old.zoom, &new.zoom)),
        ("limits", same(&old.limits, &new.limits)),
        ("api", same(&old.api, &new.api)),
        ("log", same(&old.log, &new.log)),
        ("data_dir", old.data_dir == new.data_dir),
    ];
    c.needs_restart = sections
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(name, _)| name)
        .collect();
    c
}

fn list_diff(
    old: &[String],
    new: &[String],
    prefix: &str,
    show: impl Fn(&str) -> String,
    out: &mut Vec<String>,
) {
    for n in new.iter().filter(|n| !old.contains(n)) {
        out.push(format!("+{prefix}{}", show(n)));
    }
    for o in old.iter().filter(|o| !new.contains(o)) {
        out.push(format!("-{prefix}{}", show(o)));
    }
}

fn mask_address(a: &str) -> String {
    match a.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None => "…".into(),
    }
}

/// File name → SHA-256 (hex) of each regular file directly in `dir`; empty without a dir or
/// when it cannot be read (then `Templates::load` has said why).
pub fn fingerprint(dir: Option<&Path>) -> BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    let mut out = BTreeMap::new();
    let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) else {
        return out;
    };
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        if let Ok(bytes) = std::fs::read(e.path()) {
            out.insert(
                e.file_name().to_string_lossy().into_owned(),
                hex::encode(Sha256::digest(&bytes)),
            );
        }
    }
    out
}

fn diff_templates(
    old_dir: Option<&Path>,
    old: &BTreeMap<String, String>,
    new_dir: Option<&Path>,
    new: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    if old_dir != new_dir {
        let show = |d: Option<&Path>| d.map_or("built-in".to_string(), |d| d.display().to_string());
        out.push(format!("dir {} ⇒ {}", show(old_dir), show(new_dir)));
    }
    for (name, hash) in new {
        match old.get(name) {
            None => out.push(format!("+{name}")),
            Some(h) if h != hash => out.push(format!("~{name}")),
            Some(_) => {}
        }
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        out.push(format!("-{name}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let dir = std::env::temp_dir();
        let text = format!(
            r#"
[database]
url = "sqlite://{d}/reload-unit.db"
[[mailbox]]
name = "spool"
maildir = "{d}/reload-unit-spool"
[requestors]
allow_domains = ["clinic.example"]
allow_addresses = ["ruiz@other.example"]
{extra}
"#,
            d = dir.display()
        );
        let path = dir.join(format!("reload-unit-{}.toml", rand::random::<u64>()));
        std::fs::write(&path, text).expect("write config");
        let c = Config::load(Some(&path), &dir, Vec::new()).expect("valid config");
        let _ = std::fs::remove_file(&path);
        c
    }

    const ES_EN: &str = "[[route]]\naddress = \"es-en@agency.test\"\nfrom = \"es\"\nto = \"en\"\n";
    const FR_EN: &str = "[[route]]\naddress = \"fr-en@agency.test\"\nfrom = \"fr\"\nto = \"en\"\n";
    const ES_FR: &str = "[[route]]\naddress = \"es-en@agency.test\"\nfrom = \"es\"\nto = \"fr\"\n";

    #[test]
    fn routes_added_removed_and_changed_are_named() {
        let old = config(ES_EN);
        let new = config(FR_EN);
        let c = diff(&old, &new);
        assert_eq!(
            c.routes,
            vec![
                "+fr-en@agency.test (French→English)",
                "-es-en@agency.test (Spanish→English)"
            ]
        );
        assert!(
            c.requestors.is_empty() && c.needs_restart.is_empty(),
            "{c:?}"
        );
        assert_eq!(
            c.to_string(),
            "routes: +fr-en@agency.test (French→English), -es-en@agency.test (Spanish→English)"
        );
        let c = diff(&old, &config(ES_FR));
        assert_eq!(
            c.routes,
            vec!["~es-en@agency.test (Spanish→English ⇒ Spanish→French)"]
        );
        assert!(diff(&old, &config(ES_EN)).is_empty());
    }

    #[test]
    fn requestor_addresses_are_masked_and_restart_only_sections_are_reported() {
        let old = config(ES_EN);
        let new = config(&format!(
            "{ES_EN}[outbound]\ntransport = \"file\"\ndir = \"/tmp/elsewhere\"\n"
        ));
        let c = diff(&old, &new);
        assert!(c.is_empty());
        assert_eq!(c.needs_restart, vec!["outbound"]);
        assert!(c
            .to_string()
            .contains("not applied until a restart: outbound"));
        // A mailbox added (or removed) is named as needing a restart: the tasks watching
        // mailboxes are started once.
        let more = config(&format!(
            "{ES_EN}[[mailbox]]\nname = \"second\"\nmaildir = \"/tmp/reload-unit-second\"\n"
        ));
        assert_eq!(diff(&old, &more).needs_restart, vec!["mailbox"]);
        assert_eq!(diff(&more, &old).needs_restart, vec!["mailbox"]);
        let mut tokens = config(ES_EN);
        tokens.api.tokens = vec![crate::config::Secret::new("t".repeat(40))];
        assert_eq!(diff(&old, &tokens).needs_restart, vec!["api"]);

        let mut changed = config(ES_EN);
        changed.requestors.allow_addresses = vec!["lopez@other.example".into()];
        changed
            .requestors
            .allow_domains
            .push("clinic2.example".into());
        let c = diff(&old, &changed);
        assert_eq!(
            c.requestors,
            vec![
                "+domain clinic2.example",
                "+address l…@other.example",
                "-address r…@other.example"
            ]
        );
        assert!(!c.to_string().contains("lopez"), "{c}");
    }

    #[test]
    fn template_files_added_changed_and_removed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("a.txt"), "one").expect("write");
        std::fs::write(tmp.path().join("b.txt"), "two").expect("write");
        let before = fingerprint(Some(tmp.path()));
        std::fs::write(tmp.path().join("a.txt"), "uno").expect("write");
        std::fs::remove_file(tmp.path().join("b.txt")).expect("rm");
        std::fs::write(tmp.path().join("c.txt"), "tres").expect("write");
        let after = fingerprint(Some(tmp.path()));
        let d = Some(tmp.path());
        assert_eq!(
            diff_templates(d, &before, d, &after),
            vec!["~a.txt", "+c.txt", "-b.txt"]
        );
        assert_eq!(
            diff_templates(None, &BTreeMap::new(), None, &BTreeMap::new()),
            Vec::<String>::new()
        );
    }
}
