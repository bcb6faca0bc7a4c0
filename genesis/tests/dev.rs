//! The dev genesis: one validator, the pilot's fixtures, its own chain id and timing.

use volt_genesis::{
    DEV_CHAIN_ID, GenesisError, KeyScheme, PILOT_GENESIS_TIME, dev_pilot, hong_kong_pilot,
    hong_kong_pilot_with_validators,
};

#[test]
fn dev_pilot_validates_with_one_validator() {
    // Proves the dev document passes validation with n = 1, keeps every pilot fixture, and
    // differs from the pilot in chain id, timing and id.
    let doc = dev_pilot(PILOT_GENESIS_TIME);
    doc.validate().unwrap();
    let pilot = hong_kong_pilot();
    assert_eq!(doc.validators.len(), 1);
    assert_eq!(doc.validators[0], pilot.validators[0]);
    assert_eq!(doc.chain_id.as_str(), DEV_CHAIN_ID);
    assert_eq!(doc.key_scheme, KeyScheme::DemoLabels);
    assert_eq!(doc.consensus.block_interval_ms, 100);
    assert!(doc.consensus.leader_timeout_ms < doc.consensus.advance_timeout_ms);
    assert_eq!(doc.stations, pilot.stations);
    assert_eq!(doc.batteries, pilot.batteries);
    assert_eq!(doc.members, pilot.members);
    assert_ne!(doc.id(), pilot.id());
}

#[test]
fn dev_pilot_is_a_function_of_its_genesis_time() {
    // Proves the same genesis time gives the same id and another time another id.
    let t = PILOT_GENESIS_TIME;
    assert_eq!(dev_pilot(t).id(), dev_pilot(t).id());
    let later = volt_proto::Timestamp(t.0 + 1_000);
    assert_ne!(dev_pilot(t).id(), dev_pilot(later).id());
    dev_pilot(later).validate().unwrap();
}

#[test]
fn two_or_three_validators_are_still_refused() {
    // Proves n = 1 is the only exception below 4: n = 2 and 3 tolerate no fault yet halt
    // when any one stops.
    for n in [0, 2, 3, 65] {
        let err = hong_kong_pilot_with_validators(n).validate().unwrap_err();
        assert!(matches!(err, GenesisError::Count { actual, .. } if actual == n), "n = {n}: {err}");
    }
    hong_kong_pilot_with_validators(1).validate().unwrap();
}
