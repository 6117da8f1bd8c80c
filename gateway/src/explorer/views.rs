//! Pieces several pages share: an operation in words and as a field list,
//! an entity's kind and status in words, and a red flag explained in one
//! sentence with links to its evidence.

use ledger::state::Entity;
use ledger::tx::{EntityKind, Status};
use ledger::{EntityId, Hash, Height, Op, State};
use maud::{html, Markup};

use super::flags::{Flag, FlagParams};
use super::format::short_hex;
use super::i18n::Strings;
use super::layout::{fill, signed, text, Ctx};

/// An entity's display name, if it exists.
pub fn name_of<'a>(state: &'a State, id: &EntityId) -> Option<&'a str> {
    state.entity(id).map(|e| e.name.as_str())
}

/// A link to an entity, by its name in `state`.
pub fn entity(ctx: &Ctx, state: &State, id: &EntityId) -> Markup {
    ctx.entity_link(id, name_of(state, id))
}

/// A kind in words.
pub fn kind(t: &Strings, k: EntityKind) -> &'static str {
    match k {
        EntityKind::Treasury => t.kind_treasury,
        EntityKind::Ministry => t.kind_ministry,
        EntityKind::Department => t.kind_department,
        EntityKind::Vendor => t.kind_vendor,
        EntityKind::Observer => t.kind_observer,
        EntityKind::Controller => t.kind_controller,
    }
}

/// A status in words.
pub fn status(t: &Strings, s: Status) -> &'static str {
    match s {
        Status::Active => t.status_active,
        Status::Suspended => t.status_suspended,
    }
}

/// An operation's name in words.
pub fn op_name(t: &Strings, op: &Op) -> &'static str {
    match op {
        Op::RegisterEntity { .. } => t.op_register_entity,
        Op::SetStatus { .. } => t.op_set_status,
        Op::RotateKey { .. } => t.op_rotate_key,
        Op::Appropriate { .. } => t.op_appropriate,
        Op::Allocate { .. } => t.op_allocate,
        Op::ReturnFunds { .. } => t.op_return_funds,
        Op::Award { .. } => t.op_award,
        Op::AmendContract { .. } => t.op_amend_contract,
        Op::Pay { .. } => t.op_pay,
        Op::ConfirmDelivery { .. } => t.op_confirm_delivery,
        Op::AddValidator { .. } => t.op_add_validator,
        Op::RemoveValidator { .. } => t.op_remove_validator,
        Op::RegisterNode { .. } => t.op_register_node,
        Op::RemoveNode { .. } => t.op_remove_node,
        Op::SetKeys { .. } => t.op_set_keys,
        Op::CancelKeys { .. } => t.op_cancel_keys,
        Op::SetControl { .. } => t.op_set_control,
        Op::RemoveControl { .. } => t.op_remove_control,
        Op::CloseYear { .. } => t.op_close_year,
        Op::AcknowledgePayment { .. } => t.op_acknowledge_payment,
        Op::ScheduleUpgrade { .. } => t.op_schedule_upgrade,
    }
}

/// Where returned funds go: a department's ministry, or the treasury.
fn return_target<'a>(state: &'a State, signer: &EntityId) -> Option<&'a EntityId> {
    state
        .entity(signer)
        .and_then(|e: &Entity| e.parent.as_ref())
        .or_else(|| state.treasury())
}

