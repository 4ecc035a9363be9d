//! A real DNS server for tests: UDP on 127.0.0.1:0, answering TXT queries from a table the
//! test fills, encoded with hickory-proto. Names not in the table are NXDOMAIN. Stops when
//! dropped. Shared with the binary's tests (`#[path]`).
#![allow(dead_code)]

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

/// What the server says about one name.
#[derive(Clone)]
pub(crate) enum Zone {
    /// The name exists with these TXT records (none: NOERROR with no answer).
    Txt(Vec<String>),
    /// SERVFAIL, as a resolver answers when the domain's own servers are broken.
    ServFail,
}

pub(crate) struct DnsServer {
    pub(crate) addr: SocketAddr,
    zones: Arc<Mutex<HashMap<String, Zone>>>,
    /// Queries answered, for asserting that a lookup happened (or did not).
    queries: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl DnsServer {
    pub(crate) async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zones: Arc<Mutex<HashMap<String, Zone>>> = Arc::default();
        let queries: Arc<Mutex<Vec<String>>> = Arc::default();
        let (z, q) = (zones.clone(), queries.clone());
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(request) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let reply = answer(&request, &z, &q);
                if let Ok(bytes) = reply.to_vec() {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        });
        Self {
            addr,
            zones,
            queries,
            task,
        }
    }

    pub(crate) fn set(&self, name: &str, zone: Zone) {
        self.zones.lock().unwrap().insert(name.to_owned(), zone);
    }

    pub(crate) fn txt(&self, name: &str, values: &[&str]) {
        self.set(
            name,
            Zone::Txt(values.iter().map(|v| (*v).to_owned()).collect()),
        );
    }

    pub(crate) fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(
    request: &Message,
    zones: &Mutex<HashMap<String, Zone>>,
    queries: &Mutex<Vec<String>>,
) -> Message {
    let mut reply = Message::new();
    reply
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired())
        .set_recursion_available(true)
        .set_authoritative(true);
    let Some(query) = request.queries().first() else {
        reply.set_response_code(ResponseCode::FormErr);
        return reply;
    };
    reply.add_query(query.clone());
    let name = query
        .name()
        .to_ascii()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    queries.lock().unwrap().push(name.clone());
    match zones.lock().unwrap().get(&name) {
        None => {
            reply.set_response_code(ResponseCode::NXDomain);
        }
        Some(Zone::ServFail) => {
            reply.set_response_code(ResponseCode::ServFail);
        }
        Some(Zone::Txt(values)) => {
            reply.set_response_code(ResponseCode::NoError);
            if query.query_type() == RecordType::TXT {
                for v in values {
                    // Long values go out as several character-strings, as real zones hold them.
                    let parts = v
                        .as_bytes()
                        .chunks(255)
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect();
                    reply.add_answer(Record::from_rdata(
                        query.name().clone(),
                        60,
                        RData::TXT(TXT::new(parts)),
                    ));
                }
            }
        }
    }
    reply
}

/// A UDP socket that never answers: lookups against it time out.
pub(crate) async fn silent() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}
