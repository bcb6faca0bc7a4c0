//! An outside attacker's reproductions against the ownership and consent model, written by a
//! reviewer with a fresh context. The `finding_*` tests each reproduced an attack that worked
//! before the fixes and now assert the secure behaviour; the `refused_*` tests are attacks that
//! were refused from the start. All are kept as regressions.

// Test helpers panic on purpose: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use volt_proto::{
    Amount, Asset, Attestation, Call, Custody, EnergyAttestation, ErrorCode, Height, LeaseTerms,
    Leg, Timestamp, TradeTerms, TxOutcome,
};
use volt_token::invariants;
use volt_token::keys::{Battery, Duty, Key, LeaseStatus, MEMBER_ASSETS_MAX, Member};
use volt_token::testkit::{World, account, hkd, passport, serial, swap, sym, text};

mod common;
use common::*;

fn battery_record(w: &World, id: &str) -> Battery {
    w.state.record(&Key::Battery(serial(id))).unwrap().unwrap()
}

fn member(w: &World, name: &str) -> Member {
    w.state.member(account(name)).unwrap().unwrap()
}

fn register_battery(w: &mut World, owner: &str, id: &str) {
    let call = Call::RegisterBattery {
        serial: serial(id),
        passport: passport(id),
        warehouse: sym("WH-9"),
    };
    w.ok(owner, call);
}

/// `issuer2` creates `count` one-share classes and issues one share of each to `victim`,
/// pausing each class afterwards when `pause` is set. Returns the last receipt's outcome.
fn flood(w: &mut World, victim: &str, count: usize, pause: bool) -> TxOutcome {
    let mut last = TxOutcome::Applied;
    for chunk in (0..count).collect::<Vec<_>>().chunks(300) {
        let mut txs = Vec::new();
        for i in chunk {
            let class = sym(&format!("DUST-{i}"));
            let name = text("dust");
            let create = Call::CreateClass { class: class.clone(), name, supply_max: Amount(1) };
            txs.push(w.tx("issuer2", create));
            let issue =
                Call::IssueShares { class: class.clone(), to: account(victim), amount: Amount(1) };
            txs.push(w.tx("issuer2", issue));
            if pause {
                txs.push(w.tx("issuer2", Call::PauseClass { class }));
            }
        }
        let result = w.block(&txs);
        for receipt in &result.receipts {
            last = receipt.outcome.clone();
        }
    }
    last
}

// ----------------------------------------------------------------------------------------------
// Findings: each asserts the secure behaviour and fails today.
// ----------------------------------------------------------------------------------------------

