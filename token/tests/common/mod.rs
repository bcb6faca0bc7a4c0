//! The battery bank both the consent regressions and the outside attacker's reproductions
//! start from, and the helpers that check a refused call changed nothing.

// Not every test file uses every helper.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use volt_proto::{Amount, Call, Custody, ErrorCode, Hash, LeaseTerms, Role, Timestamp, TxOutcome};
use volt_token::invariants;
use volt_token::keys::{Key, Lease};
use volt_token::store::Entry;
use volt_token::testkit::{World, account, genesis, hkd, passport, serial, sym, text};

pub const STATION: &str = "ST-1";
pub const TAXI: &str = "TAXI-1";
pub const DAY_MS: u64 = 86_400_000;
pub const RENT: u128 = 1_000;
pub const DEPOSIT: u128 = 5_000;
pub const FLEET_CASH: u128 = 95_000;
/// The fleet agreed to at most 5 HKD cents per Wh·1000 (per kWh) and nothing fixed.
pub const FEE_PER_KWH_MAX: u128 = 500;

pub const MEMBERS: [(&str, Role); 12] = [
    ("admin", Role::Admin),
    ("issuer", Role::Issuer),
    ("issuer2", Role::Issuer),
    ("operator", Role::Operator),
    ("mallory", Role::Operator),
    ("controller", Role::Station),
    ("mctrl", Role::Station),
    ("auditor", Role::Auditor),
    ("fleet", Role::Investor),
    ("alice", Role::Investor),
    ("bob", Role::Investor),
    ("dave", Role::Investor),
];

pub fn terms(w: &World, salt: u64) -> LeaseTerms {
    LeaseTerms {
        class: sym("POOL-A"),
        lessor: account("issuer"),
        lessee: account("fleet"),
        offer_expiry: Timestamp(w.next.time.0 + DAY_MS),
        fee_per_swap_max: Amount::ZERO,
        fee_per_kwh_max: Amount(FEE_PER_KWH_MAX),
        rent_per_period: Amount(RENT),
        period_ms: DAY_MS,
        periods: 30,
        deposit: Amount(DEPOSIT),
        grace_ms: 3 * DAY_MS,
        extension_periods_max: 10,
        notice_periods: 2,
        salt,
    }
}

/// The operator owns B1..B3 (POOL-A, issued by `issuer`: alice 60, bob 40) and B9 (no class);
/// its station ST-1 (cut 10 %) holds B2 and B3; the fleet's TAXI-1 carries B1 under a lease
/// opened by the operator as the issuer's delegate. Mallory is another operator with its own
/// station MST (cut 100 %).
pub fn bank() -> (World, Hash) {
    let mut w = World::from_genesis(&genesis(&MEMBERS));
    let station = |id: &str, controller: &str, cut| Call::RegisterStation {
        station: sym(id),
        controller: account(controller),
        location: text("Kwai Chung"),
        slots: 8,
        operator_cut_bps: cut,
    };
    w.ok("operator", station(STATION, "controller", 1_000));
    w.ok("mallory", station("MST", "mctrl", 10_000));
    for id in ["B1", "B2", "B3", "B9"] {
        let call = Call::RegisterBattery {
            serial: serial(id),
            passport: passport(id),
            warehouse: sym("WH-1"),
        };
        w.ok("operator", call);
    }
    w.ok("operator", Call::SetDelegate { delegate: account("issuer"), allowed: true });
    w.ok("issuer", Call::SetDelegate { delegate: account("operator"), allowed: true });
    w.ok(
        "issuer",
        Call::CreateBatteryClass {
            class: sym("POOL-A"),
            name: text("Kwai Chung pool"),
            supply_max: Amount(100),
            batteries: vec![serial("B1"), serial("B2"), serial("B3")],
            revenue_currency: sym("HKD"),
        },
    );
    for (to, amount) in [("alice", 60), ("bob", 40)] {
        let call =
            Call::IssueShares { class: sym("POOL-A"), to: account(to), amount: Amount(amount) };
        w.ok("issuer", call);
    }
    for (to, amount) in [("fleet", FLEET_CASH + DEPOSIT), ("alice", 10_000), ("dave", 10_000)] {
        let call = Call::Mint { currency: sym("HKD"), to: account(to), amount: Amount(amount) };
        w.ok("issuer", call);
    }
    w.ok("fleet", Call::RegisterVehicle { vehicle: sym(TAXI) });
    for (id, slot) in [("B2", 0), ("B3", 1)] {
        let to = Custody::Station { station: sym(STATION), slot };
        w.ok("operator", Call::MoveCustody { serial: serial(id), to });
    }
    let terms = terms(&w, 1);
    let lessee_signature = w.lessee_signs("fleet", &terms);
    w.ok("operator", Call::OpenLease { terms: terms.clone(), lessee_signature });
    w.ok("operator", Call::MoveCustody { serial: serial("B1"), to: Custody::Vehicle(sym(TAXI)) });
    invariants::check(&w.state).unwrap();
    (w, terms.id())
}

/// Every entry except the signer's member record (its nonce) and the chain metadata.
pub fn entries_but(w: &World, signer: &str) -> Vec<Entry> {
    let skip = [Key::Member(account(signer)).encode(), Key::Meta.encode()];
    w.state.entries().unwrap().into_iter().filter(|(k, _)| !skip.contains(k)).collect()
}

/// Submits `call` from `name`, expects `Failed(code)`, and checks nothing else changed.
pub fn refused(w: &mut World, name: &str, call: Call, code: ErrorCode) {
    let before = entries_but(w, name);
    let receipt = w.submit(name, call);
    assert_eq!(receipt.outcome, TxOutcome::Failed(code), "{name}'s call");
    assert!(entries_but(w, name) == before, "a refused call from {name} changed the state");
}

pub fn cash(w: &World, name: &str) -> u128 {
    w.balance(&hkd(), name).0
}

pub fn lease(w: &World, id: Hash) -> Lease {
    w.state.record(&Key::Lease(id)).unwrap().unwrap()
}

/// POOL-B over B9 (the issuer's class, with no lease yet) and terms for it with `deposit`.
pub fn pool_b(w: &mut World, deposit: u128) -> LeaseTerms {
    let call = Call::CreateBatteryClass {
        class: sym("POOL-B"),
        name: text("spare"),
        supply_max: Amount(10),
        batteries: vec![serial("B9")],
        revenue_currency: sym("HKD"),
    };
    w.ok("issuer", call);
    LeaseTerms { class: sym("POOL-B"), deposit: Amount(deposit), ..terms(w, 2) }
}
