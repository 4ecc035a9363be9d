//! Developer projects and their authentication policies (spec §4), managed with a Bearer token
//! carrying `manage_projects`. Whoever's identity set contains an admin id, or who is an active
//! member of one of its `admin_group_ids` (read from the groups store at each request),
//! administers a project: sees it, changes it, deletes it, and manages its policies and clients.

use super::identities;
use super::Failure;
use crate::state::AppState;
use crate::view::identity_object;
use tessera_core::auth_policy::{validate_domain, AuthPolicy};
use tessera_core::grant::{SubjectKind, TokenRecord};
use tessera_core::group::Status;
use tessera_core::project::{validate_contact_email, validate_display_name, Project};
use tessera_proto::api::{
    PolicyFields, PolicyObject, ProjectAdmins, ProjectCreate, ProjectObject, ProjectUpdate,
};
use tessera_store::StoreError;
use uuid::Uuid;

pub const MANAGE_PROJECTS: &str = "urn:globus:auth:scope:auth.globus.org:manage_projects";

/// Who calls the project API: the identity of the token and every identity linked with it.
#[derive(Debug, Clone)]
pub struct Manager {
    pub identity: Uuid,
    pub identity_set: Vec<Uuid>,
    /// The groups where an identity of the set is an active member, as read now.
    pub groups: Vec<Uuid>,
}

impl Manager {
    /// From an active `auth.globus.org` token; `None` when it lacks `manage_projects`.
    pub async fn from_token(
        state: &AppState,
        record: &TokenRecord,
    ) -> Result<Option<Self>, StoreError> {
        if !record.scope.split(' ').any(|s| s == MANAGE_PROJECTS) {
            return Ok(None);
        }
        match record.subject_kind {
            // A client acting for itself (client credentials) is an identity of its own.
            SubjectKind::Client => {
                let identity_set = vec![record.subject];
                let groups = active_groups(state, &identity_set).await?;
                Ok(Some(Self {
                    identity: record.subject,
                    identity_set,
                    groups,
                }))
            }
            SubjectKind::Identity => Self::person(state, record.subject).await.map(Some),
        }
    }

    /// A signed-in person (the developer console): their identity, every identity linked
    /// with it, and their groups, as a `manage_projects` token of theirs would carry.
    pub async fn person(state: &AppState, identity: Uuid) -> Result<Self, StoreError> {
        let identity_set: Vec<Uuid> = state
            .store
            .identity_set(identity)
            .await?
            .iter()
            .map(|i| i.id)
            .collect();
        let groups = active_groups(state, &identity_set).await?;
        Ok(Self {
            identity,
            identity_set,
            groups,
        })
    }
}

/// The groups in which any of `identities` is an active member.
pub async fn active_groups(state: &AppState, identities: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
    let mut groups: Vec<Uuid> = state
        .store
        .memberships_of_identities(identities)
        .await?
        .into_iter()
        .filter(|m| m.status == Status::Active)
        .map(|m| m.group_id)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    Ok(groups)
}

fn parse_id(what: &str, raw: &str) -> Result<Uuid, Failure> {
    Uuid::parse_str(raw).map_err(|_| Failure::NotFound(format!("no {what} {raw}")))
}