#[test]
fn finding_1_a_delegate_cannot_make_itself_owner() {
    // The operator named the issuer its delegate "on its batteries" (passport, status, moves,
    // classes, leases). The delegate turns that revocable consent into permanent ownership.
    let (mut w, _) = bank();
    let take = Call::TransferBattery { serial: serial("B9"), to: account("issuer") };
    let offer = w.submit("issuer", take.clone());
    let accept = w.submit("issuer", take);
    // Revoking the delegation afterwards does not give the battery back.
    w.ok("operator", Call::SetDelegate { delegate: account("issuer"), allowed: false });
    assert_eq!(
        battery_record(&w, "B9").owner,
        account("operator"),
        "the delegate took the battery: offer {:?}, accept {:?}",
        offer.outcome,
        accept.outcome
    );
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_2_a_revoked_owners_delegate_cannot_give_its_batteries_away() {
    // A thief with the operator's key had named an accomplice delegate (here: the issuer). The
    // admin revokes the stolen key ("can no longer sign or receive") and recovers the wallet;
    // between the two, the delegate hands the battery to a third party.
    let (mut w, _) = bank();
    w.ok("admin", Call::RevokeMember { account: account("operator"), reason: text("stolen") });
    let give =
        w.submit("issuer", Call::TransferBattery { serial: serial("B9"), to: account("issuer2") });
    let take =
        w.submit("issuer2", Call::TransferBattery { serial: serial("B9"), to: account("issuer2") });
    let recover = Call::RecoverWallet {
        lost: account("operator"),
        new: account("operator-new"),
        identity_expiry: None,
        reason: text("stolen key"),
    };
    w.ok("admin", recover);
    assert_eq!(
        battery_record(&w, "B9").owner,
        account("operator-new"),
        "the battery left the revoked owner: offer {:?}, accept {:?}",
        give.outcome,
        take.outcome
    );
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_2b_a_frozen_owners_delegate_cannot_give_its_batteries_away() {
    let (mut w, _) = bank();
    w.ok("admin", Call::Freeze { account: account("operator"), reason: text("sanctions") });
    let give =
        w.submit("issuer", Call::TransferBattery { serial: serial("B9"), to: account("issuer2") });
    let take =
        w.submit("issuer2", Call::TransferBattery { serial: serial("B9"), to: account("issuer2") });
    assert_eq!(
        battery_record(&w, "B9").owner,
        account("operator"),
        "a frozen owner's battery moved: offer {:?}, accept {:?}",
        give.outcome,
        take.outcome
    );
}

#[test]
fn finding_3_an_offer_dies_with_the_delegation_that_made_it() {
    let (mut w, _) = bank();
    let offer =
        w.submit("issuer", Call::TransferBattery { serial: serial("B9"), to: account("issuer2") });
    // The owner revokes the delegate and tries to withdraw the offer (the only call there is).
    w.ok("operator", Call::SetDelegate { delegate: account("issuer"), allowed: false });
    let withdraw = w.submit(
        "operator",
        Call::TransferBattery { serial: serial("B9"), to: account("operator") },
    );
    let accept =
        w.submit("issuer2", Call::TransferBattery { serial: serial("B9"), to: account("issuer2") });
    assert_eq!(
        battery_record(&w, "B9").owner,
        account("operator"),
        "offer {:?}, withdraw {:?}, accept {:?}",
        offer.outcome,
        withdraw.outcome,
        accept.outcome
    );
}

#[test]
fn finding_4_nobody_fills_another_operators_station_slots() {
    // Mallory registers her own batteries and moves them into ST-1's free slots: the station's
    // operator cannot use those slots again and cannot move the batteries out (not its own).
    let (mut w, _) = bank();
    register_battery(&mut w, "mallory", "M1");
    let squat = Custody::Station { station: sym(STATION), slot: 2 };
    let receipt =
        w.submit("mallory", Call::MoveCustody { serial: serial("M1"), to: squat.clone() });
    let own = w.submit("operator", Call::MoveCustody { serial: serial("B9"), to: squat });
    assert_ne!(receipt.outcome, TxOutcome::Applied, "mallory took ST-1's slot 2");
    assert_eq!(own.outcome, TxOutcome::Applied, "the operator lost its own slot");
}

#[test]
fn finding_5_the_tariff_caps_a_swap_whatever_energy_is_attested() {
    // The fleet agreed to 500 per kWh. B1 is a 52 kWh pack, so no swap can deliver 2^64 Wh,
    // yet the attested energy lifts the cap and the station charges the fleet's whole balance.
    let (mut w, _) = bank();
    let mut greedy = swap(STATION, 1, TAXI, "B1", "B2", FLEET_CASH);
    greedy.energy_wh = u64::MAX;
    let call = w.swap_call("controller", greedy);
    let receipt = w.submit("controller", call);
    assert_eq!(cash(&w, "fleet"), FLEET_CASH, "the fleet was drained: {:?}", receipt.outcome);
    assert_ne!(receipt.outcome, TxOutcome::Applied);
}

#[test]
fn finding_6_a_lessee_cannot_block_the_lessor_from_closing() {
    // The fleet pays the whole term, moves its cash away and lets an accomplice issuer fill
    // its holdings. After the term the lessor's close fails (the deposit cannot be credited),
    // a default is refused (rent is paid), so the lease stays active and the pool stays locked.
    let (mut w, id) = bank();
    w.ok("fleet", Call::PayRent { lease: id, periods: 30 });
    let rest = cash(&w, "fleet");
    w.ok("fleet", Call::Transfer { asset: hkd(), to: account("alice"), amount: Amount(rest) });
    flood(&mut w, "fleet", MEMBER_ASSETS_MAX as usize, false);
    assert_eq!(member(&w, "fleet").assets, MEMBER_ASSETS_MAX);
    w.next.time = Timestamp(w.next.time.0 + 31 * DAY_MS);
    let close = w.submit("issuer", Call::CloseLease { lease: id });
    let default = w.submit("issuer", Call::DefaultLease { lease: id });
    assert_eq!(
        lease(&w, id).status,
        LeaseStatus::Closed,
        "close {:?}, default {:?}",
        close.outcome,
        default.outcome
    );
    // As for a frozen lessee, the deposit waits in escrow.
    assert_eq!(lease(&w, id).deposit_held, Amount(DEPOSIT));
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_7_a_member_can_always_make_room() {
    // keys.rs: "Others can send a member new assets, so the member can always make room". A
    // hostile issuer sends 1024 one-share classes to the station operator and pauses each:
    // the operator can neither redeem nor transfer them, so it can never receive HKD again and
    // every swap at its station that pays it a cut is disputed.
    let (mut w, _) = bank();
    flood(&mut w, "operator", MEMBER_ASSETS_MAX as usize, true);
    assert_eq!(member(&w, "operator").assets, MEMBER_ASSETS_MAX);
    let call = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    let blocked = w.submit("controller", call);
    let redeem =
        w.submit("operator", Call::RedeemShares { class: sym("DUST-0"), amount: Amount(1) });
    let give = w.submit(
        "operator",
        Call::Transfer {
            asset: Asset::Shares(sym("DUST-1")),
            to: account("issuer2"),
            amount: Amount(1),
        },
    );
    assert!(
        redeem.outcome == TxOutcome::Applied || give.outcome == TxOutcome::Applied,
        "no way to make room: swap {:?}, redeem {:?}, transfer {:?}",
        blocked.outcome,
        redeem.outcome,
        give.outcome
    );
    let call = w.swap_call("controller", swap(STATION, 2, TAXI, "B1", "B2", 1_000));
    assert_eq!(w.submit("controller", call).outcome, TxOutcome::Applied);
}

#[test]
fn finding_8_no_money_is_taken_into_a_pot_nobody_can_claim() {
    // POOL-A's 100 shares are all issued; alice and bob redeem theirs. With no shares
    // outstanding and none left to issue, the swap fee and the rent the fleet still pays are
    // "held for unissued shares" that do not exist: stranded.
    let (mut w, id) = bank();
    w.ok("alice", Call::RedeemShares { class: sym("POOL-A"), amount: Amount(60) });
    w.ok("bob", Call::RedeemShares { class: sym("POOL-A"), amount: Amount(40) });
    let call = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    let swap_outcome = w.submit("controller", call).outcome;
    let rent = w.submit("fleet", Call::PayRent { lease: id, periods: 1 }).outcome;
    let held = |w: &World| w.state.class(&sym("POOL-A")).unwrap().unwrap().revenue.unwrap().held;
    let before = held(&w);
    // The only way held revenue ever leaves: an issuance.
    let issue = Call::IssueShares { class: sym("POOL-A"), to: account("alice"), amount: Amount(1) };
    let issued = w.submit("issuer", issue).outcome;
    assert!(
        before.is_zero() || held(&w) < before,
        "stranded {before:?}: swap {swap_outcome:?}, rent {rent:?}, issuance {issued:?}"
    );
}

#[test]
fn finding_9_revenue_accounting_never_overflows() {
    // revenue.rs: "amounts per deposit below 2^64 units and revenue per share below 2^64
    // units; past them the call fails with Overflow and nothing changes". Two deposits just
    // under 2^64 are accepted, then alice (60 of 100 shares) can no longer move or claim.
    let (mut w, _) = bank();
    let big = (1u128 << 64) - 1;
    let mint = Call::Mint { currency: sym("HKD"), to: account("issuer"), amount: Amount(2 * big) };
    w.ok("issuer", mint);
    let d1 = w.submit("issuer", Call::DepositRevenue { class: sym("POOL-A"), amount: Amount(big) });
    let d2 = w.submit("issuer", Call::DepositRevenue { class: sym("POOL-A"), amount: Amount(big) });
    let give = Call::Transfer {
        asset: Asset::Shares(sym("POOL-A")),
        to: account("dave"),
        amount: Amount(1),
    };
    let moved = w.submit("alice", give);
    let claimed = w.submit("alice", Call::ClaimRevenue { class: sym("POOL-A") });
    let check = invariants::check(&w.state);
    assert!(
        check.is_ok() && moved.outcome == TxOutcome::Applied,
        "deposits {:?} {:?}; alice transfer {:?}, claim {:?}; invariants {check:?}",
        d1.outcome,
        d2.outcome,
        moved.outcome,
        claimed.outcome
    );
}

#[test]
fn finding_9b_a_deposit_past_the_bound_is_refused_at_zero_supply() {
    // revenue.rs bounds a deposit below 2^64 units, but the bound is only checked when shares
    // are outstanding. At zero supply the deposit is held; then every issuance releases more
    // than 2^64 units and fails with Overflow: the class can never be issued, the pot is stuck.
    let (mut w, _) = bank();
    pool_b(&mut w, DEPOSIT);
    let huge = Amount(1 << 70);
    w.ok("issuer", Call::Mint { currency: sym("HKD"), to: account("dave"), amount: huge });
    let deposit = w.submit("dave", Call::DepositRevenue { class: sym("POOL-B"), amount: huge });
    let issue = Call::IssueShares { class: sym("POOL-B"), to: account("alice"), amount: Amount(1) };
    let issued = w.submit("issuer", issue);
    assert!(
        deposit.outcome != TxOutcome::Applied || issued.outcome == TxOutcome::Applied,
        "deposit {:?}, then issuance {:?}",
        deposit.outcome,
        issued.outcome
    );
}

#[test]
fn finding_10_an_ended_lease_with_nothing_held_leaves_no_duty() {
    let (mut w, _) = bank();
    let offer = pool_b(&mut w, 0);
    let lessee_signature = w.lessee_signs("fleet", &offer);
    w.ok("issuer", Call::OpenLease { terms: offer.clone(), lessee_signature });
    let id = offer.id();
    w.ok("fleet", Call::PayRent { lease: id, periods: 30 });
    w.ok("admin", Call::Freeze { account: account("fleet"), reason: text("review") });
    w.next.time = Timestamp(w.next.time.0 + 31 * DAY_MS);
    w.ok("issuer", Call::CloseLease { lease: id });
    w.ok("admin", Call::Unfreeze { account: account("fleet") });
    let release = w.submit("dave", Call::ReleaseDeposit { lease: id });
    let duty = Key::DutyOf(account("fleet"), Duty::Lessee(id));
    let stuck: Option<()> = w.state.record(&duty).unwrap();
    assert!(
        stuck.is_none(),
        "the fleet keeps a duty for an ended, empty lease: {:?}",
        release.outcome
    );
}

#[test]
fn finding_11_a_class_battery_earns_for_its_class_wherever_it_is_swapped() {
    // The fleet also leases Mallory's battery M1 (a legitimate second lessor). Mallory's
    // station (operator cut 100 %) swaps POOL-A's B1 out of the fleet's taxi into her slot,
    // then back into the taxi: the fleet pays POOL-A's tariff for POOL-A's battery, and all of
    // it goes to Mallory; POOL-A's holders, whose battery it is, get nothing. Nobody on
    // POOL-A's side ever agreed to MST or its cut.
    let (mut w, _) = bank();
    register_battery(&mut w, "mallory", "M1");
    w.ok("mallory", Call::SetDelegate { delegate: account("issuer2"), allowed: true });
    let class = Call::CreateBatteryClass {
        class: sym("POOL-M"),
        name: text("mallory's"),
        supply_max: Amount(1),
        batteries: vec![serial("M1")],
        revenue_currency: sym("HKD"),
    };
    w.ok("issuer2", class);
    let own_slot = Custody::Station { station: sym("MST"), slot: 0 };
    w.ok("mallory", Call::MoveCustody { serial: serial("M1"), to: own_slot });
    let offer = LeaseTerms {
        class: sym("POOL-M"),
        lessor: account("issuer2"),
        deposit: Amount::ZERO,
        rent_per_period: Amount::ZERO,
        ..terms(&w, 5)
    };
    let lessee_signature = w.lessee_signs("fleet", &offer);
    w.ok("issuer2", Call::OpenLease { terms: offer, lessee_signature });
    // Swap 1: POOL-A's B1 would leave the taxi for MST (M1 goes in, free). POOL-A's owner never
    // approved MST, so the swap is disputed and B1 stays in the taxi: it can never be swapped
    // back in at MST for POOL-A's tariff with the whole fee as Mallory's cut.
    let mut first = swap("MST", 1, TAXI, "B1", "M1", 0);
    first.energy_wh = 0;
    let call = w.swap_call("mctrl", first);
    let outcome = w.submit("mallory", call).outcome;
    assert_eq!(outcome, TxOutcome::Disputed(ErrorCode::StationNotApproved));
    assert_eq!(battery_record(&w, "B1").custody, Custody::Vehicle(sym(TAXI)));
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_the_owner_cannot_pull_a_leased_battery_out_of_the_lessees_vehicle() {
    // Worked at 7846186 (the owner's delegate moved B1 out of TAXI-1 to a recycler mid-lease);
    // refused since cc094a3.
    let (mut w, id) = bank();
    w.ok("fleet", Call::PayRent { lease: id, periods: 5 });
    let yank = Call::MoveCustody { serial: serial("B1"), to: Custody::Recycler(sym("RC-1")) };
    refused(&mut w, "issuer", yank, ErrorCode::BatteryLeased);
    let home = Call::MoveCustody { serial: serial("B1"), to: Custody::Warehouse(sym("WH-1")) };
    refused(&mut w, "operator", home, ErrorCode::BatteryLeased);
    assert_eq!(battery_record(&w, "B1").custody, Custody::Vehicle(sym(TAXI)));
}

#[test]
fn finding_12_an_early_close_takes_only_the_notice_owed() {
    // The terms: an early close costs the periods started plus `notice_periods` (2). The fleet
    // prepaid the whole term, then closes on day one: it owes 3 periods, but all 30 are
    // credited to the class at once (not "per period"), and 27 periods of rent for a lease
    // that no longer runs are never returned.
    let (mut w, id) = bank();
    w.ok("fleet", Call::PayRent { lease: id, periods: 30 });
    w.ok("fleet", Call::CloseLease { lease: id });
    let pool = w.state.class(&sym("POOL-A")).unwrap().unwrap().revenue.unwrap();
    assert_eq!(
        cash(&w, "fleet"),
        FLEET_CASH + DEPOSIT - 3 * RENT,
        "the class was credited {} for a 3-period lease",
        pool.deposited
    );
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_extreme_block_times_do_not_halt_the_chain() {
    // Near the end of u64 time, lease arithmetic fails calls or applies them; no block error,
    // no panic, invariants intact.
    let (mut w, id) = bank();
    w.next.time = Timestamp(u64::MAX - 10_000);
    for name in ["issuer", "fleet"] {
        let renew =
            Call::RenewIdentity { account: account(name), identity_expiry: Timestamp(u64::MAX) };
        w.ok("admin", renew);
    }
    let pay = w.submit("fleet", Call::PayRent { lease: id, periods: 30 });
    let settle = w.submit("fleet", Call::SettleLease { lease: id });
    let close = w.submit("issuer", Call::CloseLease { lease: id });
    let extend = w.submit("fleet", Call::ExtendLease { lease: id, periods: 1 });
    assert_eq!(pay.outcome, TxOutcome::Applied);
    assert_eq!(
        close.outcome,
        TxOutcome::Applied,
        "settle {:?}, extend {:?}",
        settle.outcome,
        extend.outcome
    );
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_13_the_owner_can_deliver_a_relet_battery_to_its_new_lessee() {
    // The fleet closes its lease; B1 is still recorded in TAXI-1. The issuer lets POOL-A to
    // dave. The cc094a3 rule ("a leased battery in a vehicle is in the lessee's hands") now
    // keeps B1 in the *old* fleet's taxi: the owner can neither deliver it to dave's vehicle
    // nor take it back, and dave pays rent for it. Only a swap by the old fleet frees it.
    let (mut w, id) = bank();
    w.ok("fleet", Call::PayRent { lease: id, periods: 3 });
    w.ok("fleet", Call::CloseLease { lease: id });
    w.ok("dave", Call::RegisterVehicle { vehicle: sym("DAVE-1") });
    let relet = LeaseTerms { lessee: account("dave"), deposit: Amount::ZERO, ..terms(&w, 3) };
    let lessee_signature = w.lessee_signs("dave", &relet);
    w.ok("issuer", Call::OpenLease { terms: relet, lessee_signature });
    let deliver = Call::MoveCustody { serial: serial("B1"), to: Custody::Vehicle(sym("DAVE-1")) };
    let receipt = w.submit("operator", deliver);
    assert_eq!(
        battery_record(&w, "B1").custody,
        Custody::Vehicle(sym("DAVE-1")),
        "B1 stays in the old fleet's taxi: {:?}",
        receipt.outcome
    );
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_14_a_delegate_cannot_lease_its_principals_class_to_itself() {
    // The issuer named the operator its delegate (to open leases on its behalf). The operator
    // opens POOL-B to itself: no rent, no deposit, a term that never ends. It pays the whole
    // term for nothing, so no default; the term's end overflows, so the lessor never closes.
    let (mut w, _) = bank();
    let offer = pool_b(&mut w, 0);
    let own = LeaseTerms {
        lessee: account("operator"),
        rent_per_period: Amount::ZERO,
        period_ms: u64::MAX,
        periods: u32::MAX,
        ..offer
    };
    let lessee_signature = w.lessee_signs("operator", &own);
    let open = w.submit("operator", Call::OpenLease { terms: own.clone(), lessee_signature });
    if open.outcome == TxOutcome::Applied {
        w.ok("operator", Call::PayRent { lease: own.id(), periods: u32::MAX });
        let close = w.submit("issuer", Call::CloseLease { lease: own.id() });
        let default = w.submit("issuer", Call::DefaultLease { lease: own.id() });
        panic!(
            "the delegate holds POOL-B for free; lessor close {:?}, default {:?}",
            close.outcome, default.outcome
        );
    }
}

// ----------------------------------------------------------------------------------------------
// Attacks that were refused: regressions.
// ----------------------------------------------------------------------------------------------

#[test]
fn refused_a_hostile_station_cannot_charge_a_fleet_without_its_lease() {
    // Mallory's station holds her own battery; she attests a swap taking B1 out of the fleet's
    // taxi. B1's owner never approved her station: disputed, nothing paid, nothing moved.
    let (mut w, _) = bank();
    register_battery(&mut w, "mallory", "M1");
    let own_slot = Custody::Station { station: sym("MST"), slot: 0 };
    w.ok("mallory", Call::MoveCustody { serial: serial("M1"), to: own_slot });
    let mut fake = swap("MST", 1, TAXI, "B1", "M1", 1);
    fake.energy_wh = 1;
    let call = w.swap_call("mctrl", fake);
    let receipt = w.submit("mallory", call);
    assert_eq!(receipt.outcome, TxOutcome::Disputed(ErrorCode::StationNotApproved));
    assert_eq!(cash(&w, "fleet"), FLEET_CASH);
    assert_eq!(battery_record(&w, "B1").custody, Custody::Vehicle(sym(TAXI)));
    // Signed by the wrong controller: refused before anything is recorded.
    let call = w.swap_call("mctrl", swap(STATION, 1, TAXI, "B1", "B2", 1));
    refused(&mut w, "mallory", call, ErrorCode::BadAttestationSignature);
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_attestation_counters_cannot_be_skipped_reused_or_zero() {
    let (mut w, _) = bank();
    let gap = w.swap_call("controller", swap(STATION, 2, TAXI, "B1", "B2", 1));
    refused(&mut w, "dave", gap, ErrorCode::CounterGap);
    let zero = w.swap_call("controller", swap(STATION, 0, TAXI, "B1", "B2", 1));
    refused(&mut w, "dave", zero, ErrorCode::OutOfRange);
    let same = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B1", 1));
    assert_eq!(w.submit("dave", same).outcome, TxOutcome::Disputed(ErrorCode::DuplicateBattery));
    let again = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B1", 1));
    refused(&mut w, "dave", again, ErrorCode::DuplicateAttestation);
    // A different attestation for the used counter is kept as evidence and moves nothing.
    let other = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    let receipt = w.submit("dave", other);
    assert_eq!(receipt.outcome, TxOutcome::Disputed(ErrorCode::AttestationConflict));
    assert_eq!(cash(&w, "fleet"), FLEET_CASH);
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_an_energy_export_is_paid_only_by_its_signer() {
    // The controller names the fleet as payer; anyone else relaying it is refused.
    let (mut w, _) = bank();
    let export = Attestation::Energy(EnergyAttestation {
        station: sym(STATION),
        counter: 1,
        station_time: Timestamp(0),
        battery: serial("B2"),
        energy_wh: 10_000,
        payer: account("fleet"),
        payment: Amount(FLEET_CASH),
        currency: sym("HKD"),
    });
    let signature = w.attest("controller", &export);
    let call = Call::SubmitAttestation { attestation: export, signature };
    refused(&mut w, "mallory", call, ErrorCode::NotPayer);
    assert_eq!(cash(&w, "fleet"), FLEET_CASH);
}

#[test]
fn refused_signatures_do_not_cross_domains_and_leases_do_not_replay() {
    // The fleet's signature over lease terms is not a trade signature, and a closed lease's
    // signed terms cannot open it again.
    let (mut w, id) = bank();
    let lease_terms = lease(&w, id).terms;
    let lease_signature = w.lessee_signs("fleet", &lease_terms);
    let trade = TradeTerms {
        maker: account("fleet"),
        taker: account("mallory"),
        maker_gives: Leg { asset: hkd(), amount: Amount(FLEET_CASH) },
        taker_gives: Leg { asset: hkd(), amount: Amount(1) },
        expiry_height: Height(w.next.height.0 + 10),
        salt: 1,
    };
    let call = Call::Trade { terms: trade, counterparty_signature: lease_signature };
    refused(&mut w, "mallory", call, ErrorCode::BadCounterpartySignature);
    w.ok("fleet", Call::PayRent { lease: id, periods: 3 });
    w.ok("fleet", Call::CloseLease { lease: id });
    let reopen = Call::OpenLease { terms: lease_terms, lessee_signature: lease_signature };
    refused(&mut w, "operator", reopen, ErrorCode::AlreadyExists);
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_strangers_cannot_settle_self_deal_or_replay_trades() {
    let (mut w, _) = bank();
    let trade = TradeTerms {
        maker: account("alice"),
        taker: account("dave"),
        maker_gives: Leg { asset: Asset::Shares(sym("POOL-A")), amount: Amount(5) },
        taker_gives: Leg { asset: hkd(), amount: Amount(500) },
        expiry_height: Height(w.next.height.0 + 100),
        salt: 9,
    };
    let alice_signs =
        volt_token::testkit::key("alice").sign_raw(&trade.signing_message(&w.chain_id));
    let call = Call::Trade { terms: trade.clone(), counterparty_signature: alice_signs };
    refused(&mut w, "mallory", call.clone(), ErrorCode::NotTradeParty);
    w.ok("dave", call.clone());
    refused(&mut w, "dave", call, ErrorCode::TradeReplayed);
    let zero = TradeTerms {
        taker_gives: Leg { asset: hkd(), amount: Amount::ZERO },
        salt: 10,
        ..trade.clone()
    };
    let sig = volt_token::testkit::key("alice").sign_raw(&zero.signing_message(&w.chain_id));
    refused(
        &mut w,
        "dave",
        Call::Trade { terms: zero, counterparty_signature: sig },
        ErrorCode::ZeroAmount,
    );
    let late = TradeTerms { expiry_height: Height(1), salt: 11, ..trade };
    let sig = volt_token::testkit::key("alice").sign_raw(&late.signing_message(&w.chain_id));
    refused(
        &mut w,
        "dave",
        Call::Trade { terms: late, counterparty_signature: sig },
        ErrorCode::TradeExpired,
    );
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_amounts_at_u128_max_fail_cleanly() {
    let (mut w, id) = bank();
    let max = Amount(u128::MAX);
    let mint = Call::Mint { currency: sym("HKD"), to: account("alice"), amount: max };
    refused(&mut w, "issuer", mint, ErrorCode::Overflow);
    let pay = Call::Transfer { asset: hkd(), to: account("bob"), amount: max };
    refused(&mut w, "alice", pay, ErrorCode::InsufficientBalance);
    let deposit = Call::DepositRevenue { class: sym("POOL-A"), amount: max };
    refused(&mut w, "alice", deposit, ErrorCode::InsufficientBalance);
    refused(
        &mut w,
        "fleet",
        Call::PayRent { lease: id, periods: u32::MAX },
        ErrorCode::RentBeyondTerm,
    );
    refused(
        &mut w,
        "fleet",
        Call::ExtendLease { lease: id, periods: u32::MAX },
        ErrorCode::Overflow,
    );
    let redeem = Call::RedeemShares { class: sym("POOL-A"), amount: max };
    refused(&mut w, "alice", redeem, ErrorCode::InsufficientBalance);
    let issue = Call::IssueShares { class: sym("POOL-A"), to: account("dave"), amount: max };
    refused(&mut w, "issuer", issue, ErrorCode::Overflow);
    // A swap fee of u128::MAX is above any tariff the fleet signed.
    let call = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B2", u128::MAX));
    assert_eq!(w.submit("dave", call).outcome, TxOutcome::Disputed(ErrorCode::FeeAboveTariff));
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_the_lessor_cannot_end_a_running_lease_alone() {
    let (mut w, id) = bank();
    w.ok("fleet", Call::PayRent { lease: id, periods: 1 });
    refused(&mut w, "issuer", Call::DefaultLease { lease: id }, ErrorCode::LeaseInGoodStanding);
    refused(&mut w, "operator", Call::CloseLease { lease: id }, ErrorCode::TermNotOver);
    refused(&mut w, "mallory", Call::DefaultLease { lease: id }, ErrorCode::NotLessor);
    refused(&mut w, "issuer", Call::ExtendLease { lease: id, periods: 1 }, ErrorCode::NotLessee);
    // Still in grace one day after the second period started.
    w.next.time = Timestamp(w.next.time.0 + 2 * DAY_MS);
    refused(&mut w, "issuer", Call::DefaultLease { lease: id }, ErrorCode::LeaseInGoodStanding);
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_roles_and_delegations_stay_within_bounds() {
    let (mut w, _) = bank();
    // Delegation goes only to operators and issuers, and investors cannot delegate.
    let to_investor = Call::SetDelegate { delegate: account("dave"), allowed: true };
    refused(&mut w, "operator", to_investor, ErrorCode::WrongRole);
    let by_investor = Call::SetDelegate { delegate: account("mallory"), allowed: true };
    refused(&mut w, "dave", by_investor, ErrorCode::WrongRole);
    // A recovery cannot land on an existing member (taking over its account).
    let hijack = Call::RecoverWallet {
        lost: account("dave"),
        new: account("alice"),
        identity_expiry: None,
        reason: text("x"),
    };
    refused(&mut w, "admin", hijack, ErrorCode::AlreadyExists);
    // Pausing and claiming another's class.
    refused(&mut w, "issuer2", Call::PauseClass { class: sym("POOL-A") }, ErrorCode::WrongRole);
    refused(&mut w, "dave", Call::ClaimRevenue { class: sym("POOL-A") }, ErrorCode::NothingToClaim);
    // Stations and slots at their limits.
    let beyond = Custody::Station { station: sym(STATION), slot: u16::MAX };
    refused(
        &mut w,
        "operator",
        Call::MoveCustody { serial: serial("B9"), to: beyond },
        ErrorCode::OutOfRange,
    );
    let station = Call::RegisterStation {
        station: sym("ST-0"),
        controller: account("controller"),
        location: text("x"),
        slots: 0,
        operator_cut_bps: 10_001,
    };
    refused(&mut w, "operator", station, ErrorCode::OutOfRange);
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_a_frozen_fleet_is_not_charged() {
    let (mut w, _) = bank();
    w.ok("admin", Call::Freeze { account: account("fleet"), reason: text("review") });
    let call = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    assert_eq!(w.submit("dave", call).outcome, TxOutcome::Disputed(ErrorCode::PayerNotAllowed));
    assert_eq!(cash(&w, "fleet"), FLEET_CASH);
    invariants::check(&w.state).unwrap();
}

#[test]
fn refused_a_lease_is_opened_only_at_sane_terms() {
    let (mut w, _) = bank();
    let offer = pool_b(&mut w, DEPOSIT);
    for bad in
        [LeaseTerms { period_ms: 0, ..offer.clone() }, LeaseTerms { periods: 0, ..offer.clone() }]
    {
        let lessee_signature = w.lessee_signs("fleet", &bad);
        refused(
            &mut w,
            "issuer",
            Call::OpenLease { terms: bad, lessee_signature },
            ErrorCode::OutOfRange,
        );
    }
    // Another member's signature over the fleet's terms.
    let lessee_signature = w.lessee_signs("dave", &offer);
    let forged = Call::OpenLease { terms: offer, lessee_signature };
    refused(&mut w, "issuer", forged, ErrorCode::BadLesseeSignature);
}
