//! Every word the explorer shows, in Vietnamese (the default) and English.
//!
//! Each language is one [`Strings`] table, in a file of its own ([`VI`] in
//! `i18n/vi.rs`, [`EN`] in `i18n/en.rs`). A table is a struct with one
//! field per key, so a key missing from either language does not compile;
//! the tests check what the compiler cannot: no text is empty, and both
//! languages use the same `{0}`, `{1}`, … placeholders in each sentence.
//!
//! How the reader's language is chosen lives here too: `?lang=vi|en` first,
//! then the `Accept-Language` header, then Vietnamese.

/// A language the explorer speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Tiếng Việt, the default.
    Vi,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 code, for `<html lang>` and `?lang=`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch link.
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// This language's table.
    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::Vi => &VI,
            Lang::En => &EN,
        }
    }

    /// `vi` or `en` (any case, with or without a region), else `None`.
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next().unwrap_or("").trim();
        if primary.eq_ignore_ascii_case("vi") {
            Some(Lang::Vi)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The reader's language from `?lang=` (which wins, and is then carried
    /// on every link) or else `Accept-Language`. Returns the language and
    /// whether the query chose it.
    pub fn negotiate(query_lang: Option<&str>, accept_language: Option<&str>) -> (Lang, bool) {
        if let Some(lang) = query_lang.and_then(Lang::parse) {
            return (lang, true);
        }
        (
            accept_language.map_or(Lang::Vi, from_accept_language),
            false,
        )
    }
}

/// The supported language the `Accept-Language` header prefers most;
/// Vietnamese when it names neither. Ties go to the one listed first.
fn from_accept_language(header: &str) -> Lang {
    let mut best: Option<(u32, Lang)> = None;
    // Bounded: a header with thousands of entries is read only so far.
    for item in header.split(',').take(32) {
        let mut parts = item.split(';');
        let Some(lang) = parts.next().and_then(Lang::parse) else {
            continue;
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        // Thousandths, so the comparison is on integers.
        let q = (q.clamp(0.0, 1.0) * 1000.0) as u32;
        if q > 0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::Vi, |(_, l)| l)
}

/// Declares [`Strings`] with one `&'static str` field per key, and
/// [`Strings::entries`] to list them.
macro_rules! strings {
    ($($key:ident),* $(,)?) => {
        /// One language's UI strings. `{0}`, `{1}`, … are filled in by the
        /// page (see [`super::layout::fill`]).
        #[allow(missing_docs)]
        pub struct Strings {
            $(pub $key: &'static str,)*
        }

        impl Strings {
            /// Every key with its text, in declaration order.
            pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($key), self.$key)),*]
            }
        }
    };
}

