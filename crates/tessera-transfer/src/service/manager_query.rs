//! `GET /endpoint_manager/task_list` filters (spec §9), as the SDK sends them, with the
//! constraints Globus documents; anything else is a 400 that names the filter.

use crate::error::ApiError;
use crate::http::Params;
use crate::timefmt;
use tessera_core::clock::UnixTime;
use tessera_store::endpoint_manager::{EndpointUse, ManagerTaskQuery};
use uuid::Uuid;

/// At most this many tasks per page, and by default.
pub const PAGE: i64 = 1000;
const MAX_TASK_IDS: usize = 50;
const STATUSES: [&str; 4] = ["ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED"];

/// A parsed task list request. `query.endpoint_ids` is left for the caller's scope.
#[derive(Debug, Clone)]
pub struct TaskFilter {
    pub query: ManagerTaskQuery,
    /// `filter_endpoint`: only tasks touching it (or shares it hosts).
    pub endpoint: Option<Uuid>,
    pub is_paused: Option<bool>,
    /// `filter_local_user`: no task here records a local user, so it matches none.
    pub local_user: Option<String>,
}

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::bad_request(m)
}

fn uuid_of(key: &str, v: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(v.trim()).map_err(|_| bad(format!("{key} must be a UUID, got '{v}'")))
}

/// `last_key`: `<request_time>_<task id>` of the last task of the previous page.
pub fn last_key(t: UnixTime, id: Uuid) -> String {
    format!("{t}_{id}")
}

fn parse_last_key(v: &str) -> Result<(UnixTime, Uuid), ApiError> {
    let (t, id) = v
        .split_once('_')
        .ok_or_else(|| bad("last_key is not one this server gave out"))?;
    let t = t
        .parse::<i64>()
        .map_err(|_| bad("last_key is not one this server gave out"))?;
    Ok((t, uuid_of("last_key", id)?))
}

fn time(key: &str, s: &str) -> Result<Option<UnixTime>, ApiError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    timefmt::parse(s)
        .map(Some)
        .ok_or_else(|| bad(format!("{key}: '{s}' is not an ISO 8601 date-time")))
}