/// What `signer` did with `op`, as one sentence with links.
pub fn describe(ctx: &Ctx, state: &State, signer: &EntityId, op: &Op) -> Markup {
    let t = ctx.t;
    let who = entity(ctx, state, signer);
    let e = |id: &EntityId| entity(ctx, state, id);
    let code = |s: &str| html! { code { (s) } };
    match op {
        Op::RegisterEntity {
            id, kind: k, name, ..
        } => fill(
            t.say_register_entity,
            &[
                who,
                text(kind(t, *k)),
                ctx.entity_link(id, Some(id.as_str())),
                signed(name),
            ],
        ),
        Op::SetStatus {
            entity: id,
            status: s,
        } => fill(t.say_set_status, &[who, e(id), text(status(t, *s))]),
        Op::RotateKey { entity: id, .. } => fill(t.say_rotate_key, &[who, e(id)]),
        Op::SetKeys {
            entity: id,
            keys,
            threshold,
        } => fill(
            if id == signer {
                t.say_set_keys
            } else {
                t.say_set_keys_pending
            },
            &[
                who,
                e(id),
                text(&keys.len().to_string()),
                text(&threshold.to_string()),
            ],
        ),
        Op::CancelKeys { entity: id } => fill(t.say_cancel_keys, &[who, e(id)]),
        Op::SetControl {
            ministry: Some(m),
            amount,
            controller,
        } => fill(
            t.say_set_control,
            &[who, e(m), ctx.amount(*amount), e(controller)],
        ),
        Op::SetControl {
            ministry: None,
            amount,
            controller,
        } => fill(
            t.say_set_control_all,
            &[who, ctx.amount(*amount), e(controller)],
        ),
        Op::RemoveControl { ministry: Some(m) } => fill(t.say_remove_control, &[who, e(m)]),
        Op::RemoveControl { ministry: None } => fill(t.say_remove_control_all, &[who]),
        Op::CloseYear { year } => fill(t.say_close_year, &[who, text(&year.to_string())]),
        Op::ScheduleUpgrade { height, version } => fill(
            t.say_schedule_upgrade,
            &[who, text(&version.to_string()), ctx.block_link(*height)],
        ),
        Op::AcknowledgePayment { contract, payment } => fill(
            t.say_acknowledge_payment,
            &[
                who,
                text(&(u64::from(*payment) + 1).to_string()),
                ctx.contract_link(contract),
            ],
        ),
        Op::Appropriate {
            year,
            line,
            to,
            amount,
            legal_ref,
        } => fill(
            t.say_appropriate,
            &[
                who,
                ctx.amount(*amount),
                e(to),
                text(&year.to_string()),
                code(line.as_str()),
                signed(legal_ref),
            ],
        ),
        Op::Allocate {
            year,
            line,
            to,
            amount,
        } => fill(
            t.say_allocate,
            &[
                who,
                ctx.amount(*amount),
                e(to),
                text(&year.to_string()),
                code(line.as_str()),
            ],
        ),
        Op::ReturnFunds { year, line, amount } => {
            let target = return_target(state, signer).map_or_else(|| text("—"), &e);
            fill(
                t.say_return_funds,
                &[
                    who,
                    ctx.amount(*amount),
                    target,
                    text(&year.to_string()),
                    code(line.as_str()),
                ],
            )
        }
        Op::Award {
            contract,
            vendor,
            amount,
            title,
            ..
        } => fill(
            t.say_award,
            &[
                who,
                ctx.contract_link(contract),
                signed(title),
                ctx.amount(*amount),
                e(vendor),
            ],
        ),
        Op::AmendContract {
            contract,
            amount,
            reason,
            ..
        } => fill(
            t.say_amend_contract,
            &[
                who,
                ctx.contract_link(contract),
                ctx.amount(*amount),
                signed(reason),
            ],
        ),
        Op::Pay {
            contract,
            amount,
            reference,
            ..
        } => {
            let vendor = state
                .contract(contract)
                .map_or_else(|| text("—"), |c| e(&c.vendor));
            fill(
                t.say_pay,
                &[
                    who,
                    ctx.amount(*amount),
                    vendor,
                    ctx.contract_link(contract),
                    signed(reference),
                ],
            )
        }
        Op::ConfirmDelivery {
            contract,
            milestone,
            ..
        } => fill(
            t.say_confirm_delivery,
            &[who, signed(milestone), ctx.contract_link(contract)],
        ),
        Op::AddValidator { name, power, .. } => fill(
            t.say_add_validator,
            &[who, signed(name), text(&ctx.number(*power))],
        ),
        Op::RemoveValidator { consensus_key } => fill(
            t.say_remove_validator,
            &[who, code(&short_hex(&consensus_key.to_hex()))],
        ),
        Op::RegisterNode { peer_id, operator } => fill(
            t.say_register_node,
            &[who, code(&peer_id.to_string()), e(operator)],
        ),
        Op::RemoveNode { peer_id } => fill(t.say_remove_node, &[who, code(&peer_id.to_string())]),
    }
}

