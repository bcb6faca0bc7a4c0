//! [`GenesisDoc::validate`]: checked once, before the document is used.

use crate::doc::{GenesisDoc, KeyScheme, Placement, demo_keypair};
use crate::error::GenesisError;
use crate::{
    BPS_ONE, STATION_SLOTS_MAX, STATION_SLOTS_MIN, VALIDATORS_DEV, VALIDATORS_MAX, VALIDATORS_MIN,
};
use std::collections::BTreeMap;
use volt_proto::sig::PublicKey;
use volt_proto::{AccountId, Amount, Role};

/// First occurrence of each value, to report duplicates with both places.
struct Seen<K: Ord>(BTreeMap<K, String>);

impl<K: Ord + std::fmt::Display + Clone> Seen<K> {
    fn new() -> Self {
        Seen(BTreeMap::new())
    }

    fn insert(&mut self, value: &K, field: String) -> Result<(), GenesisError> {
        if let Some(first) = self.0.get(value) {
            return Err(GenesisError::Duplicate {
                field,
                value: value.to_string(),
                first: first.clone(),
            });
        }
        self.0.insert(value.clone(), field);
        Ok(())
    }
}

fn range(field: String, actual: u128, min: u128, max: u128) -> Result<(), GenesisError> {
    if actual < min || actual > max {
        return Err(GenesisError::OutOfRange { field, actual, min, max });
    }
    Ok(())
}

fn positive(field: String, amount: Amount) -> Result<(), GenesisError> {
    range(field, amount.0, 1, u128::MAX)
}

fn check_key(
    scheme: KeyScheme,
    field: String,
    account: AccountId,
    label: &str,
) -> Result<(), GenesisError> {
    if PublicKey::from_account(account).is_err() {
        return Err(GenesisError::WeakKey { field, account: account.to_string() });
    }
    if scheme == KeyScheme::DemoLabels && demo_keypair(label).account() != account {
        return Err(GenesisError::KeyMismatch { field, label: label.to_owned() });
    }
    Ok(())
}

impl GenesisDoc {
    /// Checks the whole document: counts, uniqueness, keys, cross-references, roles, ranges and
    /// starting places. The first problem found is returned, naming its field.
    pub fn validate(&self) -> Result<(), GenesisError> {
        self.check_consensus()?;
        self.check_validators()?;
        self.check_members()?;
        self.check_currencies()?;
        self.check_stations()?;
        self.check_pools()?;
        self.check_vehicles()?;
        self.check_batteries()?;
        self.check_allocations()?;
        self.check_balances()
    }

    fn check_consensus(&self) -> Result<(), GenesisError> {
        let c = &self.consensus;
        range("consensus.block_interval_ms".into(), c.block_interval_ms.into(), 1, 3_600_000)?;
        let after_interval = u128::from(c.block_interval_ms) + 1;
        range(
            "consensus.leader_timeout_ms".into(),
            c.leader_timeout_ms.into(),
            after_interval,
            u64::MAX.into(),
        )?;
        let after_leader = u128::from(c.leader_timeout_ms) + 1;
        range(
            "consensus.advance_timeout_ms".into(),
            c.advance_timeout_ms.into(),
            after_leader,
            u64::MAX.into(),
        )?;
        range("consensus.retry_ms".into(), c.retry_ms.into(), 1, u64::MAX.into())?;
        range("consensus.fetch_retry_ms".into(), c.fetch_retry_ms.into(), 1, u64::MAX.into())
    }

    fn check_validators(&self) -> Result<(), GenesisError> {
        let n = self.validators.len();
        if n != VALIDATORS_DEV && !(VALIDATORS_MIN..=VALIDATORS_MAX).contains(&n) {
            let (min, max) = (VALIDATORS_MIN, VALIDATORS_MAX);
            return Err(GenesisError::Count { field: "validators".into(), actual: n, min, max });
        }
        let mut names = Seen::new();
        let mut keys = Seen::new();
        for (i, v) in self.validators.iter().enumerate() {
            names.insert(&v.name, format!("validators[{i}].name"))?;
            keys.insert(&v.account, format!("validators[{i}].account"))?;
            check_key(
                self.key_scheme,
                format!("validators[{i}].account"),
                v.account,
                &v.key_label,
            )?;
        }
        Ok(())
    }

