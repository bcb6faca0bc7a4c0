//! The embedded Hong Kong pilot document and the validation rules.

use volt_genesis::{
    GenesisDoc, GenesisError, Placement, hong_kong_pilot, hong_kong_pilot_with_validators,
};
use volt_proto::{AccountId, Role};

fn pilot() -> GenesisDoc {
    hong_kong_pilot()
}

#[test]
fn pilot_is_valid_and_has_the_advertised_size() {
    // Proves the embedded default validates and holds what the docs promise.
    let doc = pilot();
    assert_eq!(doc.validate(), Ok(()));
    assert_eq!(doc.chain_id.as_str(), "volt-hk-pilot");
    assert_eq!(doc.validators.len(), 4);
    assert_eq!(doc.stations.len(), 55);
    assert!(doc.batteries.len() >= 500);
    assert_eq!(doc.pools.len(), 3);
    let investors = doc.members.iter().filter(|m| m.name.starts_with("investor-")).count();
    assert_eq!(investors, 20);
    assert!(doc.stations.iter().all(|s| (8..=20).contains(&s.slots)));
    assert!(doc.stations.iter().any(|s| s.id.as_str() == "HK-KC-001"));
    for role in [Role::Admin, Role::Issuer, Role::Operator, Role::Auditor, Role::Station] {
        assert!(doc.members.iter().any(|m| m.role == role), "no {role:?}");
    }
}

#[test]
fn pilot_is_deterministic_and_seven_validators_validate() {
    // Proves the document is identical every time and the 7-validator variant is valid.
    assert_eq!(pilot().id(), pilot().id());
    let seven = hong_kong_pilot_with_validators(7);
    assert_eq!(seven.validate(), Ok(()));
    assert_eq!(seven.validators.len(), 7);
    assert_ne!(seven.id(), pilot().id());
}

#[test]
fn every_station_holds_batteries_of_every_pool() {
    // Proves the load driver finds swappable packs of each fleet's pool at every station.
    let doc = pilot();
    for station in &doc.stations {
        for pool in &doc.pools {
            let here = doc.batteries.iter().any(|b| {
                b.pool == pool.class
                    && matches!(&b.placement, Placement::Station { station: s, .. } if *s == station.id)
            });
            assert!(here, "{} holds no battery of {}", station.id, pool.class);
        }
    }
    for vehicle in &doc.vehicles {
        let count = doc
            .batteries
            .iter()
            .filter(|b| b.placement == Placement::Vehicle(vehicle.id.clone()))
            .count();
        assert_eq!(count, 1, "{} starts with {count} batteries", vehicle.id);
    }
}

#[test]
fn duplicate_station_id_is_named() {
    // Proves a repeated station id is refused naming both entries.
    let mut doc = pilot();
    doc.stations[7].id = doc.stations[2].id.clone();
    let err = doc.validate().unwrap_err();
    assert!(matches!(&err, GenesisError::Duplicate { field, .. } if field == "stations[7].id"));
    assert!(err.to_string().contains("stations[2].id"), "{err}");
}

#[test]
fn weak_and_mismatched_keys_are_refused() {
    // Proves a small-order key and a key that does not derive from its demo label are refused.
    let mut doc = pilot();
    let mut weak = [0u8; 32];
    weak[0] = 1; // the identity point: small order
    doc.members[3].account = AccountId(weak);
    let err = doc.validate().unwrap_err();
    assert!(matches!(&err, GenesisError::WeakKey { field, .. } if field == "members[3].account"));

    let mut doc = pilot();
    doc.validators[1].key_label.push('x');
    let err = doc.validate().unwrap_err();
    assert!(
        matches!(&err, GenesisError::KeyMismatch { field, .. } if field == "validators[1].account")
    );
}

#[test]
fn duplicate_validator_key_and_too_few_validators_are_refused() {
    // Proves a validator key used twice and a set below 4 are refused.
    let mut doc = pilot();
    doc.validators[3] = doc.validators[0].clone();
    doc.validators[3].name = "other".into();
    let err = doc.validate().unwrap_err();
    assert!(
        matches!(&err, GenesisError::Duplicate { field, .. } if field == "validators[3].account")
    );

    let mut doc = pilot();
    doc.validators.truncate(3);
    assert!(matches!(doc.validate(), Err(GenesisError::Count { actual: 3, .. })));
}

#[test]
fn references_and_roles_are_checked() {
    // Proves unknown members, wrong roles, unknown pools and bad slots name their field.
    let mut doc = pilot();
    doc.stations[0].controller = "nobody".into();
    let err = doc.validate().unwrap_err();
    assert!(
        matches!(&err, GenesisError::Unknown { field, .. } if field == "stations[0].controller")
    );

    let mut doc = pilot();
    doc.currencies[0].issuer = "operator".into();
    let err = doc.validate().unwrap_err();
    assert!(
        matches!(&err, GenesisError::WrongRole { field, .. } if field == "currencies[0].issuer")
    );

    let mut doc = pilot();
    doc.stations[4].slots = 0;
    let err = doc.validate().unwrap_err();
    assert!(matches!(&err, GenesisError::OutOfRange { field, .. } if field == "stations[4].slots"));
}

#[test]
fn two_batteries_in_one_place_are_refused() {
    // Proves starting places are exclusive: one battery per slot and per vehicle.
    let mut doc = pilot();
    let taken = doc.batteries[0].placement.clone();
    doc.batteries[3].placement = taken; // same pool, so only the place clashes
    let err = doc.validate().unwrap_err();
    assert!(
        matches!(&err, GenesisError::PlaceTaken { field, .. } if field == "batteries[3].placement")
    );
}

#[test]
fn over_allocation_is_refused() {
    // Proves shares allocated beyond a pool's supply are refused.
    let mut doc = pilot();
    doc.allocations[0].shares = volt_proto::Amount(1_000_000);
    let err = doc.validate().unwrap_err();
    assert!(
        matches!(&err, GenesisError::OutOfRange { field, .. } if field == "allocations[0].class")
    );
}
