//! Every word the explorer shows, in Vietnamese (the default) and English.
//!
//! Each language is one [`Strings`] table. A table is a struct with one
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
    home_title, home_intro, updated_at, no_blocks_yet,
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
    flag_treasury_rotation, flag_treasury_rotation_text,
    flag_amended_upward, flag_amended_upward_text,
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
    say_register_entity, say_set_status, say_rotate_key, say_appropriate, say_allocate,
    say_return_funds, say_award, say_amend_contract, say_pay, say_confirm_delivery,
    say_add_validator, say_remove_validator, say_register_node, say_remove_node,
    f_year, f_line, f_amount, f_to, f_legal_ref, f_contract, f_vendor, f_title,
    f_document_hash, f_reference, f_milestone, f_note, f_public_key, f_entity, f_name,
    f_kind, f_parent, f_power, f_peer_id, f_operator, f_id, f_consensus_key,
    kind_treasury, kind_ministry, kind_department, kind_vendor, kind_observer,
    status_active, status_suspended,
    details_heading, budget_lines_heading, no_budget_lines, vendor_received_note,
    departments_heading, contracts_awarded, contracts_won, no_contracts, only_first,
    history_heading, no_history, next_page, first_page,
    contract_title, f_department, f_amount_now, f_paid, f_remaining, f_awarded_in,
    payments_section, amendments_section, deliveries_section, history_partial,
    related_flags, col_from, col_to, col_reason, col_reference, col_milestone, col_note,
    col_tx,
    validators_title, validators_intro, next_set_heading, total_power,
    evidence_title, evidence_intro, evidence_none, col_recorded_in, col_offence,
    col_vote_type, col_values, vote_prevote, vote_precommit, nil, height_round,
    search_title, search_results, search_entities, search_contracts, search_nothing,
    search_help, search_too_long, search_empty,
    not_found_title, not_found_text, no_block, no_tx, no_entity, no_contract,
    bad_request_title, bad_hash, bad_height, bad_id, bad_cursor, error_title,
    error_text, back_home, too_many, none,
}

