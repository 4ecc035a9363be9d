//! Query strings as the SDK and CLI send them: repeated keys (`filter=` on ls), booleans as
//! `1/0/true/false/True/False`, empty values meaning "not given" (spec §1.3).

use crate::error::ApiError;
use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;

#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
            .map(Self)
            .map_err(|_| ApiError::bad_request("The query string is malformed"))
    }

    /// The last non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some("1" | "true" | "True" | "TRUE") => Ok(Some(true)),
            Some("0" | "false" | "False" | "FALSE") => Ok(Some(false)),
            Some(other) => Err(ApiError::bad_request(format!(
                "'{key}' must be a boolean, got '{other}'"
            ))),
        }
    }

    /// A non-negative integer at most `max`, or `default`.
    pub fn int(&self, key: &str, default: i64, max: i64) -> Result<i64, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("'{key}' must be an integer from 0 to {max}"))
                }),
        }
    }
}

impl Params {
    /// Globus `fields=a,b,c`: which keys of a document to return (`DATA_TYPE` always comes
    /// too); `None` when not given (everything). Spaces around names are ignored.
    pub fn fields(&self) -> Option<Vec<String>> {
        let wanted: Vec<String> = self
            .all("fields")
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        (!wanted.is_empty()).then_some(wanted)
    }
}

/// `doc` with only the `fields` asked for (and `DATA_TYPE`); unchanged when none were asked
/// for or it is not an object. A name the document lacks is left out, as Globus does.
pub(crate) fn only_fields(doc: serde_json::Value, fields: Option<&[String]>) -> serde_json::Value {
    match (doc, fields) {
        (serde_json::Value::Object(map), Some(fields)) => map
            .into_iter()
            .filter(|(k, _)| k == "DATA_TYPE" || fields.iter().any(|f| f == k))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        (doc, _) => doc,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let RawQuery(q) = RawQuery::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("The query string is malformed"))?;
        Self::parse(q.as_deref())
    }
}

/// A JSON body, refused with a Globus 400 (not axum's text) when it does not parse.
pub(super) fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_slice(b"{}")
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_the_named_keys_and_the_data_type() {
        let p = Params::parse(Some("fields=id,%20status&fields=label,nope")).unwrap();
        let fields = p.fields().unwrap();
        assert_eq!(fields, ["id", "status", "label", "nope"]);
        let doc = serde_json::json!({"DATA_TYPE": "task", "id": 1, "status": "ACTIVE", "label": null, "owner": "x"});
        let got = only_fields(doc.clone(), Some(&fields));
        assert_eq!(
            got,
            serde_json::json!({"DATA_TYPE": "task", "id": 1, "status": "ACTIVE", "label": null})
        );
        assert_eq!(only_fields(doc.clone(), None), doc);
        assert!(Params::parse(Some("fields=")).unwrap().fields().is_none());
    }
}