    fn check_members(&self) -> Result<(), GenesisError> {
        let mut names = Seen::new();
        let mut keys = Seen::new();
        for (i, m) in self.members.iter().enumerate() {
            names.insert(&m.name, format!("members[{i}].name"))?;
            keys.insert(&m.account, format!("members[{i}].account"))?;
            check_key(self.key_scheme, format!("members[{i}].account"), m.account, &m.key_label)?;
            let after_genesis = u128::from(self.genesis_time.0) + 1;
            let field = format!("members[{i}].identity_expiry");
            range(field, m.identity_expiry.0.into(), after_genesis, u64::MAX.into())?;
        }
        if !self.members.iter().any(|m| m.role == Role::Admin) {
            let reason = "no member has the admin role".into();
            return Err(GenesisError::Missing { field: "members".into(), reason });
        }
        Ok(())
    }

    /// The member `name` referred to by `field`, which must have one of `roles`.
    fn role_of(&self, field: String, name: &str, roles: &[Role]) -> Result<(), GenesisError> {
        let Some(member) = self.member(name) else {
            return Err(GenesisError::Unknown { field, kind: "member", value: name.to_owned() });
        };
        if !roles.contains(&member.role) {
            let expected = roles.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(" or ");
            let actual = format!("{:?}", member.role);
            return Err(GenesisError::WrongRole { field, member: name.into(), expected, actual });
        }
        Ok(())
    }

    fn currency_known(
        &self,
        field: String,
        symbol: &volt_proto::Symbol,
    ) -> Result<(), GenesisError> {
        if self.currencies.iter().any(|c| c.symbol == *symbol) {
            return Ok(());
        }
        Err(GenesisError::Unknown { field, kind: "currency", value: symbol.to_string() })
    }

    fn check_currencies(&self) -> Result<(), GenesisError> {
        let mut seen = Seen::new();
        for (i, c) in self.currencies.iter().enumerate() {
            seen.insert(&c.symbol, format!("currencies[{i}].symbol"))?;
            self.role_of(format!("currencies[{i}].issuer"), &c.issuer, &[Role::Issuer])?;
        }
        Ok(())
    }

    fn check_stations(&self) -> Result<(), GenesisError> {
        let mut ids = Seen::new();
        let mut controllers = Seen::new();
        for (i, s) in self.stations.iter().enumerate() {
            ids.insert(&s.id, format!("stations[{i}].id"))?;
            let (min, max) = (STATION_SLOTS_MIN.into(), STATION_SLOTS_MAX.into());
            range(format!("stations[{i}].slots"), s.slots.into(), min, max)?;
            let cut = format!("stations[{i}].operator_cut_bps");
            range(cut, s.operator_cut_bps.into(), 0, BPS_ONE.into())?;
            self.role_of(format!("stations[{i}].operator"), &s.operator, &[Role::Operator])?;
            let field = format!("stations[{i}].controller");
            self.role_of(field.clone(), &s.controller, &[Role::Station])?;
            controllers.insert(&s.controller, field)?;
        }
        Ok(())
    }

    fn check_pools(&self) -> Result<(), GenesisError> {
        let mut classes = Seen::new();
        for (i, p) in self.pools.iter().enumerate() {
            classes.insert(&p.class, format!("pools[{i}].class"))?;
            self.role_of(format!("pools[{i}].issuer"), &p.issuer, &[Role::Issuer])?;
            self.role_of(format!("pools[{i}].lessor"), &p.lessor, &[Role::Operator])?;
            self.role_of(format!("pools[{i}].lessee"), &p.lessee, &[Role::Investor])?;
            positive(format!("pools[{i}].supply_max"), p.supply_max)?;
            self.currency_known(format!("pools[{i}].revenue_currency"), &p.revenue_currency)?;
            let l = &p.lease;
            range(format!("pools[{i}].lease.period_ms"), l.period_ms.into(), 1, u64::MAX.into())?;
            range(format!("pools[{i}].lease.periods"), l.periods.into(), 1, u32::MAX.into())?;
            if !self.batteries.iter().any(|b| b.pool == p.class) {
                let reason = "the pool holds no battery".into();
                return Err(GenesisError::Missing { field: format!("pools[{i}]"), reason });
            }
        }
        Ok(())
    }