/// Tiếng Việt.
pub static VI: Strings = Strings {
    site_name: "Minh Bạch",
    tagline: "Sổ cái công khai của chi tiêu công",
    nav_home: "Trang chủ",
    nav_flags: "Dấu hiệu bất thường",
    nav_validators: "Nút xác thực",
    nav_evidence: "Bằng chứng vi phạm",
    nav_api: "API JSON",
    search_label: "Tìm kiếm",
    search_placeholder: "Mã giao dịch, số khối, tên hoặc mã đơn vị, mã hợp đồng…",
    search_button: "Tìm",
    other_language: "English",
    footer_chain: "Chuỗi {0}",
    footer_genesis: "Tệp khởi tạo (genesis.json)",
    footer_readonly: "Trang chỉ đọc: mọi con số lấy thẳng từ bản sổ cái của nút này.",
    home_title: "Theo dõi ngân sách nhà nước",
    home_intro: "Mỗi đồng đi từ Bộ Tài chính đến các bộ, đơn vị chi tiêu và nhà cung cấp đều được ghi vào một sổ cái có chữ ký, không ai lặng lẽ sửa được.",
    updated_at: "Dữ liệu đến khối {0}, lúc {1}.",
    no_blocks_yet: "Chưa có khối nào được ghi.",
    budget_heading: "Ngân sách năm {0} theo bộ",
    no_appropriations: "Chưa có khoản cấp ngân sách nào.",
    budget_note: "«Được cấp» và «đã phân bổ» là số của bộ; «đã ký hợp đồng» và «đã thanh toán» là tổng của các đơn vị trực thuộc. Tỷ lệ giải ngân = đã thanh toán ÷ được cấp.",
    col_ministry: "Bộ",
    col_received: "Được cấp",
    col_passed_on: "Đã phân bổ",
    col_committed: "Đã ký hợp đồng",
    col_paid: "Đã thanh toán",
    col_executed: "Tỷ lệ giải ngân",
    col_available: "Còn lại",
    col_year: "Năm",
    col_line: "Dòng ngân sách",
    total: "Tổng",
    payments_heading: "Các khoản thanh toán mới nhất",
    no_payments: "Chưa có khoản thanh toán nào.",
    col_time: "Thời điểm",
    col_block: "Khối",
    col_payer: "Đơn vị trả",
    col_vendor: "Nhà cung cấp",
    col_amount: "Số tiền",
    col_contract: "Hợp đồng",
    col_title: "Nội dung",
    vendors_heading: "Nhà cung cấp nhận nhiều tiền nhất năm {0}",
    col_rank: "Hạng",
    col_contracts: "Số hợp đồng",
    verify_heading: "Tự kiểm chứng",
    verify_intro: "Không cần tin trang này. Tải gói kiểm toán của một giao dịch rồi kiểm tra nó ngoại tuyến với tệp khởi tạo của chuỗi bằng công cụ dòng lệnh minhbach:",
    verify_genesis: "Tải tệp khởi tạo genesis.json",
    verify_outcome: "Lệnh thứ hai kiểm tra đường dẫn Merkle, tiêu đề khối, chữ ký của các nút xác thực và mọi thay đổi tập nút xác thực kể từ khởi tạo, không cần mạng; mã thoát 0 nghĩa là hợp lệ.",
    flags_title: "Dấu hiệu cần xem xét",
    flags_intro: "Tính tự động từ chính dữ liệu của sổ cái. Một dấu hiệu không phải là kết luận có sai phạm: đó là chỗ nên đặt câu hỏi.",
    flags_none: "Không có dấu hiệu bất thường nào.",
    flags_all: "Xem tất cả {0} dấu hiệu",
    flags_window: "Tính trên toàn bộ lịch sử, đến khối {0}. Mỗi dấu hiệu có trang riêng với mã cố định; tải về: {1}.",
    flag_gone: "Dấu hiệu {0} không còn đứng ở khối {1}: điều đã làm nên nó đã được giải quyết, hoặc nó chưa từng có.",
    flag_id: "Mã",
    flag_csv: "bảng CSV",
    flow_heading: "Tiền đã đi đâu năm {0}",
    flow_note: "Độ rộng mỗi dải tỉ lệ với số tiền: ngân sách giao cho các bộ, các bộ phân bổ cho đơn vị, đơn vị thanh toán cho nhà cung cấp. Bấm vào một dải hay một tên để mở trang của nó; các khoản nhỏ gộp thành «khác».",
    glance_heading: "Năm {0} qua hình",
    follow_feed: "Theo dõi bằng trình đọc tin (Atom)",
    no_such_page: "Không có trang {0}.",
    flags_rules: "Ngưỡng: đã thanh toán mà chưa bàn giao sau {0} khối; hợp đồng thấp hơn ngưỡng {1} không quá {2}%, từ {3} lần trở lên; một nhà cung cấp chiếm trên {4}% giá trị hợp đồng của một bộ trong năm (khi bộ có từ {5} hợp đồng).",
    flag_paid_without_delivery: "Đã thanh toán nhưng chưa bàn giao",
    flag_paid_without_delivery_text: "Hợp đồng {0} được thanh toán lần đầu ở khối {1} (tổng đã trả {2}); {3} khối sau vẫn chưa có xác nhận bàn giao nào.",
    flag_under_threshold: "Hợp đồng sát ngưỡng, lặp lại",
    flag_under_threshold_text: "{0} đã trao {1} hợp đồng cho {2}, mỗi hợp đồng chỉ thấp hơn ngưỡng {3} không quá {4}%: có thể là chia nhỏ gói thầu.",
    flag_vendor_share: "Một nhà cung cấp chiếm phần lớn",
    flag_vendor_share_text: "{0} nhận {1} trong tổng {2} mà các đơn vị của {3} đã ký hợp đồng năm {4} ({5}).",
    flag_treasury_rotation: "Khóa bị Bộ Tài chính thay",
    flag_treasury_rotation_text: "Khóa ký của {0} được thay bởi {1} chứ không phải bởi chính {0}, ở khối {2}: ai giữ khóa mới thì ký thay được {0}.",
    flag_amended_upward: "Hợp đồng được điều chỉnh tăng",
    flag_amended_upward_text: "Hợp đồng {0} của {1} được nâng từ {2} lên {3} (thêm {4}) ở khối {5}.",
    block_title: "Khối {0}",
    f_hash: "Mã băm",
    f_chain: "Mã chuỗi",
    f_height: "Độ cao",
    f_time: "Thời điểm",
    f_prev: "Khối trước",
    f_tx_count: "Số giao dịch",
    f_txs_root: "Gốc Merkle của giao dịch",
    f_state_root: "Gốc trạng thái",
    f_last_commit_hash: "Băm chứng nhận của khối trước",
    f_evidence_hash: "Băm bằng chứng",
    f_validators_hash: "Băm tập nút xác thực",
    f_next_validators_hash: "Băm tập nút xác thực kế tiếp",
    f_proposer: "Nút đề xuất",
    txs_heading: "Giao dịch",
    no_txs: "Khối này không có giao dịch.",
    col_index: "#",
    col_hash: "Mã băm",
    col_signer: "Người ký",
    col_operation: "Thao tác",
    col_summary: "Nội dung",
    evidence_heading: "Bằng chứng vi phạm",
    commit_heading: "Chữ ký xác nhận khối này",
    commit_round: "Quyết định ở vòng {0}.",
    commit_power: "Quyền biểu quyết đã ký: {0} trên tổng {1}.",
    no_commit: "Chưa có chứng nhận cho khối này.",
    witnesses_heading: "Nhân chứng bên ngoài",
    witnesses_cosigned: "Các nhân chứng bên ngoài sau đã đồng ký khối này hoặc một điểm kiểm tra về sau, theo những gì nút này nhận được:",
    witnesses_none: "Chưa có nhân chứng bên ngoài nào đồng ký khối này.",
    witness_up_to: "đã đồng ký đến khối {0}",
    col_validator: "Nút xác thực",
    col_power: "Quyền biểu quyết",
    col_signature: "Chữ ký",
    col_share: "Tỷ lệ",
    col_name: "Tên",
    col_key: "Khóa đồng thuận",
    col_peer_id: "Mã nút (peer id)",
    prev_block: "← Khối trước",
    next_block: "Khối sau →",
    as_json: "Dữ liệu JSON",
    tx_title: "Giao dịch",
    f_status: "Trạng thái",
    status_committed: "Đã ghi vào khối",
    status_pending: "Đang chờ",
    status_rejected: "Bị từ chối",
    f_signer: "Người ký",
    f_nonce: "Số thứ tự (nonce)",
    f_block: "Khối",
    f_position: "Vị trí trong khối",
    f_operation: "Thao tác",
    f_reason: "Lý do",
    pending_note: "Giao dịch đang chờ trong bộ nhớ đệm của nút này, chưa nằm trong khối nào.",
    proof_heading: "Kiểm chứng giao dịch này",
    proof_download: "Tải gói kiểm toán (JSON)",
    proof_cli: "Hoặc tạo và kiểm tra gói bằng dòng lệnh:",
    op_register_entity: "Đăng ký tổ chức",
    op_set_status: "Đổi trạng thái",
    op_rotate_key: "Thay khóa ký",
    op_appropriate: "Cấp ngân sách",
    op_allocate: "Phân bổ",
    op_return_funds: "Hoàn trả ngân sách",
    op_award: "Trao hợp đồng",
    op_amend_contract: "Điều chỉnh hợp đồng",
    op_pay: "Thanh toán",
    op_confirm_delivery: "Xác nhận bàn giao",
    op_add_validator: "Thêm nút xác thực",
    op_remove_validator: "Bỏ nút xác thực",
    op_register_node: "Cho phép nút kết nối",
    op_remove_node: "Thu hồi nút",
    say_register_entity: "{0} đăng ký {1} {2}: {3}.",
    say_set_status: "{0} chuyển {1} sang trạng thái «{2}».",
    say_rotate_key: "{0} thay khóa ký của {1}.",
    say_appropriate: "{0} cấp {1} cho {2} (năm {3}, dòng {4}) theo {5}.",
    say_allocate: "{0} phân bổ {1} cho {2} (năm {3}, dòng {4}).",
    say_return_funds: "{0} hoàn trả {1} chưa dùng cho {2} (năm {3}, dòng {4}).",
    say_award: "{0} trao hợp đồng {1} «{2}» trị giá {3} cho {4}.",
    say_amend_contract: "{0} điều chỉnh giá trị hợp đồng {1} thành {2}. Lý do: {3}",
    say_pay: "{0} trả {1} cho {2} theo hợp đồng {3} (chứng từ {4}).",
    say_confirm_delivery: "{0} xác nhận bàn giao «{1}» của hợp đồng {2}.",
    say_add_validator: "{0} thêm nút xác thực {1} với quyền biểu quyết {2}.",
    say_remove_validator: "{0} bỏ nút xác thực có khóa {1}.",
    say_register_node: "{0} cho phép nút {1} của {2} kết nối.",
    say_remove_node: "{0} thu hồi quyền kết nối của nút {1}.",
    f_year: "Năm ngân sách",
    f_line: "Dòng ngân sách",
    f_amount: "Số tiền",
    f_to: "Bên nhận",
    f_legal_ref: "Căn cứ pháp lý",
    f_contract: "Hợp đồng",
    f_vendor: "Nhà cung cấp",
    f_title: "Nội dung",
    f_document_hash: "Băm tài liệu (SHA-256)",
    f_reference: "Chứng từ",
    f_milestone: "Mốc bàn giao",
    f_note: "Ghi chú",
    f_public_key: "Khóa công khai",
    f_entity: "Tổ chức",
    f_name: "Tên",
    f_kind: "Loại",
    f_parent: "Trực thuộc",
    f_power: "Quyền biểu quyết",
    f_peer_id: "Mã nút (peer id)",
    f_operator: "Đơn vị vận hành",
    f_id: "Mã",
    f_consensus_key: "Khóa đồng thuận",
    kind_treasury: "Bộ Tài chính (ngân khố)",
    kind_ministry: "Bộ",
    kind_department: "Đơn vị chi tiêu",
    kind_vendor: "Nhà cung cấp",
    kind_observer: "Cơ quan giám sát",
    status_active: "Đang hoạt động",
    status_suspended: "Bị đình chỉ",
    details_heading: "Thông tin",
    budget_lines_heading: "Các dòng ngân sách",
    no_budget_lines: "Chưa có dòng ngân sách nào.",
    vendor_received_note: "Với nhà cung cấp, «được cấp» là số tiền đã được thanh toán.",
    departments_heading: "Đơn vị trực thuộc",
    contracts_awarded: "Hợp đồng đã trao",
    contracts_won: "Hợp đồng được trao",
    no_contracts: "Không có hợp đồng nào.",
    only_first: "Chỉ hiện {0} mục đầu tiên.",
    history_heading: "Lịch sử giao dịch",
    no_history: "Chưa có giao dịch nào.",
    next_page: "Trang sau →",
    first_page: "← Trang đầu",
    contract_title: "Hợp đồng {0}",
    f_department: "Đơn vị trao",
    f_amount_now: "Giá trị hiện tại",
    f_paid: "Đã thanh toán",
    f_remaining: "Còn phải trả",
    f_awarded_in: "Trao ở khối",
    payments_section: "Các lần thanh toán",
    amendments_section: "Các lần điều chỉnh",
    deliveries_section: "Bàn giao",
    history_partial: "Chỉ hiện các giao dịch từ khối {0}; các giao dịch cũ hơn có trong lịch sử của {1}.",
    related_flags: "Dấu hiệu liên quan",
    col_from: "Từ",
    col_to: "Thành",
    col_reason: "Lý do",
    col_reference: "Chứng từ",
    col_milestone: "Mốc bàn giao",
    col_note: "Ghi chú",
    col_tx: "Giao dịch",
    validators_title: "Các nút xác thực",
    validators_intro: "Tập nút xác thực quyết định khối {0}. Một khối cần chữ ký của hơn 2/3 tổng quyền biểu quyết.",
    next_set_heading: "Tập kế tiếp, từ khối {0}",
    total_power: "Tổng quyền biểu quyết: {0}.",
    evidence_title: "Bằng chứng vi phạm của nút xác thực",
    evidence_intro: "Nút xác thực nào ký hai phiếu khác nhau trong cùng một vòng sẽ bị ghi lại ở đây, kèm hai phiếu có chữ ký làm bằng chứng.",
    evidence_none: "Chưa có bằng chứng vi phạm nào được ghi.",
    col_recorded_in: "Ghi ở khối",
    col_offence: "Vi phạm ở",
    col_vote_type: "Loại phiếu",
    col_values: "Hai giá trị đã ký",
    vote_prevote: "Phiếu sơ bộ (prevote)",
    vote_precommit: "Phiếu chốt (precommit)",
    nil: "rỗng (nil)",
    height_round: "khối {0}, vòng {1}",
    search_title: "Tìm kiếm",
    search_results: "Kết quả cho «{0}»",
    search_entities: "Tổ chức",
    search_contracts: "Hợp đồng",
    search_nothing: "Không tìm thấy gì cho «{0}».",
    search_help: "Hãy thử: mã băm giao dịch (64 ký tự hex), số khối, mã tổ chức như BYT, mã hợp đồng, hoặc một phần tên như «bach mai» (có dấu hay không dấu đều được).",
    search_too_long: "Từ khóa dài quá {0} ký tự.",
    search_empty: "Nhập từ khóa để tìm.",
    not_found_title: "Không tìm thấy",
    not_found_text: "Không có trang nào ở địa chỉ này.",
    no_block: "Chưa có khối {0}.",
    no_tx: "Nút này không biết giao dịch {0}.",
    no_entity: "Không có tổ chức {0}.",
    no_contract: "Không có hợp đồng {0}.",
    bad_request_title: "Yêu cầu không hợp lệ",
    bad_hash: "«{0}» không phải mã băm gồm 64 chữ số hex.",
    bad_height: "«{0}» không phải số khối.",
    bad_id: "«{0}» không phải mã hợp lệ (chữ in hoa, số, dấu chấm, gạch ngang, gạch dưới).",
    bad_cursor: "«{0}» không phải vị trí trang hợp lệ.",
    error_title: "Có lỗi",
    error_text: "Nút không đọc được dữ liệu: {0}",
    back_home: "Về trang chủ",
    too_many: "Quá nhiều yêu cầu, vui lòng thử lại sau {0} giây.",
    none: "Không có.",
};

