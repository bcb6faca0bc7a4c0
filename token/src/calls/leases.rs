//! Leases of a share class's batteries: open (deposit into escrow), pay rent, extend, close,
//! default. Time comes only from the block context.
//!
//! Rent for a period is due at the period's start. A lease is in good standing while the first
//! unpaid period started less than `grace_ms` ago. The lessor cannot end or change a running
//! lease alone; only a default (rent overdue past the grace period) or the end of the term lets
//! it act. Leases name the class, not its holders, so they survive share transfers.

use crate::calls::batteries::{battery, class_batteries};
use crate::exec::{Cx, Outcome, ensure};
use crate::keys::{Battery, Duty, Key, Lease, LeaseStatus, ShareClass};
use volt_proto::sig::{self, PublicKey};
use volt_proto::{Amount, Asset, BatteryStatus, ErrorCode, Hash, LeaseTerms, Role, Signature};

fn lease(cx: &Cx<'_>, id: Hash) -> Outcome<Lease> {
    let record: Lease = cx.get(&Key::Lease(id))?.ok_or(ErrorCode::UnknownLease)?;
    ensure(record.status == LeaseStatus::Active, ErrorCode::LeaseNotActive)?;
    Ok(record)
}

fn cash_of(cx: &Cx<'_>, terms: &LeaseTerms) -> Outcome<Asset> {
    let class: ShareClass =
        cx.get(&Key::Class(terms.class.clone()))?.ok_or(ErrorCode::UnknownClass)?;
    let revenue = class.revenue.ok_or(ErrorCode::NoRevenue)?;
    Ok(Asset::Cash(revenue.currency))
}

/// Milliseconds from the lease start to the start of `period` (0-based).
fn period_start_ms(record: &Lease, period: u32) -> Outcome<u64> {
    let offset = record.terms.period_ms.checked_mul(u64::from(period));
    let offset = offset.ok_or(ErrorCode::Overflow)?;
    Ok(record.start.0.checked_add(offset).ok_or(ErrorCode::Overflow)?)
}

/// Periods whose rent is due by now: every period that has started, up to the term.
fn periods_due(cx: &Cx<'_>, record: &Lease) -> u32 {
    let elapsed = cx.ctx.time.0.saturating_sub(record.start.0);
    let started = elapsed / record.terms.period_ms + 1;
    u32::try_from(started).unwrap_or(u32::MAX).min(record.periods_total)
}

pub(crate) fn open(
    cx: &mut Cx<'_>,
    terms: &LeaseTerms,
    lessee_signature: &Signature,
) -> Outcome<()> {
    cx.require_role(&[Role::Operator])?;
    let valid_terms = terms.period_ms > 0 && terms.periods > 0;
    ensure(valid_terms, ErrorCode::OutOfRange)?;
    let class: ShareClass =
        cx.get(&Key::Class(terms.class.clone()))?.ok_or(ErrorCode::UnknownClass)?;
    let batteries = class_batteries(cx, &terms.class)?;
    ensure(class.battery_count > 0 && !batteries.is_empty(), ErrorCode::NoRevenue)?;
    let cash = cash_of(cx, terms)?;
    let id = terms.id();
    ensure(cx.get::<Lease>(&Key::Lease(id))?.is_none(), ErrorCode::AlreadyExists)?;
    let key = PublicKey::from_account(terms.lessee).map_err(|_| ErrorCode::BadLesseeSignature)?;
    sig::verify(&key, &terms.signing_message(cx.chain_id), lessee_signature)
        .map_err(|_| ErrorCode::BadLesseeSignature)?;
    cx.require_sender(terms.lessee)?;
    cx.require_receiver(terms.lessee)?;
    for serial in &batteries {
        let mut record: Battery = battery(cx, serial)?;
        ensure(record.status != BatteryStatus::Waste, ErrorCode::BatteryRetired)?;
        ensure(record.lease.is_none(), ErrorCode::BatteryLeased)?;
        record.lease = Some(id);
        cx.put(&Key::Battery(serial.clone()), &record);
    }
    if !terms.deposit.is_zero() {
        cx.debit(&cash, terms.lessee, terms.deposit)?;
    }
    let record = Lease {
        terms: terms.clone(),
        lessor: cx.signer,
        lessee: terms.lessee,
        start: cx.ctx.time,
        periods_total: terms.periods,
        periods_paid: 0,
        deposit_held: terms.deposit,
        status: LeaseStatus::Active,
    };
    cx.put(&Key::Lease(id), &record);
    cx.add_duty(cx.signer, Duty::Lessor(id))?;
    cx.add_duty(terms.lessee, Duty::Lessee(id))
}

