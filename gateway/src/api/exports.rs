//! The bulk downloads: CSV and OCDS, one at a time per kind of load.

use super::*;

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> ApiError {
        match e {
            ExportError::NoContracts { .. } => ApiError::not_found(e.to_string()),
            e => ApiError::internal(e),
        }
    }
}

// The bounds written out in `ExportQuery`'s attribute, which takes literals.
const _: () = assert!(Year::FIRST == 2000 && Year::LAST == 2100);

/// Which contracts an export holds.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ExportQuery {
    /// Only the contracts of this fiscal year (2000 to 2100) and their
    /// payments; every year when absent. No other parameter is accepted.
    #[param(value_type = Option<u16>, minimum = 2000, maximum = 2100)]
    year: Option<String>,
}

/// Takes an export off the async threads: it reads every block.
pub(super) async fn take_export(
    s: AppState,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Export, ApiError> {
    let q = query(q)?;
    let year = q.year.as_deref().map(parse_year).transpose()?;
    let _slot = EXPORT_SLOTS.try_acquire().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            format!("{EXPORTS_RUNNING_MAX} exports are already running; try again shortly"),
        )
    })?;
    let export = tokio::task::spawn_blocking(move || export::take_from(&s, year))
        .await
        .map_err(ApiError::internal)??;
    Ok(export)
}

pub(super) fn parse_year(s: &str) -> Result<Year, ApiError> {
    s.parse::<u16>()
        .ok()
        .and_then(|y| Year::new(y).ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "year {s:?} is not a fiscal year from {} to {}",
                Year::FIRST,
                Year::LAST
            ))
        })
}

pub(super) fn download(
    export: &Export,
    format: Format,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", export.file_name(format));
    let headers = [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::HeaderName::from_static(EXPORT_HEIGHT_HEADER),
            export.as_of.height.0.to_string(),
        ),
        (
            header::HeaderName::from_static(EXPORT_BLOCK_HASH_HEADER),
            export.as_of.block_hash.to_hex(),
        ),
    ];
    (headers, body).into_response()
}

/// Contracts and payments as CSV
///
/// One table of UTF-8 CSV with a `record_type` column (`snapshot`,
/// `contract`, `payment`), taken at the last committed block, which every
/// row, the file name and two headers name. Columns: docs/exports.md.
#[utoipa::path(get, path = "/v1/export.csv", tag = "exports", params(ExportQuery), responses(
    (status = 200, description = "The CSV, as an attachment.", body = String,
        content_type = "text/csv; charset=utf-8", headers(
            ("x-minhbach-height" = u64, description = "The height the export was taken at."),
            ("x-minhbach-block-hash" = String, description = "That block's hash."),
        )),
    (status = 400, description = "`invalid_argument`: a bad `year` or another parameter.",
        body = ErrorBody),
    (status = 429, description = "`busy`: too many exports running; try again shortly.",
        body = ErrorBody),
    (status = 500, description = "The chain could not be read, or disagrees with the state.",
        body = ErrorBody),
))]
pub(super) async fn export_csv(
    State(s): State<AppState>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let export = take_export(s, q).await?;
    let body = export.to_csv()?;
    Ok(download(
        &export,
        Format::Csv,
        "text/csv; charset=utf-8",
        body,
    ))
}

/// Contracts and payments as an OCDS release package
///
/// An OCDS 1.1.5 release package, one release per contract, taken at the
/// last committed block. Unlike the rest of the API, amounts are JSON
/// numbers, as OCDS requires. Mapping: docs/exports.md.
#[utoipa::path(get, path = "/v1/export/ocds.json", tag = "exports", params(ExportQuery),
    responses(
        (status = 200, description = "The release package, as an attachment.", body = Object,
            content_type = "application/json", headers(
                ("x-minhbach-height" = u64, description = "The height the export was taken at."),
                ("x-minhbach-block-hash" = String, description = "That block's hash."),
            )),
        (status = 400, description = "`invalid_argument`: a bad `year` or another parameter.",
            body = ErrorBody),
        (status = 404, description = "`not_found`: no contract (in that year) to publish.",
            body = ErrorBody),
        (status = 429, description = "`busy`: too many exports running; try again shortly.",
            body = ErrorBody),
        (status = 500, description = "The chain could not be read, or disagrees with the state.",
            body = ErrorBody),
    ))]
pub(super) async fn export_ocds(
    State(s): State<AppState>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let export = take_export(s, q).await?;
    let body = serde_json::to_vec_pretty(&export.to_ocds()?).map_err(ApiError::internal)?;
    Ok(download(&export, Format::Ocds, "application/json", body))
}
