//! Issue 7's findings, each written as the attacker's transaction sequence: every one is now
//! refused with a specific code and changes nothing but the attacker's nonce, or (where the
//! rule is about where money lands) the money stays where the owners' consent says it must.

// Test helpers panic on purpose: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use volt_proto::{
    AccountId, Amount, Asset, BatteryStatus, Call, Custody, ErrorCode, Hash, LeaseTerms, Leg, Role,
    Timestamp, TradeTerms, TxOutcome,
};
use volt_token::keys::{Key, MEMBER_ASSETS_MAX, Member, Station};
use volt_token::store::Store;
use volt_token::testkit::{
    FAR_FUTURE, GENESIS_TIME, World, account, genesis, hkd, serial, swap, sym, text,
};
use volt_token::{Genesis, GenesisMember, invariants};

mod common;
use common::*;

#[test]
fn finding_1_a_stranger_cannot_drain_a_lessee() {
    // Proves the drain fails at every step: no vehicle can name another's fleet, no stranger
    // moves a leased battery into its station, and a swap fee is capped by the fleet's tariff.
    let (mut w, _) = bank();
    // Mallory registers a vehicle: it becomes its own payer, never the fleet's.
    w.ok("mallory", Call::RegisterVehicle { vehicle: sym("TAXI-X") });
    let vehicle: volt_token::keys::Vehicle =
        w.state.record(&Key::Vehicle(sym("TAXI-X"))).unwrap().unwrap();
    assert_eq!(vehicle.fleet, account("mallory"));
    let into_mst = Custody::Station { station: sym("MST"), slot: 0 };
    refused(
        &mut w,
        "mallory",
        Call::MoveCustody { serial: serial("B2"), to: into_mst },
        ErrorCode::NotOwner,
    );
    // Even at the owner's own station, a fee above the tariff is disputed and moves nothing.
    let greedy = swap(STATION, 1, TAXI, "B1", "B2", FLEET_CASH);
    let call = w.swap_call("controller", greedy);
    let receipt = w.submit("controller", call);
    assert_eq!(receipt.outcome, TxOutcome::Disputed(ErrorCode::FeeAboveTariff));
    assert_eq!(cash(&w, "fleet"), FLEET_CASH);
    // The tariff's own maximum (40 kWh at 500 per kWh) settles.
    let fair = swap(STATION, 2, TAXI, "B1", "B2", 40 * FEE_PER_KWH_MAX);
    let call = w.swap_call("controller", fair);
    assert_eq!(w.submit("controller", call).outcome, TxOutcome::Applied);
    assert_eq!(cash(&w, "fleet"), FLEET_CASH - 40 * FEE_PER_KWH_MAX);
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_2_member_records_stay_small_and_the_cap_is_a_failure_not_corruption() {
    // Proves holdings live under their own keys (the member record does not grow), and the
    // per-member cap refuses one more asset as a transaction failure the victim can undo.
    let (mut w, _) = bank();
    let size = |w: &World| w.state.store().get(&Key::Member(account("dave")).encode());
    let small = size(&w).unwrap().unwrap().len();
    let classes = MEMBER_ASSETS_MAX as usize; // dave already holds HKD, so one too many
    for chunk in (0..classes).collect::<Vec<_>>().chunks(400) {
        let mut txs = Vec::new();
        for i in chunk {
            let class = sym(&format!("DUST-{i}"));
            let name = text("dust");
            txs.push(w.tx(
                "issuer2",
                Call::CreateClass { class: class.clone(), name, supply_max: Amount(1) },
            ));
            txs.push(w.tx(
                "issuer2",
                Call::IssueShares { class, to: account("dave"), amount: Amount(1) },
            ));
        }
        let result = w.block(&txs);
        let last = result.receipts.last().unwrap().outcome.clone();
        if chunk.last() == Some(&(classes - 1)) {
            assert_eq!(last, TxOutcome::Failed(ErrorCode::TooManyHoldings));
        }
    }
    let member: Member = w.state.member(account("dave")).unwrap().unwrap();
    assert_eq!(member.assets, MEMBER_ASSETS_MAX);
    assert_eq!(size(&w).unwrap().unwrap().len(), small, "the member record grew");
    // Existing assets still arrive; the victim frees a slot by redeeming dust.
    w.ok("alice", Call::Transfer { asset: hkd(), to: account("dave"), amount: Amount(1) });
    w.ok("dave", Call::RedeemShares { class: sym("DUST-0"), amount: Amount(1) });
    let issue =
        Call::IssueShares { class: sym("DUST-1023"), to: account("dave"), amount: Amount(1) };
    w.ok("issuer2", issue);
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_3_strangers_cannot_act_on_others_batteries_or_classes() {
    // Proves class membership, leases, status and passports change only by the owner or its
    // delegate: each stranger's attempt is refused and changes nothing.
    let (mut w, _) = bank();
    let class = Call::CreateBatteryClass {
        class: sym("STOLEN"),
        name: text("not mine"),
        supply_max: Amount(10),
        batteries: vec![serial("B9")],
        revenue_currency: sym("HKD"),
    };
    refused(&mut w, "issuer2", class, ErrorCode::NotOwner);
    // Mallory holds the fleet's signature over zero-rent terms, but is not the issuer's delegate.
    let mut squat = terms(&w, 7);
    squat.rent_per_period = Amount::ZERO;
    squat.period_ms = 1_000_000_000_000_000;
    let lessee_signature = w.lessee_signs("fleet", &squat);
    let call = Call::OpenLease { terms: squat.clone(), lessee_signature };
    refused(&mut w, "mallory", call, ErrorCode::NotOwner);
    squat.lessor = account("mallory");
    let lessee_signature = w.lessee_signs("fleet", &squat);
    let call = Call::OpenLease { terms: squat, lessee_signature };
    refused(&mut w, "mallory", call, ErrorCode::NotLessorOfTerms);
    let remanufacture = Call::SetBatteryStatus {
        serial: serial("B1"),
        status: BatteryStatus::Remanufactured,
        soh_permille: Some(1_000),
    };
    refused(&mut w, "mallory", remanufacture, ErrorCode::NotOwner);
    let document = Call::UpdatePassportDocument {
        serial: serial("B1"),
        document_hash: Hash([9; 32]),
        document_uri: text("https://evil.example"),
    };
    refused(&mut w, "issuer2", document, ErrorCode::NotOwner);
    refused(
        &mut w,
        "mallory",
        Call::TransferBattery { serial: serial("B9"), to: account("mallory") },
        ErrorCode::NotOwner,
    );
    // The owner cannot take a leased battery out of the lessee's vehicle.
    let out = Call::MoveCustody { serial: serial("B1"), to: Custody::Warehouse(sym("WH-1")) };
    refused(&mut w, "operator", out, ErrorCode::BatteryLeased);
    // A battery goes into a vehicle only within a lease to the vehicle's fleet.
    w.ok("mallory", Call::RegisterVehicle { vehicle: sym("TAXI-X") });
    let call = Call::MoveCustody { serial: serial("B9"), to: Custody::Vehicle(sym("TAXI-X")) };
    refused(&mut w, "operator", call, ErrorCode::BatteryNotLeased);
    // A battery leased to one fleet never goes into another fleet's vehicle.
    let call = Call::MoveCustody { serial: serial("B2"), to: Custody::Vehicle(sym("TAXI-X")) };
    refused(&mut w, "operator", call, ErrorCode::BatteryNotLeased);
    // Slots are numbered below the station's slot count; health is restored only by
    // remanufacturing, and never above new.
    let past_the_end = Custody::Station { station: sym(STATION), slot: 8 };
    let call = Call::MoveCustody { serial: serial("B9"), to: past_the_end };
    refused(&mut w, "operator", call, ErrorCode::OutOfRange);
    for (status, soh) in [(BatteryStatus::Reused, 900), (BatteryStatus::Remanufactured, 1_001)] {
        let call = Call::SetBatteryStatus { serial: serial("B9"), status, soh_permille: Some(soh) };
        refused(&mut w, "operator", call, ErrorCode::OutOfRange);
    }
    let call = Call::SetBatteryStatus {
        serial: serial("B9"),
        status: BatteryStatus::Remanufactured,
        soh_permille: Some(1_000),
    };
    w.ok("operator", call);
    // Ownership moves only when offered and accepted.
    w.ok("operator", Call::TransferBattery { serial: serial("B9"), to: account("mallory") });
    w.ok("mallory", Call::TransferBattery { serial: serial("B9"), to: account("mallory") });
    let b9: volt_token::keys::Battery =
        w.state.record(&Key::Battery(serial("B9"))).unwrap().unwrap();
    assert_eq!(b9.owner, account("mallory"));
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_4_zero_amounts_write_nothing_and_recovery_moves_everything() {
    // Proves a zero-fee swap creates no balance record, and a recovery afterwards leaves no
    // balance behind on the revoked key.
    let (mut w, _) = bank();
    let call = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B2", 0));
    assert_eq!(w.submit("controller", call).outcome, TxOutcome::Applied);
    let operator_hkd = Key::Balance(hkd(), account("operator")).encode();
    assert!(w.state.store().get(&operator_hkd).unwrap().is_none(), "zero created a record");
    let recover = Call::RecoverWallet {
        lost: account("fleet"),
        new: account("fleet-new"),
        identity_expiry: None,
        reason: text("lost phone"),
    };
    w.ok("admin", recover);
    invariants::check(&w.state).unwrap();
    for (key, _) in w.state.entries().unwrap() {
        let key: Key = volt_proto::codec::decode(&key, 4096).unwrap();
        if let Key::Balance(_, holder) = key {
            assert_ne!(holder, account("fleet"), "a balance stayed on the lost key");
        }
    }
    assert_eq!(cash(&w, "fleet-new"), FLEET_CASH);
}

#[test]
fn finding_5_identities_can_be_renewed_and_revoked_keys_recovered() {
    // Proves an expired identity is renewed by an admin, recovery sets a new expiry and takes
    // a revoked key once, and admins whose identity lapsed can still govern.
    let short = Timestamp(GENESIS_TIME.0 + 5_000);
    let mut g: Genesis = genesis(&MEMBERS);
    for m in &mut g.members {
        if m.account == account("admin") || m.account == account("alice") {
            m.identity_expiry = short;
        }
    }
    g.members.push(GenesisMember {
        account: account("carol"),
        role: Role::Investor,
        identity_expiry: short,
    });
    let mut w = World::from_genesis(&g);
    w.ok("issuer", Call::Mint { currency: sym("HKD"), to: account("alice"), amount: Amount(10) });
    for _ in 0..6 {
        w.block(&[]);
    }
    let pay = Call::Transfer { asset: hkd(), to: account("bob"), amount: Amount(1) };
    assert_eq!(
        w.submit("alice", pay.clone()).outcome,
        TxOutcome::Failed(ErrorCode::IdentityExpired)
    );
    w.ok("admin", Call::RenewIdentity { account: account("alice"), identity_expiry: FAR_FUTURE });
    w.ok("alice", pay);
    // Recovery of a lapsed member sets a new expiry; a revoked member is recovered once.
    let recover = |lost: &str, new: &str| Call::RecoverWallet {
        lost: account(lost),
        new: account(new),
        identity_expiry: Some(FAR_FUTURE),
        reason: text("new phone"),
    };
    w.ok("admin", recover("carol", "carol-2"));
    assert_eq!(w.state.member(account("carol-2")).unwrap().unwrap().identity_expiry, FAR_FUTURE);
    w.ok("admin", Call::RevokeMember { account: account("alice"), reason: text("stolen key") });
    w.ok("admin", recover("alice", "alice-2"));
    assert_eq!(w.balance(&hkd(), "alice-2"), Amount(9));
    refused(&mut w, "admin", recover("alice", "alice-3"), ErrorCode::AlreadyRecovered);
}

#[test]
fn finding_6_a_deposit_never_lands_on_a_frozen_lessee() {
    // Proves a closed lease's deposit stays in escrow while the lessee is frozen, and is paid
    // once it can receive again.
    let (mut w, id) = bank();
    w.ok("fleet", Call::PayRent { lease: id, periods: 30 });
    w.ok("admin", Call::Freeze { account: account("fleet"), reason: text("review") });
    w.next.time = Timestamp(w.next.time.0 + 31 * DAY_MS);
    let before = cash(&w, "fleet");
    w.ok("issuer", Call::CloseLease { lease: id });
    assert_eq!(cash(&w, "fleet"), before);
    assert_eq!(lease(&w, id).deposit_held, Amount(DEPOSIT));
    invariants::check(&w.state).unwrap();
    refused(&mut w, "dave", Call::ReleaseDeposit { lease: id }, ErrorCode::ReceiverFrozen);
    w.ok("admin", Call::Unfreeze { account: account("fleet") });
    w.ok("dave", Call::ReleaseDeposit { lease: id });
    assert_eq!(cash(&w, "fleet"), before + DEPOSIT);
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_7_signed_terms_bind_their_lessor_and_lapse() {
    // Proves a lessee's signed offer opens only on its named lessor's side, and not after its
    // offer expiry.
    let (mut w, _) = bank();
    let offer = pool_b(&mut w, DEPOSIT);
    let lessee_signature = w.lessee_signs("fleet", &offer);
    let open = Call::OpenLease { terms: offer.clone(), lessee_signature };
    refused(&mut w, "mallory", open.clone(), ErrorCode::NotOwner);
    w.next.time = Timestamp(offer.offer_expiry.0 + 1);
    refused(&mut w, "issuer", open, ErrorCode::OfferExpired);
}

#[test]
fn finding_8_a_lease_binds_both_sides() {
    // Proves the lessee extends only within the agreed cap and before the term ends, closes
    // early only with the notice paid, and the lessor's early close says why it is refused.
    let (mut w, id) = bank();
    refused(
        &mut w,
        "fleet",
        Call::ExtendLease { lease: id, periods: 11 },
        ErrorCode::ExtensionCapExceeded,
    );
    w.ok("fleet", Call::ExtendLease { lease: id, periods: 10 });
    refused(
        &mut w,
        "fleet",
        Call::ExtendLease { lease: id, periods: 1 },
        ErrorCode::ExtensionCapExceeded,
    );
    refused(&mut w, "issuer", Call::CloseLease { lease: id }, ErrorCode::TermNotOver);
    refused(&mut w, "mallory", Call::CloseLease { lease: id }, ErrorCode::NotLessee);
    // One period has started; the notice is two more.
    w.ok("fleet", Call::PayRent { lease: id, periods: 2 });
    refused(&mut w, "fleet", Call::CloseLease { lease: id }, ErrorCode::RentOutstanding);
    w.ok("fleet", Call::PayRent { lease: id, periods: 1 });
    w.ok("fleet", Call::CloseLease { lease: id });
    // All three paid periods reached the holders; the deposit came back.
    let class = w.state.class(&sym("POOL-A")).unwrap().unwrap();
    assert_eq!(class.revenue.unwrap().deposited, Amount(3 * RENT));
    assert_eq!(cash(&w, "fleet"), FLEET_CASH + DEPOSIT - 3 * RENT);
    invariants::check(&w.state).unwrap();
    // Past the term, the lessee cannot extend a lease alone.
    let (mut w, id) = bank();
    w.next.time = Timestamp(w.next.time.0 + 31 * DAY_MS);
    refused(&mut w, "fleet", Call::ExtendLease { lease: id, periods: 1 }, ErrorCode::TermOver);
}

#[test]
fn finding_9_lumps_reach_holders_fairly() {
    // Proves revenue held at zero supply is released per unissued share (one share takes one
    // hundredth), and prepaid rent reaches the class only as each period starts.
    let (mut w, id) = bank();
    let offer = pool_b(&mut w, DEPOSIT);
    let _ = offer;
    w.ok("dave", Call::DepositRevenue { class: sym("POOL-B"), amount: Amount(1_000) });
    w.ok(
        "issuer",
        Call::IssueShares { class: sym("POOL-B"), to: account("issuer"), amount: Amount(1) },
    );
    w.ok("issuer", Call::ClaimRevenue { class: sym("POOL-B") });
    assert_eq!(w.balance(&hkd(), "issuer"), Amount(100), "one of ten shares takes a tenth");
    let pool = w.state.class(&sym("POOL-B")).unwrap().unwrap().revenue.unwrap();
    assert_eq!(pool.held, Amount(900));
    invariants::check(&w.state).unwrap();
    // Ten periods prepaid: one period (the one started) reaches the class now.
    let deposited =
        |w: &World| w.state.class(&sym("POOL-A")).unwrap().unwrap().revenue.unwrap().deposited;
    w.ok("fleet", Call::PayRent { lease: id, periods: 10 });
    assert_eq!(deposited(&w), Amount(RENT));
    assert_eq!(lease(&w, id).rent_held, Amount(9 * RENT));
    refused(&mut w, "dave", Call::SettleLease { lease: id }, ErrorCode::NothingToRelease);
    w.next.time = Timestamp(w.next.time.0 + 3 * DAY_MS);
    w.ok("dave", Call::SettleLease { lease: id });
    assert_eq!(deposited(&w), Amount(4 * RENT));
    invariants::check(&w.state).unwrap();
}

#[test]
fn finding_10_totals_per_currency_auditors_sign_nothing_trades_cancel() {
    // Proves station totals are kept per currency, an auditor cannot relay an attestation, and
    // a party cancels signed trade terms so they never settle.
    let (mut w, _) = bank();
    let call = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B2", 1_000));
    refused(&mut w, "auditor", call.clone(), ErrorCode::WrongRole);
    assert_eq!(w.submit("controller", call).outcome, TxOutcome::Applied);
    let station: Station = w.state.record(&Key::Station(sym(STATION))).unwrap().unwrap();
    let hkd_totals = station.totals.get(&sym("HKD")).unwrap();
    assert_eq!((hkd_totals.fees, hkd_totals.operator_cut), (Amount(1_000), Amount(100)));
    assert_eq!(station.totals.len(), 1);
    let trade = TradeTerms {
        maker: account("alice"),
        taker: account("dave"),
        maker_gives: Leg { asset: Asset::Shares(sym("POOL-A")), amount: Amount(5) },
        taker_gives: Leg { asset: hkd(), amount: Amount(500) },
        expiry_height: volt_proto::Height(w.next.height.0 + 100),
        salt: 3,
    };
    w.ok("alice", Call::CancelTrade { terms: trade.clone() });
    let counterparty_signature =
        volt_token::testkit::key("alice").sign_raw(&trade.signing_message(&w.chain_id));
    let settle = Call::Trade { terms: trade, counterparty_signature };
    refused(&mut w, "dave", settle, ErrorCode::TradeCancelled);
}

#[test]
fn an_oversized_record_is_a_failure_not_corruption() {
    // Proves the largest legitimate records stay far below the store's value limit: a class
    // of the most batteries allowed and a member with the most holdings.
    let limit = volt_token::STATE_VALUE_BYTES_MAX;
    let serials: Vec<_> =
        (0..volt_token::CLASS_BATTERIES_MAX).map(|i| serial(&format!("{i:0>50}"))).collect();
    assert!(volt_proto::codec::encode(&serials).len() < limit / 10);
    let member = Member {
        role: Role::Investor,
        identity_expiry: FAR_FUTURE,
        frozen: false,
        revoked: false,
        next_nonce: volt_proto::Nonce(u64::MAX),
        assets: u32::MAX,
        duties: u32::MAX,
        recovered_to: Some(AccountId([1; 32])),
    };
    assert!(volt_proto::codec::encode(&member).len() < 128);
}

#[test]
fn a_zero_balance_with_a_revenue_fraction_is_kept_but_not_listed() {
    // Proves a holder who sells every share keeps its exact sub-unit revenue fraction, without
    // taking a place in its holdings cap, and that whole units keep a zero balance listed.
    let (mut w, _) = bank();
    w.ok("dave", Call::DepositRevenue { class: sym("POOL-A"), amount: Amount(1) });
    let all = Call::Transfer {
        asset: Asset::Shares(sym("POOL-A")),
        to: account("dave"),
        amount: Amount(60),
    };
    w.ok("alice", all);
    let shares = Asset::Shares(sym("POOL-A"));
    let holding: volt_token::keys::Holding =
        w.state.record(&Key::Balance(shares.clone(), account("alice"))).unwrap().unwrap();
    assert_eq!(holding.amount, Amount::ZERO);
    assert!(holding.revenue_accrued > 0 && holding.revenue_accrued < 1 << 64);
    let listed: Option<()> = w.state.record(&Key::Holds(account("alice"), shares.clone())).unwrap();
    assert!(listed.is_none(), "a dust fraction took a place in the holdings cap");
    invariants::check(&w.state).unwrap();
    // Bob sells too after 100 units arrive: 40 whole units keep his zero balance listed.
    w.ok("dave", Call::DepositRevenue { class: sym("POOL-A"), amount: Amount(100) });
    let all = Call::Transfer { asset: shares.clone(), to: account("dave"), amount: Amount(40) };
    w.ok("bob", all);
    let listed: Option<()> = w.state.record(&Key::Holds(account("bob"), shares)).unwrap();
    assert!(listed.is_some());
    invariants::check(&w.state).unwrap();
}

#[test]
fn the_duties_cap_refuses_one_more_role() {
    // Proves a member's roles are capped at MEMBER_DUTIES_MAX with a failure, not a halt.
    let (mut w, _) = bank();
    let cap = volt_token::keys::MEMBER_DUTIES_MAX as usize;
    let held = w.state.member(account("dave")).unwrap().unwrap().duties as usize;
    let names: Vec<String> = (0..=cap - held).map(|i| format!("CAB-{i}")).collect();
    for chunk in names.chunks(4_000) {
        let txs: Vec<_> = chunk
            .iter()
            .map(|id| w.tx("dave", Call::RegisterVehicle { vehicle: sym(id) }))
            .collect();
        w.block(&txs);
    }
    let last = Call::RegisterVehicle { vehicle: sym("CAB-LAST") };
    let receipt = w.submit("dave", last);
    assert_eq!(receipt.outcome, TxOutcome::Failed(ErrorCode::TooManyDuties));
    assert_eq!(w.state.member(account("dave")).unwrap().unwrap().duties as usize, cap);
}

#[test]
fn a_large_tranche_releases_its_part_of_held_revenue() {
    // Proves issuing shares near u128::MAX while revenue is held releases the exact pro-rata
    // part instead of overflowing.
    let (mut w, _) = bank();
    let call = Call::CreateBatteryClass {
        class: sym("BIG"),
        name: text("big"),
        supply_max: Amount(u128::MAX),
        batteries: vec![serial("B9")],
        revenue_currency: sym("HKD"),
    };
    w.ok("issuer", call);
    w.ok("dave", Call::DepositRevenue { class: sym("BIG"), amount: Amount(10) });
    let tranche =
        Call::IssueShares { class: sym("BIG"), to: account("alice"), amount: Amount(1 << 127) };
    w.ok("issuer", tranche);
    let held = w.state.class(&sym("BIG")).unwrap().unwrap().revenue.unwrap().held;
    // 2¹²⁷ of u128::MAX shares release ⌊10 · 2¹²⁷ / (2¹²⁸ − 1)⌋ = 5 units.
    assert_eq!(held, Amount(5));
    invariants::check(&w.state).unwrap();
}

#[test]
fn a_swap_takes_its_battery_only_from_its_own_station() {
    // Proves the battery going in must sit in a slot of the attesting station, not of another
    // station of the same operator.
    let (mut w, _) = bank();
    let call = Call::RegisterStation {
        station: sym("ST-2"),
        controller: account("controller"),
        location: text("Tsuen Wan"),
        slots: 2,
        operator_cut_bps: 0,
    };
    w.ok("operator", call);
    let elsewhere = Custody::Station { station: sym("ST-2"), slot: 0 };
    w.ok("operator", Call::MoveCustody { serial: serial("B9"), to: elsewhere });
    let call = w.swap_call("controller", swap(STATION, 1, TAXI, "B1", "B9", 100));
    let receipt = w.submit("controller", call);
    assert_eq!(receipt.outcome, TxOutcome::Disputed(ErrorCode::WrongCustody));
    assert_eq!(cash(&w, "fleet"), FLEET_CASH);
}

#[test]
fn lease_boundaries_hold_to_the_millisecond() {
    // Proves each lease rule at its exact boundary: no zero extension, none at the term's end,
    // no default of a fully paid lease, none at the grace deadline itself, and no swap for a
    // vehicle of another fleet while the battery is leased.
    let (mut w, id) = bank();
    let start = lease(&w, id).start.0;
    refused(&mut w, "fleet", Call::ExtendLease { lease: id, periods: 0 }, ErrorCode::ZeroAmount);
    // Rent is paid through period 0 only; period 1 starts at start + 1 day, grace 3 days.
    w.ok("fleet", Call::PayRent { lease: id, periods: 1 });
    w.next.time = Timestamp(start + DAY_MS + 3 * DAY_MS);
    refused(&mut w, "issuer", Call::DefaultLease { lease: id }, ErrorCode::LeaseInGoodStanding);
    // Fully paid: never in default, even long after the term and the grace.
    let (mut w, id) = bank();
    let start = lease(&w, id).start.0;
    w.ok("fleet", Call::PayRent { lease: id, periods: 30 });
    w.next.time = Timestamp(start + 30 * DAY_MS);
    refused(&mut w, "fleet", Call::ExtendLease { lease: id, periods: 1 }, ErrorCode::TermOver);
    w.next.time = Timestamp(start + 40 * DAY_MS);
    refused(&mut w, "issuer", Call::DefaultLease { lease: id }, ErrorCode::LeaseInGoodStanding);
}

#[test]
fn a_delegate_may_not_lease_to_itself_but_the_issuer_may() {
    // Proves the self-dealing rule binds delegates only: the class's own issuer may lease its
    // class to itself.
    let (mut w, _) = bank();
    let mut offer = pool_b(&mut w, DEPOSIT);
    offer.lessee = account("operator");
    let lessee_signature = w.lessee_signs("operator", &offer);
    let call = Call::OpenLease { terms: offer.clone(), lessee_signature };
    refused(&mut w, "operator", call, ErrorCode::NotOwner);
    w.ok(
        "issuer",
        Call::Mint { currency: sym("HKD"), to: account("issuer"), amount: Amount(DEPOSIT) },
    );
    offer.lessee = account("issuer");
    let lessee_signature = w.lessee_signs("issuer", &offer);
    w.ok("issuer", Call::OpenLease { terms: offer, lessee_signature });
}

#[test]
fn a_swap_never_charges_a_fleet_for_a_battery_leased_to_another() {
    // Proves the battery going in must be leased to the vehicle's own fleet.
    let (mut w, _) = bank();
    w.ok("dave", Call::RegisterVehicle { vehicle: sym("TAXI-D") });
    let offer = LeaseTerms { lessee: account("dave"), ..pool_b(&mut w, DEPOSIT) };
    let lessee_signature = w.lessee_signs("dave", &offer);
    w.ok("issuer", Call::OpenLease { terms: offer, lessee_signature });
    w.ok(
        "operator",
        Call::MoveCustody { serial: serial("B9"), to: Custody::Vehicle(sym("TAXI-D")) },
    );
    let before = cash(&w, "dave");
    let call = w.swap_call("controller", swap(STATION, 1, "TAXI-D", "B9", "B2", 100));
    let receipt = w.submit("controller", call);
    assert_eq!(receipt.outcome, TxOutcome::Disputed(ErrorCode::BatteryNotLeased));
    assert_eq!(cash(&w, "dave"), before);
}
