//! The controller's side of a payment left with the node to gather
//! signatures: when its time comes, the controller signs the same body and
//! posts a transaction carrying only its own signatures to
//! `POST /v1/awaiting`; the node merges them with the department's and
//! submits the payment, which is then followed like any other.

use std::time::{Duration, Instant};

use super::{FeedRunner, Gathering, InFlight, Planned, RETRY_MS};
use crate::client::{ClientError, Offered};

/// Controller signatures posted per step, at most.
const COSIGNS_PER_STEP_MAX: usize = 8;

impl FeedRunner {
    /// Records a payment the node keeps while it waits for the controller,
    /// who signs at `due`.
    pub(super) fn gathering_started(
        &mut self,
        planned: Planned,
        nonce: u64,
        id: String,
        due: Instant,
    ) {
        self.stats.awaited += 1;
        let short = id.get(..10).unwrap_or(&id);
        eprintln!(
            "demo: {} [awaiting {}'s signature, id {short}]",
            planned.summary,
            planned.controller.as_ref().map_or("", |c| c.as_str()),
        );
        self.gathering.push(Gathering {
            planned,
            nonce,
            id,
            due,
        });
    }

    /// Posts the controller's signatures of the payments whose time has
    /// come.
    pub(super) fn cosign_due(&mut self, now: Instant) {
        for _ in 0..COSIGNS_PER_STEP_MAX {
            let Some(at) = self.gathering.iter().position(|g| g.due <= now) else {
                return;
            };
            let g = self.gathering.remove(at);
            self.cosign(g, now);
        }
    }

    fn cosign(&mut self, mut g: Gathering, now: Instant) {
        let controller = g.planned.controller.clone();
        let keys = controller.as_ref().and_then(|c| self.keys_of(c));
        let Some(keys) = keys else {
            let why = "no key files of the controller to co-sign with";
            self.unexpected(&g.planned, why);
            return;
        };
        let body = self.body(&g.planned, g.nonce);
        let mut result = self.client.offer(&body.clone().sign_all(&keys));
        if let Ok(Offered::Awaiting { .. }) = result {
            // The node no longer holds the department's signature (it was
            // restarted): both sign afresh.
            match self.signing_keys(&g.planned, true) {
                Some(all) => result = self.client.offer(&body.sign_all(&all)),
                None => {
                    self.unexpected(&g.planned, "not enough key files to sign again");
                    return;
                }
            }
        }
        match result {
            Ok(Offered::Submitted { hash }) => {
                self.unreachable = false;
                self.stats.cosigned += 1;
                let short = hash.get(..10).unwrap_or(&hash);
                let id = g.id.get(..10).unwrap_or(&g.id);
                eprintln!(
                    "demo: {} co-signs {id}, which is submitted [{short}]",
                    controller.as_ref().map_or("", |c| c.as_str())
                );
                self.in_flight.push_back(InFlight {
                    hash,
                    planned: g.planned,
                    submitted_at: now,
                });
            }
            Ok(Offered::Awaiting { code, message, .. }) => {
                let why = super::reason(&code, &message);
                self.unexpected(&g.planned, &format!("still waiting once co-signed: {why}"));
            }
            Err(ClientError::Rejected { code, .. }) if code == "mempool_full" => {
                g.due = now + Duration::from_millis(RETRY_MS);
                self.gathering.push(g);
            }
            Err(ClientError::Rejected { code, message, .. }) => {
                self.unexpected(&g.planned, &super::reason(&code, &message));
            }
            Err(e @ (ClientError::Unreachable { .. } | ClientError::Tls { .. })) => {
                if !self.unreachable {
                    eprintln!("demo: {e}; retrying");
                }
                self.unreachable = true;
                g.due = now + Duration::from_millis(RETRY_MS);
                self.gathering.push(g);
            }
        }
    }
}
