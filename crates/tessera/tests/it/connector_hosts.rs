//! Hosts for the connector tests: two network namespaces, each a storage host with its own
//! address, joined to this (the service's) namespace by a veth pair each and to each other by a
//! third pair, which the data between them takes. Needs root (CI is root); where namespaces
//! cannot be made, the hosts are the loopback addresses 127.0.0.2 and 127.0.0.3, and the test
//! says so.

use std::process::{Command, Stdio};

pub(crate) struct Hosts {
    /// `Some(names)` with namespaces; `None` on loopback addresses.
    pub(crate) namespaces: Option<[String; 2]>,
    /// Each host's address (what its connector listens on).
    pub(crate) addrs: [String; 2],
    /// The service's address as each host reaches it.
    pub(crate) service_addrs: [String; 2],
    /// What the service listens on.
    pub(crate) service_listen: String,
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn in_ns(ns: &str, args: &[&str]) -> bool {
    let mut a = vec!["netns", "exec", ns, "ip"];
    a.extend_from_slice(args);
    ip(&a)
}

impl Hosts {
    pub(crate) fn make() -> Self {
        let id = std::process::id();
        // A subnet of our own: parallel test processes must not share addresses.
        let net = 16 + (id % 200);
        let names = [format!("tsc{id}a"), format!("tsc{id}b")];
        if let Some(hosts) = Self::namespaces(&names, net) {
            eprintln!(
                "connector hosts: network namespaces {} and {}",
                names[0], names[1]
            );
            return hosts;
        }
        for n in &names {
            ip(&["netns", "del", n]);
        }
        eprintln!(
            "connector hosts: network namespaces cannot be made here (not root?); \
             using loopback addresses 127.0.0.2 and 127.0.0.3 instead"
        );
        Self {
            namespaces: None,
            addrs: ["127.0.0.2".into(), "127.0.0.3".into()],
            service_addrs: ["127.0.0.1".into(), "127.0.0.1".into()],
            service_listen: "127.0.0.1".into(),
        }
    }

    fn namespaces(names: &[String; 2], net: u32) -> Option<Self> {
        let id = std::process::id() % 100_000;
        let [a, b] = names;
        let (ra, rb, ha, hb, xa, xb) = (
            format!("tr{id}a"),
            format!("tr{id}b"),
            format!("th{id}a"),
            format!("th{id}b"),
            format!("tx{id}a"),
            format!("tx{id}b"),
        );
        let ok = ip(&["netns", "add", a])
            && ip(&["netns", "add", b])
            && ip(&["link", "add", &ra, "type", "veth", "peer", "name", &ha])
            && ip(&["link", "add", &rb, "type", "veth", "peer", "name", &hb])
            && ip(&["link", "add", &xa, "type", "veth", "peer", "name", &xb])
            && ip(&["link", "set", &ha, "netns", a])
            && ip(&["link", "set", &hb, "netns", b])
            && ip(&["link", "set", &xa, "netns", a])
            && ip(&["link", "set", &xb, "netns", b])
            && ip(&["addr", "add", &format!("10.{net}.1.1/24"), "dev", &ra])
            && ip(&["addr", "add", &format!("10.{net}.2.1/24"), "dev", &rb])
            && ip(&["link", "set", &ra, "up"])
            && ip(&["link", "set", &rb, "up"])
            && in_ns(a, &["addr", "add", &format!("10.{net}.1.2/24"), "dev", &ha])
            && in_ns(b, &["addr", "add", &format!("10.{net}.2.2/24"), "dev", &hb])
            && in_ns(a, &["addr", "add", &format!("10.{net}.3.1/24"), "dev", &xa])
            && in_ns(b, &["addr", "add", &format!("10.{net}.3.2/24"), "dev", &xb])
            && [(a, &ha), (a, &xa), (b, &hb), (b, &xb)]
                .iter()
                .all(|(ns, dev)| in_ns(ns, &["link", "set", dev, "up"]))
            && in_ns(a, &["link", "set", "lo", "up"])
            && in_ns(b, &["link", "set", "lo", "up"])
            // Host to host over their own pair, not through the service's namespace.
            && in_ns(a, &["route", "add", &format!("10.{net}.2.2/32"), "via", &format!("10.{net}.3.2")])
            && in_ns(b, &["route", "add", &format!("10.{net}.1.2/32"), "via", &format!("10.{net}.3.1")]);
        if !ok {
            return None;
        }
        Some(Self {
            namespaces: Some(names.clone()),
            addrs: [format!("10.{net}.1.2"), format!("10.{net}.2.2")],
            service_addrs: [format!("10.{net}.1.1"), format!("10.{net}.2.1")],
            service_listen: "0.0.0.0".into(),
        })
    }

    /// A command run on host `i`.
    pub(crate) fn command(&self, i: usize, program: &str) -> Command {
        match &self.namespaces {
            Some(names) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &names[i], program]);
                c
            }
            None => Command::new(program),
        }
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        if let Some(names) = &self.namespaces {
            for n in names {
                ip(&["netns", "del", n]);
            }
        }
    }
}
