//! The devnet's story: a made-up but believable slice of the Vietnamese
//! public sector, as data only.
//!
//! Bộ Tài chính is the treasury. Four ministries receive yearly budget lines;
//! their hospitals, universities and agencies (departments) buy from vendors,
//! which are invented companies: no real firm is shown winning contracts it
//! never signed. Ids follow the ledger's `[A-Z0-9][A-Z0-9._-]{1,63}` and the
//! Vietnamese abbreviations (`BYT` for Bộ Y tế, `BYT-BVBM` for its Bạch Mai
//! hospital). Amounts are in đồng (VND has no minor unit).
//!
//! This module decides nothing about keys, nodes or pacing: the network
//! generator adds keys, and the demo feed (in `cli`) turns the budget lines
//! and purchases into transactions.

use ledger::tx::EntityKind;
use ledger::EntityId;

use crate::EntityTemplate;

/// The devnet's chain id.
pub const CHAIN_ID: &str = "minhbach-devnet";

/// The treasury's id.
pub const TREASURY: &str = "BTC";

/// One tỷ đồng (a billion), the unit public budgets are quoted in.
pub const BILLION_VND: u64 = 1_000_000_000;

/// The State Treasury's expenditure control office, which co-signs large
/// payments and awards (kiểm soát chi).
pub const CONTROLLER: &str = "KBNN";

/// Payments and awards of this many đồng or more, by any ministry's
/// department, also need the controller's signature.
pub const CONTROL_FROM_VND: u64 = 50 * BILLION_VND;

/// The treasury's officials: how many keys it holds, and how many of them
/// sign each of its decisions.
pub const TREASURY_KEYS: (u8, u8) = (3, 2);

/// Blocks the treasury's change of another entity's keys waits, so that the
/// entity sees it coming and can cancel it.
pub const ROTATION_DELAY_BLOCKS: u64 = 100;

/// An entity of the story.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoryEntity {
    /// Id.
    pub id: &'static str,
    /// Kind.
    pub kind: EntityKind,
    /// Display name, in Vietnamese.
    pub name: &'static str,
    /// A department's ministry.
    pub parent: Option<&'static str>,
}

/// A ministry's yearly budget line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoryLine {
    /// The ministry that receives it.
    pub ministry: &'static str,
    /// The line code.
    pub code: &'static str,
    /// What it pays for.
    pub title: &'static str,
    /// What the treasury appropriates to it each year, in đồng.
    pub yearly_vnd: u64,
}

/// Something a department buys, again and again, from one vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoryPurchase {
    /// The buying department.
    pub department: &'static str,
    /// The budget line it is paid from (a line of the department's ministry).
    pub line: &'static str,
    /// The contract title.
    pub title: &'static str,
    /// The vendor that wins it.
    pub vendor: &'static str,
    /// Smallest contract amount, in đồng.
    pub min_vnd: u64,
    /// Largest contract amount, in đồng.
    pub max_vnd: u64,
}

const fn entity(
    id: &'static str,
    kind: EntityKind,
    name: &'static str,
    parent: Option<&'static str>,
) -> StoryEntity {
    StoryEntity {
        id,
        kind,
        name,
        parent,
    }
}

const fn ministry(id: &'static str, name: &'static str) -> StoryEntity {
    entity(id, EntityKind::Ministry, name, None)
}

const fn department(id: &'static str, name: &'static str, parent: &'static str) -> StoryEntity {
    entity(id, EntityKind::Department, name, Some(parent))
}

const fn vendor(id: &'static str, name: &'static str) -> StoryEntity {
    entity(id, EntityKind::Vendor, name, None)
}

