//! The bulk downloads: CSV and OCDS, one at a time per kind of load.

use super::*;

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> ApiError {
        match e {
            ExportError::NoContracts { .. } => ApiError::not_found(e.to_string()),
            // An export reads the blocks from genesis, which a node started
            // from a snapshot does not hold.
            ExportError::Store(e @ ledger::store::StoreError::NotHeld { .. }) => e.into(),
            e => ApiError::internal(e),
        }
    }
}

/// What the export routes take from the node's `[exports]` section, and
/// whether the listener serves HTTPS (for the extension URL of a node
/// without `base_url`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportLinks {
    /// `[exports]`.
    pub section: node::config::ExportsSection,
    /// The listener serves HTTPS.
    pub https: bool,
}

impl Default for ExportLinks {
    fn default() -> Self {
        ExportLinks::new(&node::config::ExportsSection::default(), false)
    }
}

impl ExportLinks {
    /// The links of a listener configured with `section`.
    pub fn new(section: &node::config::ExportsSection, https: bool) -> ExportLinks {
        ExportLinks {
            section: section.clone(),
            https,
        }
    }

    /// The public base URL links are written against: `base_url`, or else
    /// the request's `Host` (none if it has no usable one).
    pub fn base(&self, headers: &HeaderMap) -> Option<String> {
        let from_host = || {
            let host = headers.get(header::HOST)?.to_str().ok()?;
            let usable = !host.is_empty()
                && host.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                });
            let scheme = if self.https { "https" } else { "http" };
            usable.then(|| format!("{scheme}://{host}"))
        };
        self.section.base().map(str::to_owned).or_else(from_host)
    }

    /// The package's options: the prefix, and the extension at
    /// [`ExportLinks::base`].
    pub fn options(&self, headers: &HeaderMap) -> OcdsOptions {
        OcdsOptions::served_at(&self.section.ocid_prefix, self.base(headers).as_deref())
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

/// One of the [`EXPORTS_RUNNING_MAX`] exports that may run at once, held
/// until the export is written; or 429 `busy`.
fn export_slot() -> Result<tokio::sync::SemaphorePermit<'static>, ApiError> {
    EXPORT_SLOTS.try_acquire().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            format!("{EXPORTS_RUNNING_MAX} exports are already running; try again shortly"),
        )
    })
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

/// The headers of an export's download: its type, its file name, and the
/// height and block hash it was taken at.
fn download_headers(
    as_of: &export::AsOf,
    file_name: String,
    content_type: &'static str,
) -> [(header::HeaderName, String); 4] {
    [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ),
        (
            header::HeaderName::from_static(EXPORT_HEIGHT_HEADER),
            as_of.height.0.to_string(),
        ),
        (
            header::HeaderName::from_static(EXPORT_BLOCK_HASH_HEADER),
            as_of.block_hash.to_hex(),
        ),
    ]
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
    stream_export(s, q, Format::Csv, |view, store, settings, out| {
        view.write_csv(store, settings, out)
    })
    .await
}

/// Streams an export in `format`: the state lock is held for the capture
/// only; `write` then writes the export as it reads the store, and it is
/// sent as it is written, the writer waiting for the reader. Headers name
/// the height and block; an error partway ends the body early.
async fn stream_export(
    s: AppState,
    q: Result<Query<ExportQuery>, QueryRejection>,
    format: Format,
    write: impl FnOnce(StateView, &Store, &export::Settings, Chunks) -> Result<Chunks, ExportError>
        + Send
        + 'static,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let year = q.year.as_deref().map(parse_year).transpose()?;
    let slot = export_slot()?;
    let settings = export::Settings::from_genesis(&s.genesis);
    let (view, as_of, s, settings) = tokio::task::spawn_blocking(move || {
        let view = StateView::capture(&s.state.read().expect("state lock"), year);
        if format == Format::Ocds && view.is_empty() {
            return Err(ExportError::NoContracts {
                year,
                height: view.height(),
            });
        }
        let as_of = view.as_of(&s.store, &settings)?;
        Ok::<_, ExportError>((view, as_of, s, settings))
    })
    .await
    .map_err(ApiError::internal)??;
    let (sender, chunks) = tokio::sync::mpsc::channel(EXPORT_CHUNKS_QUEUED);
    let file_name = export::file_name(&as_of, year, format);
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Ocds => "application/json",
    };
    let headers = download_headers(&as_of, file_name, content_type);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let out = Chunks::new(sender.clone());
        if let Err(e) = write(view, &s.store, &settings, out) {
            tracing::error!("the {format:?} export stopped partway: {e}");
            let _ = sender.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let body =
        axum::body::Body::from_stream(futures::stream::unfold(chunks, |mut chunks| async move {
            chunks.recv().await.map(|chunk| (chunk, chunks))
        }));
    Ok((headers, body).into_response())
}

/// Chunks of a streamed export waiting to be sent, at most; the export
/// waits for the reader beyond that.
const EXPORT_CHUNKS_QUEUED: usize = 16;
/// Bytes of a streamed export sent at once.
const EXPORT_CHUNK_BYTES: usize = 64 * 1024;

/// The writer of a streamed export: its bytes, in chunks of
/// [`EXPORT_CHUNK_BYTES`], to the response. A reader who has gone makes
/// the next write fail, which stops the export.
struct Chunks {
    buf: Vec<u8>,
    sender: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>,
}

impl Chunks {
    fn new(sender: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>) -> Chunks {
        Chunks {
            buf: Vec::with_capacity(EXPORT_CHUNK_BYTES),
            sender,
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(EXPORT_CHUNK_BYTES));
        self.sender
            .blocking_send(Ok(chunk.into()))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the reader has gone"))
    }
}

impl std::io::Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= EXPORT_CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// Contracts and payments as an OCDS release package
///
/// An OCDS 1.1.5 release package, one release per contract, taken at the
/// last committed block. Unlike the rest of the API, amounts are JSON
/// numbers, as OCDS requires. Fields outside OCDS are declared by the
/// extension that `extensions` lists (`/v1/export/ocds/extension.json`).
/// Mapping: docs/exports.md.
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
    Extension(links): Extension<Arc<ExportLinks>>,
    headers: HeaderMap,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let options = links.options(&headers);
    stream_export(s, q, Format::Ocds, move |view, store, settings, out| {
        view.write_ocds(store, settings, &options, out)
    })
    .await
}

/// The OCDS extension of the export
///
/// The `extension.json` that the OCDS package lists in `extensions`: it
/// declares the fields the package adds to OCDS (the ledger snapshot on
/// each release; block heights, transaction and document hashes, payment
/// references on transactions, milestones and amendments). The same file
/// for every node.
#[utoipa::path(get, path = "/v1/export/ocds/extension.json", tag = "exports", responses(
    (status = 200, description = "The extension metadata.", body = Object,
        content_type = "application/json"),
))]
pub(super) async fn ocds_extension() -> Response {
    static_json(export::EXTENSION_JSON)
}

/// The OCDS extension's release schema patch
///
/// The extension's `release-schema.json`: a JSON Merge Patch (RFC 7386)
/// of the OCDS release schema that adds its fields, with their types and
/// descriptions.
#[utoipa::path(get, path = "/v1/export/ocds/release-schema.json", tag = "exports", responses(
    (status = 200, description = "The release schema patch.", body = Object,
        content_type = "application/json"),
))]
pub(super) async fn ocds_extension_schema() -> Response {
    static_json(export::EXTENSION_RELEASE_SCHEMA)
}

fn static_json(text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}
