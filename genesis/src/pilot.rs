//! The embedded default network: the Hong Kong battery-swap pilot.
//!
//! Everything is generated from fixed tables, so the document (and its [`GenesisDoc::id`]) is
//! the same on every machine. Amounts are HKD cents.

use crate::doc::{
    Allocation, Balance, BatteryEntry, ConsensusParams, CurrencyEntry, GenesisDoc, KeyScheme,
    LeasePlan, MemberEntry, Placement, PoolEntry, StationEntry, ValidatorEntry, VehicleEntry,
    demo_keypair,
};
use volt_proto::{
    Amount, BatteryCategory, ChainId, Hash, Passport, Role, Serial, Symbol, Text, Timestamp,
};

/// The pilot's chain id.
pub const PILOT_CHAIN_ID: &str = "volt-hk-pilot";
/// Genesis time: 2026-06-01T00:00:00+08:00 (Hong Kong), in ms since the Unix epoch.
pub const PILOT_GENESIS_TIME: Timestamp = Timestamp(1_780_243_200_000);
/// Identity checks of pilot members lapse on 2030-01-01T00:00:00Z.
const IDENTITY_EXPIRY: Timestamp = Timestamp(1_893_456_000_000);
/// Label prefix of every demo key in the pilot.
const KEY_PREFIX: &str = "volt-hk-pilot/demo-key";

/// Validator operators, in leader order (the first 4 form the default set; 7 for `n = 7`).
const VALIDATOR_NAMES: [&str; 7] =
    ["hkt-1", "clp-2", "mtr-3", "hkex-4", "cyberport-5", "hkust-6", "towngas-7"];
/// District code and name: station ids are `HK-<code>-<nnn>`.
const DISTRICTS: [(&str, &str); 12] = [
    ("KC", "Kwai Chung"),
    ("ST", "Sha Tin"),
    ("TW", "Tsuen Wan"),
    ("KT", "Kwun Tong"),
    ("MK", "Mong Kok"),
    ("TM", "Tuen Mun"),
    ("YL", "Yuen Long"),
    ("CW", "Chai Wan"),
    ("AB", "Aberdeen"),
    ("TKO", "Tseung Kwan O"),
    ("TP", "Tai Po"),
    ("SSP", "Sham Shui Po"),
];
/// Pool class, pool name, fleet member, vehicle id prefix.
const POOLS: [(&str, &str, &str, &str); 3] = [
    ("POOL-KLN", "Kowloon taxi battery bank", "fleet-kowloon-taxi", "TX-KLN"),
    ("POOL-NT", "New Territories taxi battery bank", "fleet-nt-taxi", "TX-NT"),
    ("POOL-HKI", "Hong Kong Island taxi battery bank", "fleet-island-taxi", "TX-HKI"),
];
/// Swap stations in the pilot.
pub const PILOT_STATIONS: usize = 55;
/// Batteries per pool.
const BATTERIES_PER_POOL: usize = 220;
/// Taxis per fleet (each starts with one battery of its fleet's pool).
const TAXIS_PER_FLEET: usize = 60;
/// Investors holding pool shares.
const INVESTORS: usize = 20;
/// Shares of each pool (every investor receives an equal part).
const SHARES_PER_POOL: u128 = 10_000;
/// HKD 1 in cents.
const HKD: u128 = 100;

fn symbol(text: &str) -> Symbol {
    match Symbol::new(text) {
        Ok(s) => s,
        // The pilot's tables are constants checked by this crate's tests.
        Err(e) => panic!("pilot table symbol {text:?} is invalid: {e}"),
    }
}

fn text(value: &str) -> Text {
    match Text::new(value) {
        Ok(t) => t,
        Err(e) => panic!("pilot table text {value:?} is invalid: {e}"),
    }
}

fn serial(value: &str) -> Serial {
    match Serial::new(value) {
        Ok(s) => s,
        Err(e) => panic!("pilot table serial {value:?} is invalid: {e}"),
    }
}