strings! {
    site_name, tagline, nav_home, nav_flags, nav_validators, nav_evidence, nav_api,
    search_label, search_placeholder, search_button, other_language,
    footer_chain, footer_genesis, footer_readonly,
    home_title, home_intro, updated_at, no_blocks_yet, holds_from,
    budget_heading, no_appropriations, budget_note,
    col_ministry, col_received, col_passed_on, col_committed, col_paid, col_executed,
    col_available, col_year, col_line, total,
    payments_heading, no_payments, col_time, col_block, col_payer, col_vendor, col_amount,
    col_contract, col_title,
    vendors_heading, col_rank, col_contracts,
    verify_heading, verify_intro, verify_genesis, verify_outcome,
    flags_title, flags_intro, flags_none, flags_all, flags_window, flags_rules, flag_gone, flag_id,
    flag_csv, flow_heading, flow_note, glance_heading, follow_feed, no_such_page,
    flag_paid_without_delivery, flag_paid_without_delivery_text,
    flag_under_threshold, flag_under_threshold_text,
    flag_vendor_share, flag_vendor_share_text,
    flag_treasury_rotation, flag_treasury_rotation_text, flag_rotation_pending,
    flag_amended_upward, flag_amended_upward_text,
    flag_unacknowledged, flag_unacknowledged_text,
    block_title, f_hash, f_chain, f_height, f_time, f_prev, f_tx_count, f_txs_root,
    f_state_root, f_last_commit_hash, f_evidence_hash, f_validators_hash,
    f_next_validators_hash, f_proposer,
    txs_heading, no_txs, col_index, col_hash, col_signer, col_operation, col_summary,
    evidence_heading, commit_heading, commit_round, commit_power, no_commit,
    witnesses_heading, witnesses_cosigned, witnesses_none, witness_up_to,
    col_validator, col_power, col_signature, col_share, col_name, col_key, col_peer_id,
    prev_block, next_block, as_json,
    tx_title, f_status, status_committed, status_pending, status_rejected, f_signer,
    f_nonce, f_block, f_position, f_operation, f_reason, pending_note,
    proof_heading, proof_download, proof_cli,
    op_register_entity, op_set_status, op_rotate_key, op_appropriate, op_allocate,
    op_return_funds, op_award, op_amend_contract, op_pay, op_confirm_delivery,
    op_add_validator, op_remove_validator, op_register_node, op_remove_node,
    op_set_keys, op_cancel_keys, op_set_control, op_remove_control,
    say_set_keys, say_set_keys_pending, say_cancel_keys, say_set_control, say_set_control_all,
    say_remove_control, say_remove_control_all,
    f_keys, f_threshold, f_pending_keys, f_ministry, f_controller, all_ministries,
    pending_keys_text, kind_controller,
    op_close_year, op_acknowledge_payment, say_close_year, say_acknowledge_payment, f_payment,
    say_register_entity, say_set_status, say_rotate_key, say_appropriate, say_allocate,
    say_return_funds, say_award, say_amend_contract, say_pay, say_confirm_delivery,
    say_add_validator, say_remove_validator, say_register_node, say_remove_node,
    f_year, f_line, f_amount, f_to, f_legal_ref, f_contract, f_vendor, f_title,
    f_document_hash, f_reference, f_milestone, f_note, f_public_key, f_entity, f_name,
    f_kind, f_parent, f_power, f_peer_id, f_operator, f_id, f_consensus_key,
    kind_treasury, kind_ministry, kind_department, kind_vendor, kind_observer,
    status_active, status_suspended,
    details_heading, budget_lines_heading, no_budget_lines, vendor_received_note,
    col_proof, line_proof_link, line_proof_note,
    op_schedule_upgrade, say_schedule_upgrade, f_version,
    departments_heading, contracts_awarded, contracts_won, no_contracts, only_first,
    history_heading, no_history, next_page, first_page,
    contract_title, f_department, f_amount_now, f_paid, f_remaining, f_awarded_in,
    payments_section, amendments_section, deliveries_section, history_partial,
    related_flags, related_flags_more, col_from, col_to, col_reason, col_reference, col_milestone, col_note,
    col_tx,
    validators_title, validators_intro, next_set_heading, total_power,
    evidence_title, evidence_intro, evidence_none, col_recorded_in, col_offence,
    col_vote_type, col_values, vote_prevote, vote_precommit, nil, height_round,
    search_title, search_results, search_entities, search_contracts, search_nothing,
    search_help, search_too_long, search_empty,
    not_found_title, not_found_text, no_block, no_tx, no_entity, no_contract,
    bad_request_title, bad_hash, bad_height, bad_id, bad_cursor, error_title,
    error_text, back_home, too_many, none,
    year_title, year_final, year_open, year_empty, year_note, year_link, closed_years,
    col_entity, col_unspent, col_lapsed, bad_year,
    awaiting_title, awaiting_intro, awaiting_none, awaiting_home, awaiting_controller,
    awaiting_threshold, awaiting_cosign, col_since, col_waiting_for,
}

mod en;
mod vi;

pub use self::en::EN;
pub use self::vi::VI;

#[cfg(test)]
mod tests;