    fn check_vehicles(&self) -> Result<(), GenesisError> {
        let mut ids = Seen::new();
        for (i, v) in self.vehicles.iter().enumerate() {
            ids.insert(&v.id, format!("vehicles[{i}].id"))?;
            self.role_of(format!("vehicles[{i}].fleet"), &v.fleet, &[Role::Investor])?;
        }
        Ok(())
    }

    fn check_batteries(&self) -> Result<(), GenesisError> {
        let mut serials = Seen::new();
        let mut places: BTreeMap<String, String> = BTreeMap::new();
        for (i, b) in self.batteries.iter().enumerate() {
            serials.insert(&b.serial, format!("batteries[{i}].serial"))?;
            let Some(pool) = self.pools.iter().find(|p| p.class == b.pool) else {
                let (field, value) = (format!("batteries[{i}].pool"), b.pool.to_string());
                return Err(GenesisError::Unknown { field, kind: "pool", value });
            };
            let field = format!("batteries[{i}].placement");
            let place = match &b.placement {
                Placement::Warehouse => continue,
                Placement::Station { station, slot } => {
                    let Some(s) = self.stations.iter().find(|s| s.id == *station) else {
                        let value = station.to_string();
                        return Err(GenesisError::Unknown { field, kind: "station", value });
                    };
                    range(field.clone(), (*slot).into(), 0, (s.slots - 1).into())?;
                    format!("station {station} slot {slot}")
                }
                Placement::Vehicle(id) => {
                    let Some(v) = self.vehicles.iter().find(|v| v.id == *id) else {
                        let value = id.to_string();
                        return Err(GenesisError::Unknown { field, kind: "vehicle", value });
                    };
                    if v.fleet != pool.lessee {
                        let reason = format!(
                            "vehicle {id} belongs to {}, but pool {} is leased to {}",
                            v.fleet, pool.class, pool.lessee
                        );
                        return Err(GenesisError::Missing { field, reason });
                    }
                    format!("vehicle {id}")
                }
            };
            if let Some(other) = places.insert(place.clone(), b.serial.to_string()) {
                return Err(GenesisError::PlaceTaken { field, place, other });
            }
        }
        Ok(())
    }

    fn check_allocations(&self) -> Result<(), GenesisError> {
        let mut issued: BTreeMap<&volt_proto::Symbol, u128> = BTreeMap::new();
        for (i, a) in self.allocations.iter().enumerate() {
            let holder = [Role::Investor, Role::Issuer, Role::Operator];
            self.role_of(format!("allocations[{i}].holder"), &a.holder, &holder)?;
            positive(format!("allocations[{i}].shares"), a.shares)?;
            let field = format!("allocations[{i}].class");
            let Some(pool) = self.pools.iter().find(|p| p.class == a.class) else {
                let value = a.class.to_string();
                return Err(GenesisError::Unknown { field, kind: "pool", value });
            };
            let total = issued.entry(&a.class).or_insert(0);
            *total = total.saturating_add(a.shares.0);
            range(field, *total, 1, pool.supply_max.0)?;
        }
        Ok(())
    }

    fn check_balances(&self) -> Result<(), GenesisError> {
        for (i, b) in self.balances.iter().enumerate() {
            let holder = [Role::Investor, Role::Issuer, Role::Operator];
            self.role_of(format!("balances[{i}].holder"), &b.holder, &holder)?;
            self.currency_known(format!("balances[{i}].currency"), &b.currency)?;
            positive(format!("balances[{i}].amount"), b.amount)?;
        }
        Ok(())
    }
}