/// Every entity, in genesis order: treasury, ministries, departments,
/// vendors, observers, the expenditure controller.
pub const ENTITIES: &[StoryEntity] = &[
    entity(TREASURY, EntityKind::Treasury, "Bộ Tài chính", None),
    ministry("BYT", "Bộ Y tế"),
    ministry("BGDDT", "Bộ Giáo dục và Đào tạo"),
    ministry("BGTVT", "Bộ Giao thông Vận tải"),
    ministry("BTTTT", "Bộ Thông tin và Truyền thông"),
    department("BYT-BVBM", "Bệnh viện Bạch Mai", "BYT"),
    department("BYT-BVCR", "Bệnh viện Chợ Rẫy", "BYT"),
    department("BYT-BVTWH", "Bệnh viện Trung ương Huế", "BYT"),
    department("BYT-BVNTW", "Bệnh viện Nhi Trung ương", "BYT"),
    department("BGDDT-DHBK", "Trường Đại học Bách khoa Hà Nội", "BGDDT"),
    department("BGDDT-DHSP", "Trường Đại học Sư phạm Hà Nội", "BGDDT"),
    department("BGDDT-DHKTQD", "Trường Đại học Kinh tế Quốc dân", "BGDDT"),
    department("BGTVT-CDB", "Cục Đường bộ Việt Nam", "BGTVT"),
    department("BGTVT-CHH", "Cục Hàng hải Việt Nam", "BGTVT"),
    department("BGTVT-BQLTL", "Ban Quản lý dự án Thăng Long", "BGTVT"),
    department("BTTTT-CATTT", "Cục An toàn thông tin", "BTTTT"),
    department("BTTTT-CCDS", "Cục Chuyển đổi số quốc gia", "BTTTT"),
    vendor("V-0001", "Công ty TNHH Thiết bị Y tế Sông Hồng"),
    vendor("V-0002", "Công ty Cổ phần Dược phẩm Trường Sơn"),
    vendor("V-0003", "Công ty Cổ phần Xây dựng Công trình Đông Đô"),
    vendor("V-0004", "Công ty Cổ phần Cầu đường Miền Trung"),
    vendor("V-0005", "Công ty TNHH Giải pháp Phần mềm Lạc Hồng"),
    vendor("V-0006", "Công ty Cổ phần Thiết bị Giáo dục Ánh Dương"),
    vendor(
        "V-0007",
        "Công ty Cổ phần Tư vấn Thiết kế Giao thông Phương Nam",
    ),
    vendor("V-0008", "Công ty TNHH Vật tư Y tế Hải Vân"),
    vendor("V-0009", "Công ty Cổ phần Hạ tầng Viễn thông Đông Dương"),
    vendor("V-0010", "Công ty TNHH Nội thất Trường học Hòa An"),
    vendor("V-0011", "Công ty Cổ phần Nạo vét Đường thủy Bạch Đằng"),
    vendor("V-0012", "Công ty TNHH An ninh Mạng Bảo Tín"),
    entity("KTNN", EntityKind::Observer, "Kiểm toán Nhà nước", None),
    entity(
        CONTROLLER,
        EntityKind::Controller,
        "Kho bạc Nhà nước – Kiểm soát chi",
        None,
    ),
];

const B: u64 = BILLION_VND;

/// The ministries' budget lines: for each, capital investment (`DTPT`, đầu tư
/// phát triển) and recurrent spending (`TX`, chi thường xuyên).
pub const LINES: &[StoryLine] = &[
    StoryLine {
        ministry: "BYT",
        code: "YTE.DTPT",
        title: "Y tế – đầu tư phát triển",
        yearly_vnd: 3_600 * B,
    },
    StoryLine {
        ministry: "BYT",
        code: "YTE.TX",
        title: "Y tế – chi thường xuyên",
        yearly_vnd: 1_500 * B,
    },
    StoryLine {
        ministry: "BGDDT",
        code: "GD.DTPT",
        title: "Giáo dục và đào tạo – đầu tư phát triển",
        yearly_vnd: 2_100 * B,
    },
    StoryLine {
        ministry: "BGDDT",
        code: "GD.TX",
        title: "Giáo dục và đào tạo – chi thường xuyên",
        yearly_vnd: 600 * B,
    },
    StoryLine {
        ministry: "BGTVT",
        code: "GT.DTPT",
        title: "Giao thông – đầu tư phát triển",
        yearly_vnd: 7_200 * B,
    },
    StoryLine {
        ministry: "BGTVT",
        code: "GT.TX",
        title: "Giao thông – chi thường xuyên (duy tu, bảo dưỡng)",
        yearly_vnd: 1_800 * B,
    },
    StoryLine {
        ministry: "BTTTT",
        code: "TT.DTPT",
        title: "Thông tin và truyền thông – đầu tư phát triển",
        yearly_vnd: 1_200 * B,
    },
    StoryLine {
        ministry: "BTTTT",
        code: "TT.TX",
        title: "Thông tin và truyền thông – chi thường xuyên",
        yearly_vnd: 300 * B,
    },
];