/// English.
pub static EN: Strings = Strings {
    site_name: "Minh Bạch",
    tagline: "The open ledger of public spending",
    nav_home: "Home",
    nav_flags: "Red flags",
    nav_validators: "Validators",
    nav_evidence: "Evidence",
    nav_api: "JSON API",
    search_label: "Search",
    search_placeholder: "Transaction hash, block height, entity name or id, contract id…",
    search_button: "Search",
    other_language: "Tiếng Việt",
    footer_chain: "Chain {0}",
    footer_genesis: "Genesis file (genesis.json)",
    footer_readonly: "Read-only: every figure comes straight from this node's copy of the ledger.",
    home_title: "Follow the public money",
    home_intro: "Every đồng that goes from the finance ministry to ministries, spending units and vendors is recorded in a signed ledger that nobody can quietly rewrite.",
    updated_at: "Data as of block {0}, {1}.",
    no_blocks_yet: "No block has been committed yet.",
    budget_heading: "Budget {0} by ministry",
    no_appropriations: "No budget has been appropriated yet.",
    budget_note: "Received and passed on are the ministry's own figures; committed and paid add up its departments. % executed = paid ÷ received.",
    col_ministry: "Ministry",
    col_received: "Received",
    col_passed_on: "Passed on",
    col_committed: "Committed",
    col_paid: "Paid",
    col_executed: "% executed",
    col_available: "Available",
    col_year: "Year",
    col_line: "Budget line",
    total: "Total",
    payments_heading: "Latest payments",
    no_payments: "No payment yet.",
    col_time: "When",
    col_block: "Block",
    col_payer: "Paid by",
    col_vendor: "Vendor",
    col_amount: "Amount",
    col_contract: "Contract",
    col_title: "For",
    vendors_heading: "Top vendors by amount received, {0}",
    col_rank: "Rank",
    col_contracts: "Contracts",
    verify_heading: "Verify it yourself",
    verify_intro: "You need not trust this page. Download a transaction's audit bundle and check it offline against the chain's genesis file with the minhbach command-line tool:",
    verify_genesis: "Download the genesis file, genesis.json",
    verify_outcome: "The second command checks the Merkle path, the block header, the validators' signatures and every validator-set change since genesis, with no network; exit code 0 means valid.",
    flags_title: "Red flags",
    flags_intro: "Computed from the ledger's own data. A flag is not a finding of wrongdoing: it is a place to ask questions.",
    flags_none: "No red flag is raised.",
    flags_all: "See all {0} flags",
    flags_window: "Computed over the whole history, up to block {0}. Each flag has its own page with a stable id; download: {1}.",
    flag_gone: "Flag {0} does not stand at block {1}: what raised it has been resolved, or it never stood.",
    flag_id: "Id",
    flag_csv: "CSV table",
    flow_heading: "Where the money went in {0}",
    flow_note: "Each band is as wide as its amount: the budget given to ministries, passed on to their departments, and paid to vendors. Click a band or a name to open its page; small flows are grouped as “others”.",
    glance_heading: "{0} at a glance",
    follow_feed: "Follow in a feed reader (Atom)",
    no_such_page: "There is no page {0}.",
    flags_rules: "Thresholds: paid with nothing delivered after {0} blocks; awards at most {2}% under the {1} threshold, {3} times or more; a vendor holding over {4}% of what a ministry committed in a year (once the ministry has {5} contracts).",
    flag_paid_without_delivery: "Paid, nothing delivered",
    flag_paid_without_delivery_text: "Contract {0} was first paid in block {1} ({2} paid in all); {3} blocks later no delivery has been confirmed.",
    flag_under_threshold: "Repeated awards just under a threshold",
    flag_under_threshold_text: "{0} awarded {1} contracts to {2}, each at most {4}% under the {3} threshold: possibly one purchase split in parts.",
    flag_vendor_share: "One vendor takes most of a ministry's spending",
    flag_vendor_share_text: "{0} holds {1} of the {2} that the departments of {3} committed in {4} ({5}).",
    flag_treasury_rotation: "Key replaced by the treasury",
    flag_treasury_rotation_text: "The signing key of {0} was replaced by {1}, not by {0} itself, in block {2}: whoever holds the new key can sign as {0}.",
    flag_amended_upward: "Contract amended upward",
    flag_amended_upward_text: "Contract {0} of {1} went from {2} to {3} (+{4}) in block {5}.",
    block_title: "Block {0}",
    f_hash: "Hash",
    f_chain: "Chain id",
    f_height: "Height",
    f_time: "Time",
    f_prev: "Previous block",
    f_tx_count: "Transactions",
    f_txs_root: "Transactions root",
    f_state_root: "State root",
    f_last_commit_hash: "Previous block's commit hash",
    f_evidence_hash: "Evidence hash",
    f_validators_hash: "Validator set hash",
    f_next_validators_hash: "Next validator set hash",
    f_proposer: "Proposer",
    txs_heading: "Transactions",
    no_txs: "This block has no transactions.",
    col_index: "#",
    col_hash: "Hash",
    col_signer: "Signer",
    col_operation: "Operation",
    col_summary: "What",
    evidence_heading: "Evidence",
    commit_heading: "Signatures committing this block",
    commit_round: "Decided in round {0}.",
    commit_power: "Voting power that signed: {0} of {1}.",
    no_commit: "No certificate for this block yet.",
    witnesses_heading: "Outside witnesses",
    witnesses_cosigned: "These outside witnesses have cosigned this block or a later checkpoint, as far as this node has heard:",
    witnesses_none: "No outside witness has cosigned this block yet.",
    witness_up_to: "cosigned up to block {0}",
    col_validator: "Validator",
    col_power: "Voting power",
    col_signature: "Signature",
    col_share: "Share",
    col_name: "Name",
    col_key: "Consensus key",
    col_peer_id: "Peer id",
    prev_block: "← Previous block",
    next_block: "Next block →",
    as_json: "As JSON",
    tx_title: "Transaction",
    f_status: "Status",
    status_committed: "Committed",
    status_pending: "Pending",
    status_rejected: "Rejected",
    f_signer: "Signer",
    f_nonce: "Nonce",
    f_block: "Block",
    f_position: "Position in block",
    f_operation: "Operation",
    f_reason: "Reason",
    pending_note: "The transaction waits in this node's mempool; it is in no block yet.",
    proof_heading: "Verify this transaction",
    proof_download: "Download the audit bundle (JSON)",
    proof_cli: "Or make and check the bundle from the command line:",
    op_register_entity: "Register entity",
    op_set_status: "Set status",
    op_rotate_key: "Rotate key",
    op_appropriate: "Appropriate",
    op_allocate: "Allocate",
    op_return_funds: "Return funds",
    op_award: "Award contract",
    op_amend_contract: "Amend contract",
    op_pay: "Pay",
    op_confirm_delivery: "Confirm delivery",
    op_add_validator: "Add validator",
    op_remove_validator: "Remove validator",
    op_register_node: "Register node",
    op_remove_node: "Remove node",
    say_register_entity: "{0} registered {1} {2}: {3}.",
    say_set_status: "{0} set the status of {1} to “{2}”.",
    say_rotate_key: "{0} replaced the signing key of {1}.",
    say_appropriate: "{0} appropriated {1} to {2} (year {3}, line {4}) under {5}.",
    say_allocate: "{0} passed {1} on to {2} (year {3}, line {4}).",
    say_return_funds: "{0} returned {1} unspent to {2} (year {3}, line {4}).",
    say_award: "{0} awarded contract {1}, “{2}”, worth {3} to {4}.",
    say_amend_contract: "{0} changed the amount of contract {1} to {2}. Reason: {3}",
    say_pay: "{0} paid {1} to {2} under contract {3} (reference {4}).",
    say_confirm_delivery: "{0} confirmed delivery of “{1}” under contract {2}.",
    say_add_validator: "{0} added validator {1} with voting power {2}.",
    say_remove_validator: "{0} removed the validator with key {1}.",
    say_register_node: "{0} let node {1}, run by {2}, connect.",
    say_remove_node: "{0} revoked node {1}.",
    f_year: "Fiscal year",
    f_line: "Budget line",
    f_amount: "Amount",
    f_to: "Recipient",
    f_legal_ref: "Legal reference",
    f_contract: "Contract",
    f_vendor: "Vendor",
    f_title: "Title",
    f_document_hash: "Document hash (SHA-256)",
    f_reference: "Reference",
    f_milestone: "Milestone",
    f_note: "Note",
    f_public_key: "Public key",
    f_entity: "Entity",
    f_name: "Name",
    f_kind: "Kind",
    f_parent: "Part of",
    f_power: "Voting power",
    f_peer_id: "Peer id",
    f_operator: "Operator",
    f_id: "Id",
    f_consensus_key: "Consensus key",
    kind_treasury: "Treasury (finance ministry)",
    kind_ministry: "Ministry",
    kind_department: "Department",
    kind_vendor: "Vendor",
    kind_observer: "Observer",
    status_active: "Active",
    status_suspended: "Suspended",
    details_heading: "Details",
    budget_lines_heading: "Budget lines",
    no_budget_lines: "No budget line yet.",
    vendor_received_note: "For a vendor, “received” is what it has been paid.",
    departments_heading: "Departments",
    contracts_awarded: "Contracts awarded",
    contracts_won: "Contracts won",
    no_contracts: "No contracts.",
    only_first: "Only the first {0} are shown.",
    history_heading: "Transaction history",
    no_history: "No transactions yet.",
    next_page: "Next page →",
    first_page: "← First page",
    contract_title: "Contract {0}",
    f_department: "Awarded by",
    f_amount_now: "Current amount",
    f_paid: "Paid",
    f_remaining: "Still to pay",
    f_awarded_in: "Awarded in block",
    payments_section: "Payments",
    amendments_section: "Amendments",
    deliveries_section: "Deliveries",
    history_partial: "Only the transactions from block {0} on are listed; older ones are in the history of {1}.",
    related_flags: "Related red flags",
    col_from: "From",
    col_to: "To",
    col_reason: "Reason",
    col_reference: "Reference",
    col_milestone: "Milestone",
    col_note: "Note",
    col_tx: "Transaction",
    validators_title: "Validators",
    validators_intro: "The set that decides block {0}. A block needs signatures from more than 2/3 of the voting power.",
    next_set_heading: "Next set, from block {0}",
    total_power: "Total voting power: {0}.",
    evidence_title: "Validator misbehaviour evidence",
    evidence_intro: "A validator that signs two different votes in one round is recorded here, with both signed votes as proof.",
    evidence_none: "No evidence has been committed.",
    col_recorded_in: "Recorded in block",
    col_offence: "Offence at",
    col_vote_type: "Vote",
    col_values: "The two values signed",
    vote_prevote: "Prevote",
    vote_precommit: "Precommit",
    nil: "nil",
    height_round: "height {0}, round {1}",
    search_title: "Search",
    search_results: "Results for “{0}”",
    search_entities: "Entities",
    search_contracts: "Contracts",
    search_nothing: "Nothing matches “{0}”.",
    search_help: "Try a transaction hash (64 hex digits), a block height, an entity id such as BYT, a contract id, or part of a name such as “bach mai” (with or without Vietnamese accents).",
    search_too_long: "The query is longer than {0} characters.",
    search_empty: "Type something to search for.",
    not_found_title: "Not found",
    not_found_text: "There is no page at this address.",
    no_block: "There is no block {0} yet.",
    no_tx: "This node does not know transaction {0}.",
    no_entity: "There is no entity {0}.",
    no_contract: "There is no contract {0}.",
    bad_request_title: "Bad request",
    bad_hash: "“{0}” is not a hash of 64 hex digits.",
    bad_height: "“{0}” is not a block height.",
    bad_id: "“{0}” is not a valid id (capital letters, digits, dots, dashes and underscores).",
    bad_cursor: "“{0}” is not a valid page position.",
    error_title: "Something went wrong",
    error_text: "The node could not read its data: {0}",
    back_home: "Back to the home page",
    too_many: "Too many requests; please try again in {0} seconds.",
    none: "None.",
};

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The `{n}` placeholders of a text.
    fn placeholders(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    out.insert(after[..close].to_owned());
                    rest = &after[close + 1..];
                }
                None => {
                    out.insert(format!("unclosed in {text:?}"));
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn every_key_has_text_in_both_languages_with_the_same_placeholders() {
        let vi = VI.entries();
        let en = EN.entries();
        assert_eq!(vi.len(), en.len());
        for ((key, v), (key_en, e)) in vi.iter().zip(&en) {
            assert_eq!(key, key_en);
            assert!(!v.trim().is_empty(), "Vietnamese text for {key} is empty");
            assert!(!e.trim().is_empty(), "English text for {key} is empty");
            let (pv, pe) = (placeholders(v), placeholders(e));
            assert_eq!(pv, pe, "{key}: placeholders differ between vi and en");
            for p in &pv {
                assert!(
                    p.parse::<usize>().is_ok_and(|n| n < 10),
                    "{key}: placeholder {{{p}}} is not {{0}}…{{9}}"
                );
            }
        }
    }

    #[test]
    fn the_vietnamese_table_is_written_in_vietnamese() {
        // A table copied from the other language would pass the check above;
        // the sentences a reader sees first must differ.
        for (key, v) in VI.entries() {
            let e = EN.entries().into_iter().find(|(k, _)| *k == key).unwrap().1;
            let shared = ["site_name", "col_index", "nav_api"];
            if !shared.contains(&key) && v.chars().any(char::is_alphabetic) {
                assert_ne!(v, e, "{key} is the same in both languages");
            }
        }
    }

    #[test]
    fn the_query_wins_then_the_header_then_vietnamese() {
        assert_eq!(Lang::negotiate(Some("en"), Some("vi")), (Lang::En, true));
        assert_eq!(
            Lang::negotiate(Some("xx"), Some("en-GB")),
            (Lang::En, false)
        );
        assert_eq!(Lang::negotiate(None, None), (Lang::Vi, false));
        assert_eq!(
            Lang::negotiate(None, Some("fr-FR, en;q=0.8, vi;q=0.9")),
            (Lang::Vi, false)
        );
        assert_eq!(
            Lang::negotiate(None, Some("en-US,en;q=0.9,vi;q=0.5")),
            (Lang::En, false)
        );
        assert_eq!(Lang::negotiate(None, Some("de, fr")), (Lang::Vi, false));
        assert_eq!(Lang::negotiate(None, Some("en;q=0")), (Lang::Vi, false));
    }
}