/// The embedded Hong Kong pilot with its 4 validators.
pub fn hong_kong_pilot() -> GenesisDoc {
    hong_kong_pilot_with_validators(4)
}

/// The Hong Kong pilot with `n` validators (4 to 7: the named operators); more than 7 are
/// named `validator-<i>`. The rest of the document does not change.
pub fn hong_kong_pilot_with_validators(n: usize) -> GenesisDoc {
    let chain_id = match ChainId::new(PILOT_CHAIN_ID) {
        Ok(id) => id,
        Err(e) => panic!("pilot chain id is invalid: {e}"),
    };
    let mut doc = GenesisDoc {
        chain_id,
        genesis_time: PILOT_GENESIS_TIME,
        key_scheme: KeyScheme::DemoLabels,
        consensus: ConsensusParams {
            block_interval_ms: 60_000,
            leader_timeout_ms: 65_000,
            advance_timeout_ms: 70_000,
            retry_ms: 2_000,
            fetch_retry_ms: 1_000,
        },
        validators: validators(n),
        members: Vec::new(),
        currencies: vec![CurrencyEntry { symbol: symbol("HKD"), issuer: "issuer".into() }],
        stations: Vec::new(),
        pools: Vec::new(),
        batteries: Vec::new(),
        vehicles: Vec::new(),
        allocations: Vec::new(),
        balances: Vec::new(),
    };
    add_members(&mut doc);
    add_stations(&mut doc);
    add_pools_and_fleets(&mut doc);
    add_batteries(&mut doc);
    add_holdings(&mut doc);
    doc
}

fn validators(n: usize) -> Vec<ValidatorEntry> {
    (0..n)
        .map(|i| {
            let name =
                VALIDATOR_NAMES.get(i).map_or_else(|| format!("validator-{i}"), |s| s.to_string());
            let key_label = format!("{KEY_PREFIX}/validator/{name}");
            let account = demo_keypair(&key_label).account();
            ValidatorEntry { name, key_label, account }
        })
        .collect()
}

fn member(name: &str, role: Role) -> MemberEntry {
    let key_label = format!("{KEY_PREFIX}/member/{name}");
    let account = demo_keypair(&key_label).account();
    MemberEntry {
        name: name.to_owned(),
        role,
        key_label,
        account,
        identity_expiry: IDENTITY_EXPIRY,
    }
}

/// The name of the controller member of a station.
fn controller_name(station: &str) -> String {
    format!("controller-{station}")
}

fn add_members(doc: &mut GenesisDoc) {
    for (name, role) in [
        ("admin", Role::Admin),
        ("issuer", Role::Issuer),
        ("operator", Role::Operator),
        ("auditor", Role::Auditor),
    ] {
        doc.members.push(member(name, role));
    }
    for (_, _, fleet, _) in POOLS {
        doc.members.push(member(fleet, Role::Investor));
    }
    for i in 1..=INVESTORS {
        doc.members.push(member(&format!("investor-{i:02}"), Role::Investor));
    }
}

fn add_stations(doc: &mut GenesisDoc) {
    for i in 0..PILOT_STATIONS {
        let (code, district) = DISTRICTS[i % DISTRICTS.len()];
        let id = format!("HK-{code}-{:03}", i / DISTRICTS.len() + 1);
        // 8 to 20 slots, spread by a fixed stride; cuts of 10 %, 12.5 % or 15 %.
        let slots = 8 + (i * 7 % 13) as u16;
        let operator_cut_bps = [1_000, 1_250, 1_500][i % 3];
        let controller = controller_name(&id);
        doc.members.push(member(&controller, Role::Station));
        doc.stations.push(StationEntry {
            id: symbol(&id),
            location: text(&format!("{district}, Hong Kong")),
            slots,
            operator_cut_bps,
            operator: "operator".into(),
            controller,
        });
    }
}