const fn buy(
    department: &'static str,
    line: &'static str,
    title: &'static str,
    vendor: &'static str,
    min_billion: u64,
    max_billion: u64,
) -> StoryPurchase {
    StoryPurchase {
        department,
        line,
        title,
        vendor,
        min_vnd: min_billion * B,
        max_vnd: max_billion * B,
    }
}

/// What each department buys, on which line, from whom, and for how much
/// (in tỷ đồng: smallest and largest contract).
#[rustfmt::skip]
pub const PURCHASES: &[StoryPurchase] = &[
    buy("BYT-BVBM", "YTE.DTPT", "Mua sắm hệ thống chụp cộng hưởng từ (MRI) 3 Tesla", "V-0001", 35, 60),
    buy("BYT-BVBM", "YTE.DTPT", "Cải tạo khu điều trị tích cực, tòa nhà P", "V-0003", 20, 45),
    buy("BYT-BVBM", "YTE.TX", "Cung ứng thuốc điều trị ung thư, gói thầu theo quý", "V-0002", 8, 20),
    buy("BYT-BVBM", "YTE.TX", "Vật tư tiêu hao phòng mổ", "V-0008", 2, 6),
    buy("BYT-BVCR", "YTE.DTPT", "Mua sắm máy chụp cắt lớp vi tính (CT) 256 lát cắt", "V-0001", 25, 50),
    buy("BYT-BVCR", "YTE.DTPT", "Xây dựng khu khám bệnh mới, giai đoạn 1", "V-0003", 40, 80),
    buy("BYT-BVCR", "YTE.TX", "Cung ứng thuốc kháng sinh thế hệ mới", "V-0002", 6, 15),
    buy("BYT-BVCR", "YTE.TX", "Vật tư lọc máu và chạy thận nhân tạo", "V-0008", 3, 8),
    buy("BYT-BVTWH", "YTE.DTPT", "Hệ thống xạ trị gia tốc tuyến tính", "V-0001", 45, 90),
    buy("BYT-BVTWH", "YTE.TX", "Cung ứng vắc xin và sinh phẩm", "V-0002", 4, 10),
    buy("BYT-BVTWH", "YTE.TX", "Phần mềm bệnh án điện tử", "V-0005", 3, 9),
    buy("BYT-BVNTW", "YTE.DTPT", "Lồng ấp sơ sinh và máy thở", "V-0001", 12, 30),
    buy("BYT-BVNTW", "YTE.DTPT", "Cải tạo khoa Sơ sinh", "V-0003", 15, 35),
    buy("BYT-BVNTW", "YTE.TX", "Cung ứng thuốc nhi khoa", "V-0002", 3, 8),
    buy("BGDDT-DHBK", "GD.DTPT", "Thiết bị phòng thí nghiệm vi mạch bán dẫn", "V-0006", 30, 70),
    buy("BGDDT-DHBK", "GD.DTPT", "Xây dựng ký túc xá sinh viên, khu B", "V-0003", 40, 90),
    buy("BGDDT-DHBK", "GD.TX", "Hệ thống quản lý đào tạo trực tuyến", "V-0005", 3, 8),
    buy("BGDDT-DHBK", "GD.TX", "Bàn ghế giảng đường", "V-0010", 1, 3),
    buy("BGDDT-DHSP", "GD.DTPT", "Thiết bị phòng học thông minh", "V-0006", 10, 25),
    buy("BGDDT-DHSP", "GD.TX", "Nội thất thư viện", "V-0010", 1, 4),
    buy("BGDDT-DHSP", "GD.TX", "Học liệu số cho giáo viên phổ thông", "V-0005", 2, 5),
    buy("BGDDT-DHKTQD", "GD.DTPT", "Cải tạo hội trường lớn", "V-0003", 15, 35),
    buy("BGDDT-DHKTQD", "GD.TX", "Nền tảng dữ liệu học tập", "V-0005", 2, 6),
    buy("BGDDT-DHKTQD", "GD.TX", "Bàn ghế phòng học", "V-0010", 1, 3),
    buy("BGTVT-CDB", "GT.DTPT", "Cải tạo mặt đường Quốc lộ 1, đoạn Km 245 – Km 262", "V-0004", 120, 260),
    buy("BGTVT-CDB", "GT.DTPT", "Tư vấn giám sát nâng cấp Quốc lộ 14", "V-0007", 10, 25),
    buy("BGTVT-CDB", "GT.TX", "Hệ thống camera giám sát giao thông", "V-0009", 15, 40),
    buy("BGTVT-CDB", "GT.TX", "Duy tu, bảo dưỡng cầu trên Quốc lộ 1", "V-0004", 20, 45),
    buy("BGTVT-CHH", "GT.DTPT", "Nạo vét luồng hàng hải Hải Phòng", "V-0011", 80, 180),
    buy("BGTVT-CHH", "GT.DTPT", "Tư vấn khảo sát luồng Cái Mép – Thị Vải", "V-0007", 8, 20),
    buy("BGTVT-CHH", "GT.TX", "Thay thế phao tiêu báo hiệu hàng hải", "V-0011", 10, 25),
    buy("BGTVT-BQLTL", "GT.DTPT", "Thi công cầu vượt nút giao Vành đai 3", "V-0004", 150, 320),
    buy("BGTVT-BQLTL", "GT.DTPT", "Tư vấn thiết kế kỹ thuật nút giao", "V-0007", 10, 30),
    buy("BGTVT-BQLTL", "GT.TX", "Xây dựng trạm thu phí không dừng", "V-0003", 15, 35),
    buy("BTTTT-CATTT", "TT.DTPT", "Trung tâm giám sát an ninh mạng (SOC)", "V-0012", 40, 90),
    buy("BTTTT-CATTT", "TT.TX", "Đánh giá an toàn hệ thống thông tin", "V-0012", 2, 6),
    buy("BTTTT-CATTT", "TT.DTPT", "Hạ tầng máy chủ dự phòng", "V-0009", 20, 45),
    buy("BTTTT-CCDS", "TT.DTPT", "Nền tảng định danh điện tử", "V-0005", 30, 70),
    buy("BTTTT-CCDS", "TT.DTPT", "Hạ tầng điện toán đám mây Chính phủ", "V-0009", 50, 110),
    buy("BTTTT-CCDS", "TT.TX", "Đào tạo kỹ năng số cho cán bộ, công chức", "V-0005", 2, 5),
];

