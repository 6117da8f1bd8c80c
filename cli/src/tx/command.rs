//! The subcommands of `minhbach tx` that make a transaction: one per
//! operation of SPEC §2, with one flag per field of the operation, and how
//! each becomes the signer's flags and the operation they sign.

use clap::Subcommand;
use ledger::tx::Op;
use ledger::{Amount, ContractId, EntityId, LineCode, PeerId, PublicKey, Year};

use super::parse::{
    parse_amount, parse_contract_id, parse_entity_id, parse_line, parse_peer_id, parse_public_key,
    parse_year,
};
use super::{DocumentArgs, KindArg, SignArgs, StatusArg};

/// One subcommand per operation of SPEC §2, one flag per field.
#[derive(Subcommand, Clone, Debug)]
pub enum OpCommand {
    /// Treasury: add a ministry, department, vendor, observer or expenditure
    /// controller.
    RegisterEntity {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The new entity's id, e.g. V-0042.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        id: EntityId,
        /// What it is.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Display name, in UTF-8 ("Bộ Y tế").
        #[arg(long)]
        name: String,
        /// The ministry of a department.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        parent: Option<EntityId>,
        /// One of its ed25519 public keys (64 hex digits); repeat for an
        /// entity of several keys (at most 16).
        #[arg(long, value_name = "HEX", value_parser = parse_public_key, required = true)]
        public_key: Vec<PublicKey>,
        /// How many of its keys must sign its transactions.
        #[arg(long, value_name = "K", default_value = "1")]
        threshold: u8,
    },
    /// Treasury: suspend or reactivate an entity.
    SetStatus {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The entity.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        entity: EntityId,
        /// Its new status.
        #[arg(long, value_enum)]
        status: StatusArg,
    },
    /// Treasury or the entity itself: replace the entity's keys with one key.
    RotateKey {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The entity.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        entity: EntityId,
        /// Its new ed25519 public key (64 hex digits).
        #[arg(long, value_name = "HEX", value_parser = parse_public_key)]
        public_key: PublicKey,
    },
    /// Treasury or the entity itself: replace the entity's keys and how many
    /// of them must sign. Signed by the entity it takes effect at once;
    /// signed by the treasury for another entity it waits the chain's
    /// rotation delay, and the entity may cancel it meanwhile.
    SetKeys {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The entity.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        entity: EntityId,
        /// One of its new ed25519 public keys (64 hex digits); repeat for
        /// each key (at most 16).
        #[arg(long, value_name = "HEX", value_parser = parse_public_key, required = true)]
        public_key: Vec<PublicKey>,
        /// How many of the new keys must sign its transactions.
        #[arg(long, value_name = "K")]
        threshold: u8,
    },
    /// The entity itself or the treasury: drop a pending change of the
    /// entity's keys before it takes effect.
    CancelKeys {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The entity.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        entity: EntityId,
    },
    /// Treasury: require an expenditure controller's signature on payments
    /// and awards from an amount, for one ministry or for all.
    SetControl {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The ministry (its departments' payments and awards); without it,
        /// the rule of every ministry that has no rule of its own.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        ministry: Option<EntityId>,
        /// Payments and awards of this amount or more need the controller,
        /// in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// The controller entity (kind controller) that must co-sign.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        controller: EntityId,
    },
    /// Treasury: remove the control rule of a ministry, or (without
    /// --ministry) the rule of all ministries.
    RemoveControl {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The ministry; without it, the rule of all ministries.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        ministry: Option<EntityId>,
    },
    /// Treasury: close a fiscal year; its budget lines are final.
    CloseYear {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The fiscal year.
        #[arg(long, value_parser = parse_year)]
        year: Year,
    },
    /// Treasury: schedule a protocol upgrade. Blocks from HEIGHT on carry
    /// VERSION; nodes that do not run it stop cleanly before HEIGHT.
    ScheduleUpgrade {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The first height of the new version.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        height: u64,
        /// The protocol version (more than the one in force).
        #[arg(long, value_parser = clap::value_parser!(u32).range(2..))]
        version: u32,
    },
    /// Vendor: acknowledge that it received one of a contract's payments.
    AcknowledgePayment {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The contract.
        #[arg(long, value_name = "ID", value_parser = parse_contract_id)]
        contract: ContractId,
        /// Which payment of the contract: 0 for its first.
        #[arg(long, value_name = "N")]
        payment: u32,
    },
    /// Treasury: give a ministry budget under a legal reference.
    Appropriate {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Fiscal year, e.g. 2026.
        #[arg(long, value_parser = parse_year)]
        year: Year,
        /// Budget line, e.g. 0402-HEALTH-INFRA.
        #[arg(long, value_name = "CODE", value_parser = parse_line)]
        line: LineCode,
        /// The receiving ministry.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        to: EntityId,
        /// Amount in minor units (whole đồng): 1000000, 1.000.000 or 1,000,000.
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// The decision that grants it, e.g. "Nghị quyết 104/2025/QH15".
        #[arg(long, value_name = "TEXT")]
        legal_ref: String,
    },
    /// Ministry: pass budget to one of its departments.
    Allocate {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Fiscal year.
        #[arg(long, value_parser = parse_year)]
        year: Year,
        /// Budget line.
        #[arg(long, value_name = "CODE", value_parser = parse_line)]
        line: LineCode,
        /// The receiving department.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        to: EntityId,
        /// Amount in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
    },
    /// Department or ministry: give unspent budget back to its parent.
    ReturnFunds {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Fiscal year.
        #[arg(long, value_parser = parse_year)]
        year: Year,
        /// Budget line.
        #[arg(long, value_name = "CODE", value_parser = parse_line)]
        line: LineCode,
        /// Amount in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
    },
    /// Department: commit budget to a contract with a vendor.
    Award {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The new contract's id, e.g. C-17.
        #[arg(long, value_name = "ID", value_parser = parse_contract_id)]
        contract: ContractId,
        /// Fiscal year.
        #[arg(long, value_parser = parse_year)]
        year: Year,
        /// Budget line.
        #[arg(long, value_name = "CODE", value_parser = parse_line)]
        line: LineCode,
        /// The vendor.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        vendor: EntityId,
        /// Contract amount in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// What is bought.
        #[arg(long, value_name = "TEXT")]
        title: String,
        /// The document, by hash or by file.
        #[command(flatten)]
        document: DocumentArgs,
    },
    /// Awarding department: change a contract's amount.
    AmendContract {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The contract.
        #[arg(long, value_name = "ID", value_parser = parse_contract_id)]
        contract: ContractId,
        /// The new amount in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// The document, by hash or by file.
        #[command(flatten)]
        document: DocumentArgs,
    },
    /// Awarding department: pay a contract's vendor.
    Pay {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The contract.
        #[arg(long, value_name = "ID", value_parser = parse_contract_id)]
        contract: ContractId,
        /// Amount paid in minor units (whole đồng).
        #[arg(long, value_parser = parse_amount)]
        amount: Amount,
        /// Invoice or payment order reference.
        #[arg(long, value_name = "TEXT")]
        reference: String,
        /// The document, by hash or by file.
        #[command(flatten)]
        document: DocumentArgs,
    },
    /// Awarding department: record a delivery.
    ConfirmDelivery {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The contract.
        #[arg(long, value_name = "ID", value_parser = parse_contract_id)]
        contract: ContractId,
        /// Milestone name.
        #[arg(long, value_name = "TEXT")]
        milestone: String,
        /// A free note.
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
    },
    /// Treasury: add a validator.
    AddValidator {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Its consensus key (64 hex digits).
        #[arg(long, value_name = "HEX", value_parser = parse_public_key)]
        consensus_key: PublicKey,
        /// The libp2p peer id of its node (12D3KooW...).
        #[arg(long, value_name = "PEER", value_parser = parse_peer_id)]
        peer_id: PeerId,
        /// Voting power.
        #[arg(long)]
        power: u64,
    },
    /// Treasury: remove a validator.
    RemoveValidator {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// Its consensus key (64 hex digits).
        #[arg(long, value_name = "HEX", value_parser = parse_public_key)]
        consensus_key: PublicKey,
    },
    /// Treasury: let a full node of an entity connect.
    RegisterNode {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The node's libp2p peer id (12D3KooW...).
        #[arg(long, value_name = "PEER", value_parser = parse_peer_id)]
        peer_id: PeerId,
        /// The entity that runs it.
        #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
        operator: EntityId,
    },
    /// Treasury: revoke a full node.
    RemoveNode {
        /// Who signs, and how to submit.
        #[command(flatten)]
        sign: SignArgs,
        /// The node's libp2p peer id.
        #[arg(long, value_name = "PEER", value_parser = parse_peer_id)]
        peer_id: PeerId,
    },
}

impl OpCommand {
    /// Splits the command into who signs and what they sign.
    pub fn into_parts(self) -> (SignArgs, Op) {
        match self {
            OpCommand::RegisterEntity {
                sign,
                id,
                kind,
                name,
                parent,
                public_key,
                threshold,
            } => (
                sign,
                Op::RegisterEntity {
                    id,
                    kind: kind.into(),
                    name,
                    parent,
                    keys: public_key,
                    threshold,
                },
            ),
            OpCommand::SetStatus {
                sign,
                entity,
                status,
            } => (
                sign,
                Op::SetStatus {
                    entity,
                    status: status.into(),
                },
            ),
            OpCommand::RotateKey {
                sign,
                entity,
                public_key,
            } => (sign, Op::RotateKey { entity, public_key }),
            OpCommand::SetKeys {
                sign,
                entity,
                public_key,
                threshold,
            } => (
                sign,
                Op::SetKeys {
                    entity,
                    keys: public_key,
                    threshold,
                },
            ),
            OpCommand::CancelKeys { sign, entity } => (sign, Op::CancelKeys { entity }),
            OpCommand::SetControl {
                sign,
                ministry,
                amount,
                controller,
            } => (
                sign,
                Op::SetControl {
                    ministry,
                    amount,
                    controller,
                },
            ),
            OpCommand::RemoveControl { sign, ministry } => (sign, Op::RemoveControl { ministry }),
            OpCommand::CloseYear { sign, year } => (sign, Op::CloseYear { year }),
            OpCommand::ScheduleUpgrade {
                sign,
                height,
                version,
            } => (
                sign,
                Op::ScheduleUpgrade {
                    height: ledger::Height(height),
                    version,
                },
            ),
            OpCommand::AcknowledgePayment {
                sign,
                contract,
                payment,
            } => (sign, Op::AcknowledgePayment { contract, payment }),
            OpCommand::Appropriate {
                sign,
                year,
                line,
                to,
                amount,
                legal_ref,
            } => (
                sign,
                Op::Appropriate {
                    year,
                    line,
                    to,
                    amount,
                    legal_ref,
                },
            ),
            OpCommand::Allocate {
                sign,
                year,
                line,
                to,
                amount,
            } => (
                sign,
                Op::Allocate {
                    year,
                    line,
                    to,
                    amount,
                },
            ),
            OpCommand::ReturnFunds {
                sign,
                year,
                line,
                amount,
            } => (sign, Op::ReturnFunds { year, line, amount }),
            OpCommand::Award {
                sign,
                contract,
                year,
                line,
                vendor,
                amount,
                title,
                document,
            } => (
                sign,
                Op::Award {
                    contract,
                    year,
                    line,
                    vendor,
                    amount,
                    title,
                    document_hash: document.hash(),
                },
            ),
            OpCommand::AmendContract {
                sign,
                contract,
                amount,
                reason,
                document,
            } => (
                sign,
                Op::AmendContract {
                    contract,
                    amount,
                    reason,
                    document_hash: document.hash(),
                },
            ),
            OpCommand::Pay {
                sign,
                contract,
                amount,
                reference,
                document,
            } => (
                sign,
                Op::Pay {
                    contract,
                    amount,
                    reference,
                    document_hash: document.hash(),
                },
            ),
            OpCommand::ConfirmDelivery {
                sign,
                contract,
                milestone,
                note,
            } => (
                sign,
                Op::ConfirmDelivery {
                    contract,
                    milestone,
                    note,
                },
            ),
            OpCommand::AddValidator {
                sign,
                name,
                consensus_key,
                peer_id,
                power,
            } => (
                sign,
                Op::AddValidator {
                    name,
                    consensus_key,
                    peer_id,
                    power,
                },
            ),
            OpCommand::RemoveValidator {
                sign,
                consensus_key,
            } => (sign, Op::RemoveValidator { consensus_key }),
            OpCommand::RegisterNode {
                sign,
                peer_id,
                operator,
            } => (sign, Op::RegisterNode { peer_id, operator }),
            OpCommand::RemoveNode { sign, peer_id } => (sign, Op::RemoveNode { peer_id }),
        }
    }
}
