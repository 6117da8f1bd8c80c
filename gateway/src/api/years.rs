//! Fiscal years: a year's figures per ministry and department, and whether
//! the treasury has closed it.

use super::exports::parse_year;
use super::model::{YearEntityView, YearView};
use super::*;

/// A fiscal year
///
/// Whether the treasury has closed the year (and the block that did), and
/// the figures of every ministry and department with a budget line in it,
/// each ministry followed by its departments: received, passed on,
/// committed, paid, and unspent (received − passed on − paid), which is
/// also `lapsed` once the year is closed. A year nothing was recorded in
/// has no entities.
#[utoipa::path(get, path = "/v1/years/{year}", tag = "spending",
    params(("year" = u16, Path, description = "A fiscal year, 2000 to 2100.", example = 2026,
        minimum = 2000, maximum = 2100)),
    responses(
        (status = 200, description = "The year.", body = YearView),
        (status = 400, description = "`invalid_argument`: not a fiscal year from 2000 to 2100.",
            body = ErrorBody),
        (status = 500, description = "A sum of the year's figures overflows.", body = ErrorBody),
    ))]
pub(super) async fn year(
    State(s): State<AppState>,
    Path(year): Path<String>,
) -> ApiResult<YearView> {
    let year = parse_year(&year)?;
    let state = s.state.read().expect("state lock");
    let closed_at = state.year_closed(year);
    let rows = crate::approvals::year_rows(&state, year)
        .ok_or_else(|| ApiError::internal(format!("a sum of the figures of {year} overflows")))?;
    Ok(Json(YearView {
        year,
        height: state.height().0,
        closed: closed_at.is_some(),
        closed_at: closed_at.map(|h| h.0),
        entities: rows
            .iter()
            .map(|r| YearEntityView::new(r, closed_at.is_some()))
            .collect(),
    }))
}