/// Identity ids from a request body: well-formed and known, else 400.
async fn known_identities(state: &AppState, raw: &[String]) -> Result<Vec<Uuid>, Failure> {
    let mut ids = Vec::with_capacity(raw.len());
    for r in raw {
        let id = Uuid::parse_str(r)
            .map_err(|_| Failure::BadRequest(format!("{r:?} is not an identity id")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let found = identities::by_ids(state, &ids).await?;
    if let Some(missing) = ids.iter().find(|id| !found.iter().any(|f| f.id == **id)) {
        return Err(Failure::BadRequest(format!("no identity {missing}")));
    }
    Ok(ids)
}

fn group_ids(raw: &[String]) -> Result<Vec<Uuid>, Failure> {
    raw.iter()
        .map(|r| {
            Uuid::parse_str(r).map_err(|_| Failure::BadRequest(format!("{r:?} is not a group id")))
        })
        .collect()
}

pub async fn to_object(state: &AppState, p: &Project) -> Result<ProjectObject, StoreError> {
    let admins = identities::by_ids(state, &p.admin_ids).await?;
    Ok(ProjectObject {
        id: p.id.to_string(),
        display_name: p.display_name.clone(),
        project_name: p.display_name.clone(),
        contact_email: p.contact_email.clone(),
        admin_ids: p.admin_ids.iter().map(Uuid::to_string).collect(),
        admin_group_ids: p
            .admin_group_ids
            .as_ref()
            .map(|g| g.iter().map(Uuid::to_string).collect()),
        admins: ProjectAdmins {
            identities: admins.iter().map(identity_object).collect(),
            groups: Vec::new(),
        },
    })
}

pub async fn list(state: &AppState, m: &Manager) -> Result<Vec<Project>, Failure> {
    let mut projects = state.store.projects_of_admins(&m.identity_set).await?;
    for p in state.store.projects_of_admin_groups(&m.groups).await? {
        if !projects.iter().any(|q| q.id == p.id) {
            projects.push(p);
        }
    }
    projects.sort_by_key(|p| (p.created_at, p.id));
    Ok(projects)
}

/// The project `raw` names, if `m` administers it: 404 when unknown, 403 when not theirs.
pub async fn administered(state: &AppState, m: &Manager, raw: &str) -> Result<Project, Failure> {
    let id = parse_id("project", raw)?;
    let p = state
        .store
        .project(id)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("no project {raw}")))?;
    if !p.administered_by(&m.identity_set, &m.groups) {
        return Err(Failure::Forbidden(
            "only the admins of a project may see or change it".into(),
        ));
    }
    Ok(p)
}

pub async fn create(
    state: &AppState,
    m: &Manager,
    body: ProjectCreate,
) -> Result<Project, Failure> {
    validate_display_name(&body.display_name).map_err(|e| Failure::BadRequest(e.into()))?;
    validate_contact_email(&body.contact_email).map_err(|e| Failure::BadRequest(e.into()))?;
    let mut admin_ids = known_identities(state, body.admin_ids.as_deref().unwrap_or(&[])).await?;
    // The creator always administers what they create, or nobody could manage it afterwards.
    if !admin_ids.iter().any(|a| m.identity_set.contains(a)) {
        admin_ids.insert(0, m.identity);
    }
    let project = Project {
        id: state.rng.uuid_v4(),
        display_name: body.display_name.trim().to_owned(),
        contact_email: body.contact_email,
        admin_ids,
        admin_group_ids: body.admin_group_ids.as_deref().map(group_ids).transpose()?,
        created_at: state.clock.now(),
    };
    state.store.insert_project(&project).await?;
    tracing::info!(event = "project_created", project = %project.id, by = %m.identity, "project created");
    Ok(project)
}

pub async fn update(
    state: &AppState,
    m: &Manager,
    raw: &str,
    body: ProjectUpdate,
) -> Result<Project, Failure> {
    let mut p = administered(state, m, raw).await?;
    if let Some(n) = body.display_name {
        validate_display_name(&n).map_err(|e| Failure::BadRequest(e.into()))?;
        p.display_name = n.trim().to_owned();
    }
    if let Some(e) = body.contact_email {
        validate_contact_email(&e).map_err(|e| Failure::BadRequest(e.into()))?;
        p.contact_email = e;
    }
    if let Some(a) = body.admin_ids {
        let ids = known_identities(state, &a).await?;
        if ids.is_empty() {
            return Err(Failure::BadRequest(
                "a project needs at least one admin".into(),
            ));
        }
        p.admin_ids = ids;
    }
    if let Some(g) = body.admin_group_ids {
        p.admin_group_ids = Some(group_ids(&g)?);
    }
    if !state.store.update_project(&p).await? {
        return Err(Failure::NotFound(format!("no project {raw}")));
    }
    Ok(p)
}

/// Globus refuses to delete a project that still has clients; so do we, and also while it has
/// policies (409).
pub async fn delete(state: &AppState, m: &Manager, raw: &str) -> Result<Project, Failure> {
    let p = administered(state, m, raw).await?;
    match state.store.delete_project(p.id).await {
        Ok(true) => {
            tracing::info!(event = "project_deleted", project = %p.id, by = %m.identity, "project deleted");
            Ok(p)
        }
        Ok(false) => Err(Failure::NotFound(format!("no project {raw}"))),
        Err(StoreError::Conflict(_)) => Err(Failure::Conflict(
            "the project still has clients or policies; delete them first".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

pub fn policy_object(p: &AuthPolicy) -> PolicyObject {
    PolicyObject {
        id: p.id.to_string(),
        project_id: p.project_id.to_string(),
        display_name: p.display_name.clone(),
        description: p.description.clone(),
        high_assurance: p.high_assurance,
        authentication_assurance_timeout: p.authentication_assurance_timeout,
        required_mfa: p.required_mfa,
        domain_constraints_include: p.domain_constraints_include.clone(),
        domain_constraints_exclude: p.domain_constraints_exclude.clone(),
    }
}

pub async fn policies(state: &AppState, m: &Manager) -> Result<Vec<AuthPolicy>, Failure> {
    let projects: Vec<Uuid> = list(state, m).await?.iter().map(|p| p.id).collect();
    Ok(state.store.policies_of_projects(&projects).await?)
}

/// The policy `raw` names, if `m` administers its project.
pub async fn administered_policy(
    state: &AppState,
    m: &Manager,
    raw: &str,
) -> Result<AuthPolicy, Failure> {
    let id = parse_id("policy", raw)?;
    let p = state
        .store
        .policy(id)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("no policy {raw}")))?;
    administered(state, m, &p.project_id.to_string())
        .await
        .map_err(|e| match e {
            Failure::NotFound(_) => Failure::NotFound(format!("no policy {raw}")),
            other => other,
        })?;
    Ok(p)
}

fn domains(list: Option<Vec<String>>) -> Result<Option<Vec<String>>, Failure> {
    let Some(list) = list else { return Ok(None) };
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for d in list {
        validate_domain(&d).map_err(Failure::BadRequest)?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(Some(out))
}

/// Applies the fields given to `p`, validating each.
fn apply(p: &mut AuthPolicy, f: PolicyFields) -> Result<(), Failure> {
    if let Some(n) = f.display_name {
        validate_display_name(&n).map_err(|e| Failure::BadRequest(e.into()))?;
        p.display_name = n.trim().to_owned();
    }
    if let Some(d) = f.description {
        if d.chars().count() > 1000 {
            return Err(Failure::BadRequest(
                "description must be at most 1000 characters".into(),
            ));
        }
        p.description = d;
    }
    if let Some(h) = f.high_assurance {
        p.high_assurance = h;
    }
    if let Some(t) = f.authentication_assurance_timeout {
        if t.is_some_and(|t| t < 0) {
            return Err(Failure::BadRequest(
                "authentication_assurance_timeout must not be negative".into(),
            ));
        }
        p.authentication_assurance_timeout = t;
    }
    if let Some(r) = f.required_mfa {
        p.required_mfa = r;
    }
    if let Some(inc) = f.domain_constraints_include {
        p.domain_constraints_include = domains(inc)?;
    }
    if let Some(exc) = f.domain_constraints_exclude {
        p.domain_constraints_exclude = domains(exc)?;
    }
    Ok(())
}

pub async fn create_policy(
    state: &AppState,
    m: &Manager,
    mut body: PolicyFields,
) -> Result<AuthPolicy, Failure> {
    let raw_project = body
        .project_id
        .take()
        .ok_or_else(|| Failure::BadRequest("project_id is required".into()))?;
    if Uuid::parse_str(&raw_project).is_err() {
        return Err(Failure::BadRequest(format!(
            "{raw_project:?} is not a project id"
        )));
    }
    if body.display_name.is_none() {
        return Err(Failure::BadRequest("display_name is required".into()));
    }
    let project = administered(state, m, &raw_project).await?;
    let mut policy = AuthPolicy {
        id: state.rng.uuid_v4(),
        project_id: project.id,
        display_name: String::new(),
        description: String::new(),
        high_assurance: false,
        authentication_assurance_timeout: None,
        required_mfa: false,
        domain_constraints_include: None,
        domain_constraints_exclude: None,
        created_at: state.clock.now(),
    };
    apply(&mut policy, body)?;
    state.store.insert_policy(&policy).await?;
    tracing::info!(event = "policy_created", policy = %policy.id, project = %project.id, "policy created");
    Ok(policy)
}

pub async fn update_policy(
    state: &AppState,
    m: &Manager,
    raw: &str,
    mut body: PolicyFields,
) -> Result<AuthPolicy, Failure> {
    let mut policy = administered_policy(state, m, raw).await?;
    if let Some(p) = body.project_id.take() {
        if p != policy.project_id.to_string() {
            return Err(Failure::BadRequest(
                "a policy cannot move to another project".into(),
            ));
        }
    }
    apply(&mut policy, body)?;
    if !state.store.update_policy(&policy).await? {
        return Err(Failure::NotFound(format!("no policy {raw}")));
    }
    Ok(policy)
}

pub async fn delete_policy(
    state: &AppState,
    m: &Manager,
    raw: &str,
) -> Result<AuthPolicy, Failure> {
    let policy = administered_policy(state, m, raw).await?;
    match state.store.delete_policy(policy.id).await {
        Ok(true) => Ok(policy),
        Ok(false) => Err(Failure::NotFound(format!("no policy {raw}"))),
        Err(StoreError::Conflict(_)) => Err(Failure::Conflict(
            "clients still use this policy; change them first".into(),
        )),
        Err(e) => Err(e.into()),
    }
}