fn id(s: &str) -> EntityId {
    EntityId::new(s).expect("story ids follow the id pattern (checked by the tests)")
}

/// The story's entities as genesis templates, in genesis order.
pub fn entities() -> Vec<EntityTemplate> {
    ENTITIES
        .iter()
        .map(|e| EntityTemplate {
            id: id(e.id),
            kind: e.kind,
            name: e.name.to_owned(),
            parent: e.parent.map(id),
        })
        .collect()
}

/// The story entity with this id.
pub fn find(id: &str) -> Option<&'static StoryEntity> {
    ENTITIES.iter().find(|e| e.id == id)
}

/// The display name of a story entity, or the id itself if it is not one.
pub fn name_of(id: &str) -> &str {
    find(id).map_or(id, |e| e.name)
}

/// The story's genesis with every key derived from its label by
/// [`ledger::testkit::key`] (entities by id, one validator `validator-0`),
/// for tests that need the story without key files.
#[cfg(feature = "testkit")]
pub fn test_genesis() -> crate::Genesis {
    let v = ledger::testkit::key("validator-0").public_key();
    crate::Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: ledger::testkit::GENESIS_TIME_MS,
        currency: crate::Currency::default(),
        entities: entities()
            .iter()
            .map(|t| t.with_key(ledger::testkit::key(t.id.as_str()).public_key()))
            .collect(),
        validators: vec![ledger::Validator {
            name: "validator-0".into(),
            consensus_key: v,
            peer_id: ledger::PeerId::from_ed25519(&v).expect("a generated key is valid"),
            power: 10,
        }],
        nodes: Vec::new(),
        rotation_delay: crate::ROTATION_DELAY_DEFAULT,
        control: Vec::new(),
    }
}
