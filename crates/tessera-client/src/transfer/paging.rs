//! Paging through Transfer lists in the four styles the API uses (spec §1.6):
//!
//! | style | lists | asks with | next page while |
//! |---|---|---|---|
//! | [`Paging::OffsetTotal`] | `task_list`, `event_list`, `ls` | `limit`, `offset` | `offset + length < total` |
//! | [`Paging::OffsetHasNext`] | `endpoint_search` | `limit`, `offset` | `has_next_page` (and `offset < 1000`) |
//! | [`Paging::Marker`] | `successful_transfers`, `skipped_errors` | `marker` | `next_marker` is not null |
//! | [`Paging::LastKey`] | `endpoint_manager/task_list` | `last_key` | `has_next_page` |

use super::TransferClient;
use crate::ClientError;
use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::VecDeque;
use std::marker::PhantomData;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    OffsetTotal,
    OffsetHasNext,
    Marker,
    LastKey,
}

/// `endpoint_search` serves no page past this offset.
const SEARCH_OFFSET_LIMIT: u64 = 1000;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    Start,
    Offset(u64),
    Marker(String),
    LastKey(String),
}

/// The cursor of the page after `doc` (which started at `at` and held `got` items), or
/// `None` when `doc` was the last.
fn next_cursor(style: Paging, at: &Cursor, doc: &Value, got: usize) -> Option<Cursor> {
    let offset = match at {
        Cursor::Offset(o) => *o,
        _ => 0,
    };
    let next_offset = offset + got as u64;
    let has_next = doc.get("has_next_page").and_then(Value::as_bool) == Some(true);
    match style {
        _ if got == 0 && style != Paging::Marker => None,
        Paging::OffsetTotal => {
            let total = doc.get("total").and_then(Value::as_u64)?;
            (next_offset < total).then_some(Cursor::Offset(next_offset))
        }
        Paging::OffsetHasNext => {
            (has_next && next_offset < SEARCH_OFFSET_LIMIT).then_some(Cursor::Offset(next_offset))
        }
        Paging::Marker => match doc.get("next_marker") {
            Some(Value::Number(n)) => Some(Cursor::Marker(n.to_string())),
            Some(Value::String(s)) if !s.is_empty() => Some(Cursor::Marker(s.clone())),
            _ => None,
        },
        Paging::LastKey => match doc.get("last_key").and_then(Value::as_str) {
            Some(k) if has_next => Some(Cursor::LastKey(k.to_owned())),
            _ => None,
        },
    }
}

/// The items of a paged list, fetched a page at a time as they are asked for.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use tessera_client::TransferClient;
///
/// # async fn run(transfer: TransferClient) -> Result<(), tessera_client::ClientError> {
/// // Item by item…
/// let mut tasks = transfer.task_list(100, &[("filter", "status:SUCCEEDED")]);
/// while let Some(task) = tasks.next().await? {
///     println!("{} {}", task.task_id, task.status);
/// }
/// // …or as a stream.
/// let endpoints: Vec<_> = transfer
///     .endpoint_search("climate", "all", 100)
///     .into_stream()
///     .try_collect()
///     .await?;
/// println!("{} endpoints", endpoints.len());
/// # Ok(()) }
/// ```
pub struct Paginator<T> {
    client: TransferClient,
    path: String,
    query: Vec<(String, String)>,
    style: Paging,
    page_size: u32,
    cursor: Option<Cursor>,
    buffer: VecDeque<T>,
    pages: u32,
    _items: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginator")
            .field("path", &self.path)
            .field("style", &self.style)
            .field("cursor", &self.cursor)
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> Paginator<T> {
    pub(crate) fn new(
        client: TransferClient,
        path: String,
        query: Vec<(String, String)>,
        style: Paging,
        page_size: u32,
    ) -> Self {
        Self {
            client,
            path,
            query,
            style,
            page_size,
            cursor: Some(Cursor::Start),
            buffer: VecDeque::new(),
            pages: 0,
            _items: PhantomData,
        }
    }

    /// Pages fetched so far.
    pub fn pages_fetched(&self) -> u32 {
        self.pages
    }

    /// The next page's items; `None` after the last page.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, ClientError> {
        let Some(at) = self.cursor.take() else {
            return Ok(None);
        };
        let mut query = self.query.clone();
        match (&at, self.style) {
            (_, Paging::OffsetTotal | Paging::OffsetHasNext) => {
                query.push(("limit".into(), self.page_size.to_string()));
                if let Cursor::Offset(o) = at {
                    query.push(("offset".into(), o.to_string()));
                }
            }
            (Cursor::Marker(m), _) => query.push(("marker".into(), m.clone())),
            (Cursor::LastKey(k), _) => query.push(("last_key".into(), k.clone())),
            _ => {}
        }
        let pairs: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut doc: Value = self.client.get(&self.path, &pairs).await?;
        self.pages += 1;
        let data = match doc.get_mut("DATA") {
            Some(Value::Array(items)) => std::mem::take(items),
            _ => return Err(ClientError::Decode(format!("{}: no DATA list", self.path))),
        };
        self.cursor = next_cursor(self.style, &at, &doc, data.len());
        data.into_iter()
            .map(|v| serde_json::from_value(v).map_err(|e| ClientError::Decode(e.to_string())))
            .collect::<Result<Vec<T>, _>>()
            .map(Some)
    }