pub fn parse(p: &Params) -> Result<TaskFilter, ApiError> {
    let mut q = ManagerTaskQuery {
        limit: p.int("limit", PAGE, PAGE)?.max(1),
        ..ManagerTaskQuery::default()
    };
    if let Some(v) = p.get("filter_status") {
        for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !STATUSES.contains(&s) {
                return Err(bad(format!(
                    "filter_status: '{s}' is not one of {}",
                    STATUSES.join(", ")
                )));
            }
            q.statuses.push(s.to_owned());
        }
    }
    let running_only =
        !q.statuses.is_empty() && q.statuses.iter().all(|s| s == "ACTIVE" || s == "INACTIVE");
    let mut others = 0;
    if let Some(v) = p.get("filter_owner_id") {
        q.owner_ids = vec![uuid_of("filter_owner_id", v)?];
        others += 1;
    }
    let endpoint = p
        .get("filter_endpoint")
        .map(|v| uuid_of("filter_endpoint", v))
        .transpose()?;
    if let Some(u) = p.get("filter_endpoint_use") {
        if endpoint.is_none() {
            return Err(bad("filter_endpoint_use needs filter_endpoint"));
        }
        q.endpoint_use = Some(match u {
            "source" => EndpointUse::Source,
            "destination" => EndpointUse::Destination,
            other => {
                return Err(bad(format!(
                    "filter_endpoint_use must be 'source' or 'destination', got '{other}'"
                )))
            }
        });
    }
    let is_paused = p.bool("filter_is_paused")?;
    if is_paused.is_some() {
        if !running_only {
            return Err(bad(
                "filter_is_paused needs filter_status of ACTIVE and/or INACTIVE only",
            ));
        }
        others += 1;
    }
    if let Some(v) = p.get("filter_completion_time") {
        let (a, b) = v
            .split_once(',')
            .ok_or_else(|| bad("filter_completion_time must be 'start,end'"))?;
        let (after, before) = (
            time("filter_completion_time", a)?,
            time("filter_completion_time", b)?,
        );
        if after.is_none() && before.is_none() {
            return Err(bad(
                "filter_completion_time needs a start or an end (not both blank)",
            ));
        }
        if let (Some(a), Some(b)) = (after, before) {
            if a > b {
                return Err(bad("filter_completion_time: start is after end"));
            }
        }
        q.completion_after = after;
        q.completion_before = before;
        // A blank end includes the tasks still running (they complete in the future).
        q.include_running = before.is_none();
        others += 1;
    }
    if p.get("filter_min_faults").is_some() {
        q.min_faults = Some(p.int("filter_min_faults", 0, i64::from(i32::MAX))?);
        others += 1;
    }
    let local_user = p.get("filter_local_user").map(str::to_owned);
    if local_user.is_some() && endpoint.is_none() {
        return Err(bad("filter_local_user needs filter_endpoint"));
    }
    if let Some(v) = p.get("filter_task_id") {
        if others > 0 || endpoint.is_some() || !q.statuses.is_empty() || local_user.is_some() {
            return Err(bad("filter_task_id cannot be combined with other filters"));
        }
        for id in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            q.task_ids.push(uuid_of("filter_task_id", id)?);
        }
        if q.task_ids.len() > MAX_TASK_IDS {
            return Err(bad(format!(
                "filter_task_id takes at most {MAX_TASK_IDS} task ids"
            )));
        }
    }
    if !q.owner_ids.is_empty() && endpoint.is_none() && !running_only {
        return Err(bad(
            "filter_owner_id needs filter_endpoint unless filter_status is ACTIVE and/or INACTIVE",
        ));
    }
    if !running_only && q.task_ids.is_empty() && endpoint.is_none() {
        return Err(bad(
            "Give filter_task_id or filter_endpoint unless filter_status is ACTIVE and/or INACTIVE",
        ));
    }
    if let Some(k) = p.get("last_key") {
        q.after = Some(parse_last_key(k)?);
    }
    Ok(TaskFilter {
        query: q,
        endpoint,
        is_paused,
        local_user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::parse(Some(q)).unwrap()
    }

    #[test]
    fn the_sdk_s_filters_parse() {
        let e = Uuid::new_v4();
        let f = parse(&params(&format!(
            "filter_status=ACTIVE,SUCCEEDED&filter_endpoint={e}&filter_endpoint_use=destination\
             &filter_completion_time=2024-01-01T00:00:00,&filter_min_faults=1&last_key=5_{e}"
        )))
        .unwrap();
        assert_eq!(f.endpoint, Some(e));
        assert_eq!(f.query.statuses, ["ACTIVE", "SUCCEEDED"]);
        assert_eq!(f.query.endpoint_use, Some(EndpointUse::Destination));
        assert!(f.query.include_running && f.query.completion_after.is_some());
        assert_eq!(f.query.min_faults, Some(1));
        assert_eq!(f.query.after, Some((5, e)));
        let running = parse(&params("filter_status=ACTIVE&filter_is_paused=true")).unwrap();
        assert_eq!(running.is_paused, Some(true));
    }

    #[test]
    fn bad_or_contradictory_filters_are_400s_that_say_why() {
        let e = Uuid::new_v4();
        for (q, says) in [
            (
                "filter_status=DONE&filter_endpoint=".to_owned() + &e.to_string(),
                "filter_status",
            ),
            (
                "filter_status=SUCCEEDED".to_owned(),
                "filter_task_id or filter_endpoint",
            ),
            (
                format!("filter_endpoint={e}&filter_endpoint_use=both"),
                "filter_endpoint_use",
            ),
            (
                "filter_status=ACTIVE&filter_endpoint_use=source".into(),
                "needs filter_endpoint",
            ),
            (
                format!("filter_endpoint={e}&filter_is_paused=1"),
                "filter_is_paused",
            ),
            (
                format!("filter_task_id={e}&filter_endpoint={e}"),
                "cannot be combined",
            ),
            ("filter_task_id=nope".into(), "UUID"),
            (
                format!("filter_endpoint={e}&filter_completion_time=,"),
                "not both blank",
            ),
            (
                format!("filter_endpoint={e}&filter_completion_time=yesterday,"),
                "ISO 8601",
            ),
            (
                format!("filter_endpoint={e}&filter_min_faults=-1"),
                "filter_min_faults",
            ),
            (
                "filter_status=ACTIVE&filter_local_user=bob".into(),
                "filter_local_user",
            ),
            ("filter_status=ACTIVE&last_key=garbage".into(), "last_key"),
            (
                "filter_status=FAILED&filter_owner_id=".to_owned() + &e.to_string(),
                "filter_owner_id",
            ),
        ] {
            let err = parse(&params(&q)).unwrap_err();
            assert_eq!(err.code, "ClientError.BadRequest", "{q}");
            assert!(err.message.contains(says), "{q}: {}", err.message);
        }
    }
}
