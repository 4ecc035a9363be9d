//! The OpenAPI description of every `/v0.10` route, from the handlers' `#[utoipa::path]`
//! attributes, merged into the server's `/openapi.json` beside Auth's and Groups'. The bodies
//! are Globus documents the handlers build as JSON values: the schemas here are doc-only (a
//! `DATA_TYPE` and the fields spec §2–§9 list), not the types that make them. Every route is
//! also served under a doubled `/v0.10/v0.10` prefix (spec §1.1), not listed twice.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

/// A Globus Transfer document: `DATA_TYPE` names its kind (endpoint, task, file_list, access,
/// role, bookmark, pause_rule, admin_cancel, …); its other fields are those of that kind.
#[derive(ToSchema)]
pub struct Document {
    #[schema(rename = "DATA_TYPE")]
    pub data_type: String,
}

/// A list document: `DATA` holds the items; offset-paged lists add `limit`, `offset` and
/// `has_next_page` or `length` + `total`; marker-paged ones `marker` and `next_marker`; the
/// endpoint managers' task list `has_next_page` and `last_key`.
#[derive(ToSchema)]
pub struct DocumentList {
    #[schema(rename = "DATA_TYPE")]
    pub data_type: String,
    #[schema(rename = "DATA")]
    pub data: Vec<Document>,
}

/// A result document (`code`, `message` the CLI prints; submissions add `task_id`,
/// `submission_id`; access rules `access_id`; shares `id`).
#[derive(ToSchema)]
pub struct ResultDoc {
    #[schema(rename = "DATA_TYPE")]
    pub data_type: String,
    pub code: String,
    pub message: String,
    pub request_id: String,
    pub resource: String,
}

/// Every refusal (spec §1.5): `code` such as `ClientError.BadRequest`, `PermissionDenied`,
/// `EndpointNotFound`, `TaskNotFound`, `ExternalError.…`.
#[derive(ToSchema)]
pub struct TransferError {
    pub code: String,
    pub message: String,
    pub request_id: String,
    pub resource: String,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        super::endpoints::show,
        super::endpoints::update,
        super::endpoints::remove,
        super::endpoints::search_endpoints,
        super::endpoints::create_share,
        super::endpoints::my_shares,
        super::endpoints::shares,
        super::endpoints::server_list,
        super::endpoints::autoactivate,
        super::endpoints::pause_rules,
        super::endpoints::role_list,
        super::endpoints::create_role,
        super::endpoints::show_role,
        super::endpoints::delete_role,
        super::operations::ls,
        super::operations::stat,
        super::operations::mkdir,
        super::operations::rename,
        super::access::list,
        super::access::show,
        super::access::create,
        super::access::update,
        super::access::remove,
        super::bookmarks::list,
        super::bookmarks::show,
        super::bookmarks::create,
        super::bookmarks::update,
        super::bookmarks::remove,
        super::tasks::submission_id,
        super::tasks::transfer,
        super::tasks::delete,
        super::tasks::show,
        super::tasks::task_list,
        super::tasks::update,
        super::tasks::cancel,
        super::tasks::event_list,
        super::tasks::successful,
        super::tasks::skipped,
        super::tasks::pause_info,
        super::endpoint_manager::endpoints::monitored,
        super::endpoint_manager::endpoints::show,
        super::endpoint_manager::endpoints::hosted,
        super::endpoint_manager::endpoints::access_list,
        super::endpoint_manager::tasks::task_list,
        super::endpoint_manager::tasks::show,
        super::endpoint_manager::tasks::event_list,
        super::endpoint_manager::tasks::pause_info,
        super::endpoint_manager::tasks::successful,
        super::endpoint_manager::tasks::skipped,
        super::endpoint_manager::cancel::admin_cancel,
        super::endpoint_manager::cancel::show,
        super::endpoint_manager::pause::admin_pause,
        super::endpoint_manager::pause::admin_resume,
        super::endpoint_manager::pause_rules::list,
        super::endpoint_manager::pause_rules::create,
        super::endpoint_manager::pause_rules::show,
        super::endpoint_manager::pause_rules::update,
        super::endpoint_manager::pause_rules::remove
    ),
    components(schemas(Document, DocumentList, ResultDoc, TransferError))
)]
struct TransferDoc;

const ERRORS: [(&str, &str); 4] = [
    (
        "400",
        "The request is malformed or invalid (ClientError.BadRequest)",
    ),
    ("401", "No valid bearer token for transfer.api.globus.org"),
    ("403", "The caller may not do this (PermissionDenied, …)"),
    ("404", "No such endpoint, task or resource"),
];

fn add_errors(op: &mut Operation) {
    for (status, description) in ERRORS {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("TransferError")))
                            .build(),
                    )
                    .build()
                    .into()
            });
    }
}

/// The document of the Transfer routes, with the error answers every operation can give.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = TransferDoc::openapi();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_errors(op);
        }
    }
    doc
}