    /// The next item; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<T>, ClientError> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Ok(Some(item));
            }
            match self.next_page().await? {
                Some(items) => self.buffer.extend(items),
                None => return Ok(None),
            }
        }
    }

    /// Every remaining item.
    pub async fn collect_all(mut self) -> Result<Vec<T>, ClientError> {
        let mut all: Vec<T> = self.buffer.drain(..).collect();
        while let Some(page) = self.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }

    /// The items as a [`Stream`]; it ends after the first error.
    pub fn into_stream(self) -> impl Stream<Item = Result<T, ClientError>> + Send + 'static {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut p = state?;
            match p.next().await {
                Ok(Some(item)) => Some((Ok(item), Some(p))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn offset_total_stops_at_the_total() {
        let doc = json!({"total": 25});
        let first = next_cursor(Paging::OffsetTotal, &Cursor::Start, &doc, 10);
        assert_eq!(first, Some(Cursor::Offset(10)));
        let third = next_cursor(Paging::OffsetTotal, &Cursor::Offset(20), &doc, 5);
        assert_eq!(third, None);
        // A server that returns less than asked but says there is more: go on.
        assert_eq!(
            next_cursor(Paging::OffsetTotal, &Cursor::Offset(10), &doc, 3),
            Some(Cursor::Offset(13))
        );
        // An empty page ends it, whatever the total says.
        assert_eq!(
            next_cursor(Paging::OffsetTotal, &Cursor::Offset(10), &doc, 0),
            None
        );
        assert_eq!(
            next_cursor(Paging::OffsetTotal, &Cursor::Start, &json!({}), 5),
            None
        );
    }

    #[test]
    fn has_next_page_and_the_search_offset_limit() {
        let more = json!({"has_next_page": true});
        assert_eq!(
            next_cursor(Paging::OffsetHasNext, &Cursor::Start, &more, 100),
            Some(Cursor::Offset(100))
        );
        assert_eq!(
            next_cursor(Paging::OffsetHasNext, &Cursor::Offset(900), &more, 100),
            None
        );
        let last = json!({"has_next_page": false});
        assert_eq!(
            next_cursor(Paging::OffsetHasNext, &Cursor::Start, &last, 100),
            None
        );
    }

    #[test]
    fn markers_and_last_keys() {
        assert_eq!(
            next_cursor(
                Paging::Marker,
                &Cursor::Start,
                &json!({"next_marker": 42}),
                5
            ),
            Some(Cursor::Marker("42".into()))
        );
        assert_eq!(
            next_cursor(
                Paging::Marker,
                &Cursor::Start,
                &json!({"next_marker": null}),
                5
            ),
            None
        );
        // A marker page may be empty (all filtered) and still point on.
        assert_eq!(
            next_cursor(
                Paging::Marker,
                &Cursor::Start,
                &json!({"next_marker": "m2"}),
                0
            ),
            Some(Cursor::Marker("m2".into()))
        );
        let doc = json!({"has_next_page": true, "last_key": "k9"});
        assert_eq!(
            next_cursor(Paging::LastKey, &Cursor::Start, &doc, 10),
            Some(Cursor::LastKey("k9".into()))
        );
        let doc = json!({"has_next_page": false, "last_key": "k9"});
        assert_eq!(next_cursor(Paging::LastKey, &Cursor::Start, &doc, 10), None);
    }
}
