//! Client FQDNs (spec §1.1, §4): a client proves through DNS that it controls a name, which then
//! names its resource server and goes into the scope strings it creates.
//!
//! The proof is Globus's rule, and the only one: a TXT record at the FQDN itself whose value is
//! the client id. A definitive DNS answer that does not prove it (NXDOMAIN, no TXT record, other
//! values) is the caller's to fix: 400 `FQDN_NOT_VERIFIED`. No answer at all (timeout, SERVFAIL,
//! an unreachable resolver) says nothing about the caller's DNS and is worth retrying: 503
//! `SERVICE_UNAVAILABLE` with `Retry-After`.

use super::Failure;
use crate::dns::{DnsError, TxtAnswer};
use crate::state::AppState;
use tessera_core::client::Client;
use tessera_core::fqdn::{parse_fqdn, txt_proves};
use tessera_store::Change;
use tessera_store::StoreError;

fn taken(fqdn: &str) -> Failure {
    Failure::Conflict(format!("{fqdn} is registered to another client"))
}

/// Verifies `raw` for `client` and adds it to the client's FQDNs; the client as it is now.
/// Adding a name the client holds already changes nothing.
pub async fn add(state: &AppState, client: &Client, raw: &str) -> Result<Client, Failure> {
    let fqdn = parse_fqdn(raw)
        .map_err(|e| Failure::BadRequest(format!("{raw:?} is not a valid FQDN: {e}")))?;
    if let Some(holder) = state.store.client_by_fqdn(&fqdn).await? {
        return if holder.id == client.id {
            Ok(holder)
        } else {
            Err(taken(&fqdn))
        };
    }
    // The names of the seeded services (transfer.api.globus.org, ...) are resource-server
    // names already: whoever took one would become the audience of that service's tokens.
    let catalogue = state.scopes.get(state.store.as_ref()).await?;
    if catalogue.owner_of(&fqdn).is_some_and(|o| o != client.id) {
        return Err(Failure::Conflict(format!(
            "{fqdn} is the resource-server name of another client"
        )));
    }
    verify(state, client, &fqdn).await?;
    let updated = match state
        .store
        .add_fqdn(client.id, &fqdn, state.clock.now())
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return Err(Failure::NotFound(format!("no client {}", client.id))),
        Err(StoreError::Conflict(_)) => return Err(taken(&fqdn)),
        Err(e) => return Err(e.into()),
    };
    state
        .publish(vec![
            Change::ClientChanged(client.id),
            Change::ScopesChanged,
        ])
        .await?;
    tracing::info!(event = "fqdn_verified", client = %client.id, fqdn = %fqdn, resource_server = %updated.resource_server(), "client FQDN verified");
    Ok(updated)
}

async fn verify(state: &AppState, client: &Client, fqdn: &str) -> Result<(), Failure> {
    let how = format!(
        "add a TXT record at {fqdn} whose value is the client id {}",
        client.id
    );
    match state.dns.txt(fqdn).await {
        Ok(TxtAnswer::Records(records)) if txt_proves(&records, client.id) => Ok(()),
        Ok(TxtAnswer::Records(records)) if records.is_empty() => Err(Failure::Unverified(format!(
            "{fqdn} has no TXT record; {how}"
        ))),
        Ok(TxtAnswer::Records(records)) => Err(Failure::Unverified(format!(
            "none of the {} TXT records at {fqdn} is this client's id; {how}",
            records.len()
        ))),
        Ok(TxtAnswer::NoSuchName) => Err(Failure::Unverified(format!(
            "{fqdn} does not exist in DNS (NXDOMAIN); {how}"
        ))),
        Err(e) => {
            tracing::warn!(fqdn = %fqdn, error = %e, "FQDN verification could not reach DNS");
            let why = match e {
                DnsError::Timeout => "timed out".to_owned(),
                DnsError::Failed(why) => format!("failed ({why})"),
            };
            Err(Failure::Unavailable(format!(
                "the DNS lookup of {fqdn} {why}; nothing was changed, try again later"
            )))
        }
    }
}

/// Removes `raw` from the client's FQDNs. The name its scopes' tokens carry (its first FQDN)
/// stays while it owns scopes: removing it would rename the audience of every token for them
/// and orphan `urn:globus:auth:scope:<fqdn>:…` strings.
pub async fn remove(state: &AppState, client: &Client, raw: &str) -> Result<Client, Failure> {
    let not_found = || Failure::NotFound(format!("client {} has no FQDN {raw}", client.id));
    let fqdn = parse_fqdn(raw).map_err(|_| not_found())?;
    if client.resource_server() == fqdn {
        let scopes = state.store.scopes_of_client(client.id).await?;
        if !scopes.is_empty() {
            return Err(Failure::Conflict(format!(
                "{fqdn} is the resource-server name of this client's {} scope(s); delete them \
                 before removing it",
                scopes.len()
            )));
        }
    }
    let updated = state
        .store
        .remove_fqdn(client.id, &fqdn)
        .await?
        .ok_or_else(not_found)?;
    state
        .publish(vec![
            Change::ClientChanged(client.id),
            Change::ScopesChanged,
        ])
        .await?;
    tracing::info!(event = "fqdn_removed", client = %client.id, fqdn = %fqdn, "client FQDN removed");
    Ok(updated)
}

/// The client that holds `raw`, if the caller manages it (`GET /v2/api/clients?fqdn=`).
pub async fn client_by_fqdn(
    state: &AppState,
    caller: &Client,
    raw: &str,
) -> Result<Client, Failure> {
    let not_found = || Failure::NotFound(format!("no client has the FQDN {raw}"));
    let fqdn = parse_fqdn(raw).map_err(|_| not_found())?;
    let client = state
        .store
        .client_by_fqdn(&fqdn)
        .await?
        .ok_or_else(not_found)?;
    if !caller.manages(&client) {
        return Err(Failure::Forbidden(
            "a client may see only itself and the clients it created".into(),
        ));
    }
    Ok(client)
}
