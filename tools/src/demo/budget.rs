//! The budget's side of the story: the treasury appropriating each
//! ministry's lines, the ministries allocating them to their departments
//! and topping them up, and the unspent money returned at the end of the
//! year.

use genesis::story::{self, StoryPurchase};
use ledger::tx::Op;
use ledger::{Amount, EntityId, Year};
use rand::Rng;

use super::{
    name, percent, round_down, vnd, Bookkeeping, Draft, Expect, Feed, Intent,
    FIRST_ALLOCATION_PERCENT, ROUND_VND, TOP_UP_PERCENT,
};

impl Feed {
    pub(super) fn draft_intent(&mut self, intent: Intent) -> Option<Draft> {
        let year = self.year;
        match intent {
            Intent::Appropriate { line } => {
                let l = &self.lines[line];
                let amount = Amount(l.story.yearly_vnd);
                let decision = self.rng.gen_range(1_500..2_600);
                Some(Draft {
                    signer: self.treasury.clone(),
                    summary: format!(
                        "{} appropriates {} to {} on {year}/{} ({})",
                        name(&self.treasury),
                        vnd(amount),
                        name(&l.ministry),
                        l.code,
                        l.story.title
                    ),
                    op: Op::Appropriate {
                        year,
                        line: l.code.clone(),
                        to: l.ministry.clone(),
                        amount,
                        legal_ref: format!(
                            "Quyết định {decision}/QĐ-TTg giao dự toán ngân sách nhà nước năm {year}"
                        ),
                    },
                    expect: Expect::Accepted,
                    then: Bookkeeping::Nothing,
                    after: None,
                    unapproved: false,
                })
            }
            Intent::Allocate { line, department } => {
                let l = &self.lines[line];
                let share = percent(l.story.yearly_vnd, FIRST_ALLOCATION_PERCENT) / l.departments;
                let amount = round_down(
                    share.min(self.available(&l.ministry, year, &l.code)),
                    story::BILLION_VND,
                );
                if amount == 0 {
                    return None;
                }
                let dept = &self.departments[department];
                Some(self.allocation(line, &dept.id.clone(), Amount(amount), "allocates"))
            }
            Intent::Return { entity, line, year } => {
                let l = &self.lines[line];
                let amount = Amount(self.available(&entity, year, &l.code));
                if amount == Amount::ZERO {
                    return None;
                }
                let to = if entity == l.ministry {
                    self.treasury.clone()
                } else {
                    l.ministry.clone()
                };
                Some(Draft {
                    summary: format!(
                        "{} returns the unspent {} of {year}/{} to {}",
                        name(&entity),
                        vnd(amount),
                        l.code,
                        name(&to)
                    ),
                    op: Op::ReturnFunds {
                        year,
                        line: l.code.clone(),
                        amount,
                    },
                    signer: entity,
                    expect: Expect::Accepted,
                    then: Bookkeeping::Nothing,
                    after: None,
                    unapproved: false,
                })
            }
            Intent::NextYear => {
                if let Ok(next) = Year::new(self.year.0 + 1) {
                    self.year = next;
                }
                self.open_year();
                None
            }
        }
    }

    pub(super) fn allocation(
        &self,
        line: usize,
        to: &EntityId,
        amount: Amount,
        verb: &str,
    ) -> Draft {
        let l = &self.lines[line];
        Draft {
            signer: l.ministry.clone(),
            summary: format!(
                "{} {verb} {} to {} on {}/{}",
                name(&l.ministry),
                vnd(amount),
                name(to),
                self.year,
                l.code
            ),
            op: Op::Allocate {
                year: self.year,
                line: l.code.clone(),
                to: to.clone(),
                amount,
            },
            expect: Expect::Accepted,
            then: Bookkeeping::Nothing,
            after: None,
            unapproved: false,
        }
    }

    /// A ministry tops up a department that can no longer award anything.
    pub(super) fn draft_top_up(&mut self, i: usize) -> Option<Draft> {
        let dept = &self.departments[i];
        for (l, line) in self.lines.iter().enumerate() {
            let on_line: Vec<&StoryPurchase> = dept
                .purchases
                .iter()
                .copied()
                .filter(|p| p.line == line.story.code)
                .collect();
            let (Some(min), Some(max)) = (
                on_line.iter().map(|p| p.min_vnd).min(),
                on_line.iter().map(|p| p.max_vnd).max(),
            ) else {
                continue;
            };
            let spare = self.available(&line.ministry, self.year, &line.code);
            if spare < min {
                continue;
            }
            let tranche = percent(line.story.yearly_vnd, TOP_UP_PERCENT) / line.departments;
            let amount = round_down(tranche.max(max).min(spare), ROUND_VND);
            return Some(self.allocation(l, &dept.id.clone(), Amount(amount), "tops up"));
        }
        None
    }
}