/// A document hash, or a dash.
fn doc_hash(h: &Option<Hash>) -> Markup {
    match h {
        Some(h) => html! { span.hash { (h.to_hex()) } },
        None => text("—"),
    }
}

/// Every field of `op`, labelled.
pub fn fields(ctx: &Ctx, state: &State, op: &Op) -> Vec<(&'static str, Markup)> {
    let t = ctx.t;
    let e = |id: &EntityId| entity(ctx, state, id);
    let hex = |s: String| html! { span.hash { (s) } };
    let year = |y: &ledger::Year| text(&y.to_string());
    let line = |l: &ledger::LineCode| html! { code { (l.as_str()) } };
    match op {
        Op::RegisterEntity {
            id,
            kind: k,
            name,
            parent,
            keys,
            threshold,
        } => vec![
            (t.f_id, html! { code { (id) } }),
            (t.f_kind, text(kind(t, *k))),
            (t.f_name, signed(name)),
            (t.f_parent, parent.as_ref().map_or_else(|| text("—"), e)),
            (t.f_keys, key_list(keys)),
            (t.f_threshold, text(&threshold.to_string())),
        ],
        Op::SetStatus {
            entity: id,
            status: s,
        } => {
            vec![(t.f_entity, e(id)), (t.f_status, text(status(t, *s)))]
        }
        Op::RotateKey {
            entity: id,
            public_key,
        } => vec![
            (t.f_entity, e(id)),
            (t.f_public_key, hex(public_key.to_hex())),
        ],
        Op::SetKeys {
            entity: id,
            keys,
            threshold,
        } => vec![
            (t.f_entity, e(id)),
            (t.f_keys, key_list(keys)),
            (t.f_threshold, text(&threshold.to_string())),
        ],
        Op::CancelKeys { entity: id } => vec![(t.f_entity, e(id))],
        Op::SetControl {
            ministry,
            amount,
            controller,
        } => vec![
            (
                t.f_ministry,
                ministry.as_ref().map_or_else(|| text(t.all_ministries), e),
            ),
            (t.f_amount, ctx.amount(*amount)),
            (t.f_controller, e(controller)),
        ],
        Op::CloseYear { year: y } => vec![(t.f_year, year(y))],
        Op::ScheduleUpgrade { height, version } => vec![
            (t.f_version, text(&version.to_string())),
            (t.f_height, ctx.block_link(*height)),
        ],
        Op::AcknowledgePayment { contract, payment } => vec![
            (t.f_contract, ctx.contract_link(contract)),
            (t.f_payment, text(&(u64::from(*payment) + 1).to_string())),
        ],
        Op::RemoveControl { ministry } => vec![(
            t.f_ministry,
            ministry.as_ref().map_or_else(|| text(t.all_ministries), e),
        )],
        Op::Appropriate {
            year: y,
            line: l,
            to,
            amount,
            legal_ref,
        } => vec![
            (t.f_year, year(y)),
            (t.f_line, line(l)),
            (t.f_to, e(to)),
            (t.f_amount, ctx.amount(*amount)),
            (t.f_legal_ref, signed(legal_ref)),
        ],
        Op::Allocate {
            year: y,
            line: l,
            to,
            amount,
        } => vec![
            (t.f_year, year(y)),
            (t.f_line, line(l)),
            (t.f_to, e(to)),
            (t.f_amount, ctx.amount(*amount)),
        ],
        Op::ReturnFunds {
            year: y,
            line: l,
            amount,
        } => vec![
            (t.f_year, year(y)),
            (t.f_line, line(l)),
            (t.f_amount, ctx.amount(*amount)),
        ],
        Op::Award {
            contract,
            year: y,
            line: l,
            vendor,
            amount,
            title,
            document_hash,
        } => vec![
            (t.f_contract, ctx.contract_link(contract)),
            (t.f_year, year(y)),
            (t.f_line, line(l)),
            (t.f_vendor, e(vendor)),
            (t.f_amount, ctx.amount(*amount)),
            (t.f_title, signed(title)),
            (t.f_document_hash, doc_hash(document_hash)),
        ],
        Op::AmendContract {
            contract,
            amount,
            reason,
            document_hash,
        } => vec![
            (t.f_contract, ctx.contract_link(contract)),
            (t.f_amount, ctx.amount(*amount)),
            (t.f_reason, signed(reason)),
            (t.f_document_hash, doc_hash(document_hash)),
        ],
        Op::Pay {
            contract,
            amount,
            reference,
            document_hash,
        } => {
            let vendor = state.contract(contract).map(|c| c.vendor.clone());
            vec![
                (t.f_contract, ctx.contract_link(contract)),
                (t.f_vendor, vendor.as_ref().map_or_else(|| text("—"), e)),
                (t.f_amount, ctx.amount(*amount)),
                (t.f_reference, signed(reference)),
                (t.f_document_hash, doc_hash(document_hash)),
            ]
        }
        Op::ConfirmDelivery {
            contract,
            milestone,
            note,
        } => vec![
            (t.f_contract, ctx.contract_link(contract)),
            (t.f_milestone, signed(milestone)),
            (t.f_note, signed(note)),
        ],
        Op::AddValidator {
            name,
            consensus_key,
            peer_id,
            power,
        } => vec![
            (t.f_name, signed(name)),
            (t.f_consensus_key, hex(consensus_key.to_hex())),
            (t.f_peer_id, hex(peer_id.to_string())),
            (t.f_power, text(&ctx.number(*power))),
        ],
        Op::RemoveValidator { consensus_key } => {
            vec![(t.f_consensus_key, hex(consensus_key.to_hex()))]
        }
        Op::RegisterNode { peer_id, operator } => vec![
            (t.f_peer_id, hex(peer_id.to_string())),
            (t.f_operator, e(operator)),
        ],
        Op::RemoveNode { peer_id } => vec![(t.f_peer_id, hex(peer_id.to_string()))],
    }
}

