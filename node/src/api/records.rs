//! Ledger records for the API: canonical bytes (what proofs commit to) plus JSON for people.

use super::errors::{invalid, not_found, storage};
use crate::runtime::snapshot::Snapshot;
use crate::storage::NodeDb;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::Status;
use volt_proto::grpc::{self as pb, get_record_request::Kind};
use volt_proto::{AccountId, Asset, Hash, Serial, Symbol};
use volt_token::keys::{Holding, Member, ShareClass};
use volt_token::{Key, revenue};

fn decode<T: DeserializeOwned + Serialize>(
    snapshot: &Snapshot,
    key: &Key,
) -> Result<Option<T>, Status> {
    snapshot.record(key).map_err(|e| storage(format!("record {key:?} does not decode: {e}")))
}

/// Most characters of a client's id echoed back in an error (a status message travels in an
/// HTTP/2 header, which has a size limit of its own).
const ECHO_CHARS_MAX: usize = 64;

/// `id` as an error message shows it: quoted, cut at [`ECHO_CHARS_MAX`] characters.
fn shown(id: &str) -> String {
    if id.chars().count() <= ECHO_CHARS_MAX {
        return format!("{id:?}");
    }
    let head: String = id.chars().take(ECHO_CHARS_MAX).collect();
    format!("{head:?}… ({} bytes)", id.len())
}

fn symbol(id: &str, what: &str) -> Result<Symbol, Status> {
    Symbol::new(id).map_err(|e| invalid("BadArgument", format!("{what} {}: {e}", shown(id))))
}

/// The asset as the CLI writes it: `HKD` or `share:POOL-A`.
pub fn asset_name(asset: &Asset) -> String {
    match asset {
        Asset::Cash(symbol) => symbol.as_str().to_owned(),
        Asset::Shares(class) => format!("share:{}", class.as_str()),
    }
}

/// An account's role, nonce and holdings (with claimable revenue) at the latest applied height.
pub fn account(
    snapshot: &Snapshot,
    db: &NodeDb,
    account: AccountId,
) -> Result<pb::Account, Status> {
    let member: Option<Member> = decode(snapshot, &Key::Member(account))?;
    let mut answer = pb::Account {
        account: account.as_bytes().to_vec(),
        height: snapshot.height.0,
        state_root: snapshot.root.as_bytes().to_vec(),
        ..Default::default()
    };
    let Some(member) = member else { return Ok(answer) };
    answer.member = true;
    answer.role = format!("{:?}", member.role);
    answer.next_nonce = member.next_nonce.0;
    answer.frozen = member.frozen;
    answer.revoked = member.revoked;
    answer.member_record = snapshot.get(&Key::Member(account)).unwrap_or_default().to_vec();
    // The index keys name the assets; the values come from the snapshot, so the answer is
    // consistent at one height (an index entry newer than the snapshot is skipped).
    for asset in held_assets(db, account)? {
        let key = Key::Balance(asset.clone(), account);
        let Some(holding) = decode::<Holding>(snapshot, &key)? else { continue };
        let claimable = match &asset {
            Asset::Shares(class) => {
                let class: Option<ShareClass> = decode(snapshot, &Key::Class(class.clone()))?;
                match class.and_then(|c| c.revenue) {
                    Some(r) => revenue::claimable(&holding, r.per_share)
                        .map_or_else(|code| format!("{code:?}"), |a| a.0.to_string()),
                    None => String::new(),
                }
            }
            Asset::Cash(_) => String::new(),
        };
        answer.holdings.push(pb::Holding {
            asset: asset_name(&asset),
            amount: holding.amount.0.to_string(),
            claimable,
            key: key.encode(),
        });
    }
    Ok(answer)
}

/// The assets `account` holds a record of, from the `Key::Holds` index (bounded by
/// `MEMBER_ASSETS_MAX`).
fn held_assets(db: &NodeDb, account: AccountId) -> Result<Vec<Asset>, Status> {
    use volt_token::Store as _;
    let entries = db.state_store().scan_prefix(&Key::holds_prefix(account)).map_err(storage)?;
    let mut assets = Vec::with_capacity(entries.len());
    for (key, _) in entries {
        match volt_proto::codec::decode::<Key>(&key, volt_token::STATE_VALUE_BYTES_MAX) {
            Ok(Key::Holds(_, asset)) => assets.push(asset),
            _ => return Err(storage(format!("index key {} does not decode", hex::encode(&key)))),
        }
    }
    Ok(assets)
}