pub(crate) fn pay_rent(cx: &mut Cx<'_>, id: Hash, periods: u32) -> Outcome<()> {
    cx.require_sender(cx.signer)?;
    ensure(periods > 0, ErrorCode::ZeroAmount)?;
    let mut record = lease(cx, id)?;
    let paid = record.periods_paid.checked_add(periods).ok_or(ErrorCode::Overflow)?;
    ensure(paid <= record.periods_total, ErrorCode::RentBeyondTerm)?;
    let amount = record.terms.rent_per_period.0.checked_mul(u128::from(periods));
    let amount = Amount(amount.ok_or(ErrorCode::Overflow)?);
    let cash = cash_of(cx, &record.terms)?;
    if !amount.is_zero() {
        cx.debit(&cash, cx.signer, amount)?;
        cx.distribute(&record.terms.class, amount)?;
    }
    record.periods_paid = paid;
    cx.put(&Key::Lease(id), &record);
    Ok(())
}

pub(crate) fn extend(cx: &mut Cx<'_>, id: Hash, periods: u32) -> Outcome<()> {
    let mut record = lease(cx, id)?;
    ensure(record.lessee == cx.signer, ErrorCode::NotLessee)?;
    ensure(periods > 0, ErrorCode::ZeroAmount)?;
    record.periods_total = record.periods_total.checked_add(periods).ok_or(ErrorCode::Overflow)?;
    cx.put(&Key::Lease(id), &record);
    Ok(())
}

/// Ends the lease: frees its batteries and settles the escrowed deposit.
fn end(cx: &mut Cx<'_>, id: Hash, mut record: Lease, status: LeaseStatus) -> Outcome<()> {
    for serial in &class_batteries(cx, &record.terms.class)? {
        let mut battery: Battery = battery(cx, serial)?;
        if battery.lease == Some(id) {
            battery.lease = None;
            cx.put(&Key::Battery(serial.clone()), &battery);
        }
    }
    let deposit = record.deposit_held;
    if !deposit.is_zero() {
        match status {
            LeaseStatus::Defaulted => cx.distribute(&record.terms.class, deposit)?,
            _ => {
                let cash = cash_of(cx, &record.terms)?;
                cx.credit(&cash, record.lessee, deposit)?;
            }
        }
    }
    record.deposit_held = Amount::ZERO;
    record.status = status;
    cx.put(&Key::Lease(id), &record);
    Ok(())
}

pub(crate) fn close(cx: &mut Cx<'_>, id: Hash) -> Outcome<()> {
    let record = lease(cx, id)?;
    if cx.signer == record.lessee {
        ensure(record.periods_paid >= periods_due(cx, &record), ErrorCode::RentOutstanding)?;
    } else if cx.signer == record.lessor {
        let term_end = period_start_ms(&record, record.periods_total)?;
        ensure(cx.ctx.time.0 >= term_end, ErrorCode::NotLessee)?;
        ensure(record.periods_paid >= record.periods_total, ErrorCode::RentOutstanding)?;
    } else {
        return Err(ErrorCode::NotLessee.into());
    }
    end(cx, id, record, LeaseStatus::Closed)
}

pub(crate) fn default(cx: &mut Cx<'_>, id: Hash) -> Outcome<()> {
    let record = lease(cx, id)?;
    ensure(record.lessor == cx.signer, ErrorCode::NotLessor)?;
    ensure(record.periods_paid < record.periods_total, ErrorCode::LeaseInGoodStanding)?;
    let overdue_since = period_start_ms(&record, record.periods_paid)?;
    let deadline = overdue_since.checked_add(record.terms.grace_ms).ok_or(ErrorCode::Overflow)?;
    ensure(cx.ctx.time.0 > deadline, ErrorCode::LeaseInGoodStanding)?;
    end(cx, id, record, LeaseStatus::Defaulted)
}
