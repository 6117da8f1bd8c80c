//! Spending: entities, their histories and contracts.

use super::*;

pub(super) fn parse_entity(id: &str) -> Result<EntityId, ApiError> {
    EntityId::new(id).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Every entity
///
/// The treasury, ministries, departments, vendors and observers, by id.
#[utoipa::path(get, path = "/v1/entities", tag = "spending",
    responses((status = 200, description = "All entities.", body = EntityList)))]
pub(super) async fn entities(State(s): State<AppState>) -> Json<EntityList> {
    let state = s.state.read().expect("state lock");
    Json(EntityList {
        entities: state.entities().map(EntitySummary::from).collect(),
    })
}

/// One entity
///
/// Its signing keys and how many of them must sign, a change of its keys
/// by the treasury that waits for its height (null if none), its status,
/// the nonce its next transaction needs, and its four figures on every
/// budget line it has.
#[utoipa::path(get, path = "/v1/entities/{id}", tag = "spending",
    params(("id" = String, Path, description = "An entity id, `[A-Z0-9][A-Z0-9._-]{1,63}`.",
        example = "BYT-BVBM")),
    responses(
        (status = 200, description = "The entity.", body = EntityView),
        (status = 400, description = "`invalid_argument`: not an entity id.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such entity.", body = ErrorBody),
    ))]
pub(super) async fn entity(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<EntityView> {
    let id = parse_entity(&id)?;
    let state = s.state.read().expect("state lock");
    let e = state
        .entity(&id)
        .ok_or_else(|| ApiError::not_found(format!("no entity {id}")))?;
    let budgets = state
        .budgets()
        .filter(|(owner, ..)| **owner == id)
        .map(|(_, year, line, f)| BudgetLineView::new(year, line, f))
        .collect();
    let next_nonce = s
        .mempool
        .lock()
        .expect("mempool lock")
        .next_nonce(&id, &state)
        .unwrap_or(e.nonce + 1);
    Ok(Json(EntityView {
        id: e.id.clone(),
        kind: e.kind,
        name: e.name.clone(),
        parent: e.parent.clone(),
        keys: e.keys.clone(),
        threshold: e.threshold,
        pending_keys: e.pending.as_ref().map(Into::into),
        status: e.status,
        next_nonce,
        budgets,
    }))
}

/// A page of an entity's history.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct CursorQuery {
    /// Where the previous page ended: its `next`, an opaque string.
    cursor: Option<String>,
}

pub(super) fn parse_cursor(c: &str) -> Result<TxLocation, ApiError> {
    let (height, index) = cursor::parse(c).ok_or_else(|| {
        ApiError::bad_request(format!("{c:?} is not a cursor from a previous page"))
    })?;
    Ok(TxLocation {
        height: Height(height),
        index,
    })
}

pub(super) fn cursor_of(location: TxLocation) -> String {
    cursor::format(location.height.0, location.index)
}

/// An entity's history
///
/// The committed transactions it signed or received, in chain order
/// (oldest first), 100 to a page. Follow `next` with `?cursor=`.
#[utoipa::path(get, path = "/v1/entities/{id}/txs", tag = "spending",
    params(("id" = String, Path, description = "An entity id.", example = "BYT-BVBM"),
        CursorQuery),
    responses(
        (status = 200, description = "A page of its history.", body = HistoryPage),
        (status = 400, description = "`invalid_argument`: not an entity id, or a bad cursor.",
            body = ErrorBody),
        (status = 404, description = "`not_found`: no such entity.", body = ErrorBody),
        (status = 500, description = "The store could not be read.", body = ErrorBody),
    ))]
pub(super) async fn entity_txs(
    State(s): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<CursorQuery>, QueryRejection>,
) -> ApiResult<HistoryPage> {
    let id = parse_entity(&id)?;
    let q = query(q)?;
    if s.state.read().expect("state lock").entity(&id).is_none() {
        return Err(ApiError::not_found(format!("no entity {id}")));
    }
    let after = q.cursor.as_deref().map(parse_cursor).transpose()?;
    // One more than a page, to know whether another page follows.
    let mut page: Vec<HistoryEntry> = s
        .store
        .history(&id, after, HISTORY_PAGE + 1)
        .map_err(ApiError::internal)?;
    let more = page.len() > HISTORY_PAGE;
    page.truncate(HISTORY_PAGE);
    let next = more.then(|| cursor_of(page[page.len() - 1].location));
    Ok(Json(HistoryPage {
        txs: page.iter().map(HistoryEntryView::from).collect(),
        next,
    }))
}

/// One contract
///
/// Its parties, year and budget line, current amount, what was paid and
/// the deliveries recorded.
#[utoipa::path(get, path = "/v1/contracts/{id}", tag = "spending",
    params(("id" = String, Path, description = "A contract id, `[A-Z0-9][A-Z0-9._-]{1,63}`.",
        example = "C-17")),
    responses(
        (status = 200, description = "The contract.", body = ContractView),
        (status = 400, description = "`invalid_argument`: not a contract id.", body = ErrorBody),
        (status = 404, description = "`not_found`: no such contract.", body = ErrorBody),
    ))]
pub(super) async fn contract(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<ContractView> {
    let id = ContractId::new(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let state = s.state.read().expect("state lock");
    let c = state
        .contract(&id)
        .ok_or_else(|| ApiError::not_found(format!("no contract {id}")))?;
    Ok(Json(ContractView::new(c, &state.deliveries(&id))))
}

/// Query of `GET /v1/flags`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct FlagsQuery {
    /// Only the flags that name this entity, in any role.
    entity: Option<String>,
}

/// The red flags
///
/// Every red flag standing at the last committed height, raised from the
/// ledger's summaries of the whole history (so none ages out), each with
/// its stable id. `?entity=ID` keeps those that name the entity.
#[utoipa::path(get, path = "/v1/flags", tag = "spending", params(FlagsQuery),
    responses(
        (status = 200, description = "The flags.", body = FlagList),
        (status = 400, description = "`invalid_argument`: not an entity id.", body = ErrorBody),
        (status = 500, description = "The store could not be read.", body = ErrorBody),
    ))]
pub(super) async fn flags(
    State(s): State<AppState>,
    q: Result<Query<FlagsQuery>, QueryRejection>,
) -> ApiResult<FlagList> {
    let q = query(q)?;
    let entity = q.entity.as_deref().map(parse_entity).transpose()?;
    let state = s.state.read().expect("state lock");
    let height = state.height();
    let params = ledger::summary::FlagParams::default();
    let all = ledger::summary::read::flags(&s.store, &state, height, &params)
        .map_err(ApiError::internal)?;
    let flags = all
        .iter()
        .filter(|f| entity.as_ref().is_none_or(|e| f.concerns_entity(e)))
        .map(|f| FlagView {
            id: f.id(),
            kind: f.kind().to_owned(),
            height: f.height().map(|h| h.0),
            page: format!("/flags/{}", f.id()),
        })
        .collect();
    Ok(Json(FlagList {
        height: height.0,
        flags,
    }))
}