fn typed<T: DeserializeOwned + Serialize>(
    snapshot: &Snapshot,
    key: Key,
    what: &str,
) -> Result<pb::Record, Status> {
    let Some(bytes) = snapshot.get(&key) else {
        return Err(not_found(
            "UnknownRecord",
            format!("no {what} at height {}", snapshot.height.0),
        ));
    };
    let value: T = decode(snapshot, &key)?.ok_or_else(|| storage("record vanished"))?;
    let mut json =
        serde_json::to_value(&value).map_err(|e| storage(format!("{what} as JSON: {e}")))?;
    hex_byte_arrays(&mut json);
    let json = json.to_string();
    Ok(pb::Record {
        height: snapshot.height.0,
        state_root: snapshot.root.as_bytes().to_vec(),
        key: key.encode(),
        value: bytes.to_vec(),
        json,
    })
}

/// Shows keys, hashes and signatures (arrays of 32 or 64 bytes in serde's data model) as hex
/// strings, as people and scripts expect; the canonical bytes stay in `Record.value`.
fn hex_byte_arrays(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            let bytes: Option<Vec<u8>> =
                items.iter().map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok())).collect();
            match bytes {
                Some(bytes) if bytes.len() == 32 || bytes.len() == 64 => {
                    *value = Value::String(hex::encode(bytes));
                }
                _ => items.iter_mut().for_each(hex_byte_arrays),
            }
        }
        Value::Object(fields) => fields.values_mut().for_each(hex_byte_arrays),
        _ => {}
    }
}

/// Longest id a lookup takes: every serial, symbol and hex lease id is shorter.
pub const ID_BYTES_MAX: usize = 128;

fn check_id_length(id: &str) -> Result<(), Status> {
    if id.len() > ID_BYTES_MAX {
        let message = format!("id {} is longer than any id ({ID_BYTES_MAX} bytes)", shown(id));
        return Err(invalid("BadArgument", message));
    }
    Ok(())
}

/// One record by kind and id.
pub fn record(snapshot: &Snapshot, kind: Kind, id: &str) -> Result<pb::Record, Status> {
    use volt_token::keys::{Battery, Currency, Lease, Station, Vehicle};
    check_id_length(id)?;
    match kind {
        Kind::Battery => {
            let serial = Serial::new(id)
                .map_err(|e| invalid("BadArgument", format!("serial {id:?}: {e}")))?;
            typed::<Battery>(snapshot, Key::Battery(serial), &format!("battery {}", shown(id)))
        }
        Kind::Station => typed::<Station>(
            snapshot,
            Key::Station(symbol(id, "station")?),
            &format!("station {id}"),
        ),
        Kind::Vehicle => typed::<Vehicle>(
            snapshot,
            Key::Vehicle(symbol(id, "vehicle")?),
            &format!("vehicle {id}"),
        ),
        Kind::ShareClass => typed::<ShareClass>(
            snapshot,
            Key::Class(symbol(id, "class")?),
            &format!("share class {id}"),
        ),
        Kind::Currency => typed::<Currency>(
            snapshot,
            Key::Currency(symbol(id, "currency")?),
            &format!("currency {id}"),
        ),
        Kind::Lease => {
            let bytes =
                hex::decode(id).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or_else(
                    || invalid("BadArgument", format!("lease id {id:?} is not 64 hex digits")),
                )?;
            typed::<Lease>(snapshot, Key::Lease(Hash(bytes)), &format!("lease {id}"))
        }
        Kind::Unspecified => Err(invalid("BadArgument", "kind is required")),
    }
}

/// The record of a station's attestation by counter (its usage receipt when it settled).
pub fn usage_receipt(
    snapshot: &Snapshot,
    station: &str,
    counter: u64,
) -> Result<pb::Record, Status> {
    use volt_token::keys::AttestationRecord;
    check_id_length(station)?;
    let key = Key::Attestation(symbol(station, "station")?, counter);
    typed::<AttestationRecord>(
        snapshot,
        key,
        &format!("attestation {counter} of station {station}"),
    )
}