fn add_pools_and_fleets(doc: &mut GenesisDoc) {
    for (class, name, fleet, prefix) in POOLS {
        doc.pools.push(PoolEntry {
            class: symbol(class),
            name: text(name),
            issuer: "issuer".into(),
            lessor: "operator".into(),
            supply_max: Amount(SHARES_PER_POOL),
            revenue_currency: symbol("HKD"),
            lessee: fleet.into(),
            lease: LeasePlan {
                // HKD 800 an hour for 220 packs (about HKD 87 a pack a day), for 90 days.
                rent_per_period: Amount(800 * HKD),
                period_ms: 3_600_000,
                periods: 24 * 90,
                deposit: Amount(500_000 * HKD),
                grace_ms: 24 * 3_600_000,
                // The fleet agrees to at most HKD 5 a kWh plus HKD 10 a swap.
                fee_per_swap_max: Amount(10 * HKD),
                fee_per_kwh_max: Amount(5 * HKD),
                extension_periods_max: 24 * 30,
                notice_periods: 24,
            },
        });
        for t in 1..=TAXIS_PER_FLEET {
            doc.vehicles.push(VehicleEntry {
                id: symbol(&format!("{prefix}-{t:03}")),
                fleet: fleet.into(),
            });
        }
        doc.balances.push(Balance {
            holder: fleet.into(),
            currency: symbol("HKD"),
            amount: Amount(5_000_000 * HKD),
        });
    }
}

/// A 52 kWh LFP swap pack's passport.
fn passport(serial: &str, batch: usize) -> Passport {
    Passport {
        product_id: text(&format!("urn:volt:hk-pilot:battery:{serial}")),
        category: BatteryCategory::Ev,
        chemistry: text("LFP"),
        manufacturer: text("Contemporary Amperex Technology"),
        // Spring 2026 production batches, one day apart.
        manufacturing_date: Timestamp(1_772_323_200_000 + (batch as u64 % 30) * 86_400_000),
        manufacturing_place: text("Ningde, CN"),
        rated_capacity_mah: 162_000_000,
        rated_energy_wh: 52_000,
        nominal_voltage_mv: 320_000,
        expected_lifetime_cycles: 3_000,
        carbon_footprint_g_per_kwh: 61_000,
        document_hash: Hash::of(serial.as_bytes()),
        document_uri: text(&format!("https://passport.volt.example/hk/{serial}")),
    }
}

/// Batteries, interleaved across pools: one per taxi of the pool's fleet, the rest filling
/// station slots slot by slot across all stations (so every station holds every pool).
fn add_batteries(doc: &mut GenesisDoc) {
    let mut station_places = Vec::new();
    let slots_max = doc.stations.iter().map(|s| s.slots).max().unwrap_or(0);
    for slot in 0..slots_max {
        for s in doc.stations.iter().filter(|s| slot < s.slots) {
            station_places.push(Placement::Station { station: s.id.clone(), slot });
        }
    }
    let mut station_places = station_places.into_iter();
    for k in 0..BATTERIES_PER_POOL {
        for (p, (class, _, _, prefix)) in POOLS.iter().enumerate() {
            let index = k * POOLS.len() + p;
            let id = format!("CATL-HK-{:05}", index + 1);
            let placement = if k < TAXIS_PER_FLEET {
                Placement::Vehicle(symbol(&format!("{prefix}-{:03}", k + 1)))
            } else {
                station_places.next().unwrap_or(Placement::Warehouse)
            };
            doc.batteries.push(BatteryEntry {
                passport: passport(&id, index / 24),
                serial: serial(&id),
                pool: symbol(class),
                warehouse: symbol("WH-KWAI-CHUNG"),
                placement,
            });
        }
    }
}

fn add_holdings(doc: &mut GenesisDoc) {
    let each = SHARES_PER_POOL / INVESTORS as u128;
    for i in 1..=INVESTORS {
        let holder = format!("investor-{i:02}");
        for (class, ..) in POOLS {
            doc.allocations.push(Allocation {
                holder: holder.clone(),
                class: symbol(class),
                shares: Amount(each),
            });
        }
        doc.balances.push(Balance {
            holder,
            currency: symbol("HKD"),
            amount: Amount(200_000 * HKD),
        });
    }
}