/// A list of labelled fields.
pub fn field_list(rows: Vec<(&'static str, Markup)>) -> Markup {
    html! {
        dl.fields {
            @for (label, value) in rows {
                dt { (label) }
                dd { (value) }
            }
        }
    }
}

/// A link to a transaction whose text is the block height it is in.
fn at_block(ctx: &Ctx, tx: &Hash, height: Height) -> Markup {
    html! { a href=(ctx.href(&format!("/txs/{}", tx.to_hex()))) { (ctx.number(height.0)) } }
}

/// One flag: its title and its one-sentence explanation with links.
pub fn flag(ctx: &Ctx, state: &State, params: &FlagParams, f: &Flag) -> Markup {
    let t = ctx.t;
    let e = |id: &EntityId| entity(ctx, state, id);
    let (title, sentence, extra) = match f {
        Flag::PaidWithoutDelivery {
            contract,
            first_payment,
            paid_at,
            paid,
            blocks_since,
            ..
        } => (
            t.flag_paid_without_delivery,
            fill(
                t.flag_paid_without_delivery_text,
                &[
                    ctx.contract_link(contract),
                    at_block(ctx, first_payment, *paid_at),
                    ctx.amount(*paid),
                    text(&ctx.number(*blocks_since)),
                ],
            ),
            None,
        ),
        Flag::UnderThreshold {
            department,
            vendor,
            awards,
        } => (
            t.flag_under_threshold,
            fill(
                t.flag_under_threshold_text,
                &[
                    e(department),
                    text(&ctx.number(awards.len() as u64)),
                    e(vendor),
                    ctx.amount(params.award_threshold),
                    text(&params.under_threshold_pct.to_string()),
                ],
            ),
            Some(html! {
                @for (i, a) in awards.iter().enumerate() {
                    @if i > 0 { ", " }
                    (ctx.contract_link(&a.contract)) " (" (ctx.amount(a.amount)) ")"
                }
            }),
        ),
        Flag::VendorShare {
            ministry,
            year,
            vendor,
            vendor_amount,
            ministry_amount,
            ..
        } => (
            t.flag_vendor_share,
            fill(
                t.flag_vendor_share_text,
                &[
                    e(vendor),
                    ctx.amount(*vendor_amount),
                    ctx.amount(*ministry_amount),
                    e(ministry),
                    text(&year.to_string()),
                    text(&ctx.percent(vendor_amount.0, ministry_amount.0)),
                ],
            ),
            None,
        ),
        Flag::TreasuryRotatedKey {
            entity: who,
            signer,
            tx,
            height,
        } => (
            t.flag_treasury_rotation,
            fill(
                t.flag_treasury_rotation_text,
                &[e(who), e(signer), at_block(ctx, tx, *height)],
            ),
            // The change this flag names, while it waits: the entity can
            // still cancel it.
            state
                .entity(who)
                .and_then(|x| x.pending.as_ref())
                .filter(|p| p.set_at == *height)
                .map(|p| {
                    fill(
                        t.flag_rotation_pending,
                        &[text(&ctx.number(p.effective.0)), e(who)],
                    )
                }),
        ),
        Flag::AmendedUpward {
            contract,
            department,
            from,
            to,
            tx,
            height,
            ..
        } => (
            t.flag_amended_upward,
            fill(
                t.flag_amended_upward_text,
                &[
                    ctx.contract_link(contract),
                    e(department),
                    ctx.amount(*from),
                    ctx.amount(*to),
                    ctx.amount(ledger::Amount(to.0.saturating_sub(from.0))),
                    at_block(ctx, tx, *height),
                ],
            ),
            None,
        ),
        Flag::UnacknowledgedPayment {
            contract,
            department,
            vendor,
            amount,
            tx,
            paid_at,
            blocks_since,
            ..
        } => (
            t.flag_unacknowledged,
            fill(
                t.flag_unacknowledged_text,
                &[
                    e(department),
                    ctx.amount(*amount),
                    e(vendor),
                    ctx.contract_link(contract),
                    at_block(ctx, tx, *paid_at),
                    text(&ctx.number(*blocks_since)),
                ],
            ),
            None,
        ),
    };
    let href = ctx.href(&format!("/flags/{}", f.id()));
    html! {
        li id=(f.id()) {
            b { a href=(href) { (title) } } br;
            (sentence)
            @if let Some(x) = extra { br; span.muted { (x) } }
        }
    }
}

/// A list of flags, or the sentence that there are none.
pub fn flag_list<'a>(
    ctx: &Ctx,
    state: &State,
    params: &FlagParams,
    flags: impl Iterator<Item = &'a Flag>,
) -> Markup {
    let items: Vec<Markup> = flags.map(|f| flag(ctx, state, params, f)).collect();
    html! {
        @if items.is_empty() {
            p { (ctx.t.flags_none) }
        } @else {
            ul.flags { @for i in items { (i) } }
        }
    }
}

/// Keys as a list of hex strings, one per line.
pub fn key_list(keys: &[ledger::PublicKey]) -> Markup {
    html! {
        @for k in keys {
            span.hash { (k.to_hex()) } br;
        }
    }
}
