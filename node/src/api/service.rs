//! The `Ledger` service's handlers.

use super::errors::{self, invalid, not_found, refusal, storage, unavailable};
use super::records;
use super::{ApiContext, STREAM_BUFFER_BLOCKS, WAIT_TX_MS_MAX};
use crate::storage::StoredBlock;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use volt_proto::grpc::{self as pb, ledger_server::Ledger, tx_status::State as TxState};
use volt_proto::{Hash, Height, TX_BYTES_MAX, TxOutcome};

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The service.
pub struct LedgerApi {
    cx: ApiContext,
}

impl LedgerApi {
    pub(super) fn new(cx: ApiContext) -> LedgerApi {
        LedgerApi { cx }
    }
}

fn hash_arg(bytes: &[u8], field: &str) -> Result<Hash, Status> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| {
        invalid("BadArgument", format!("{field} must be 32 bytes, got {}", bytes.len()))
    })?;
    Ok(Hash(array))
}

/// The status of a transaction found at `(height, index)` of a stored block.
fn final_status(id: Hash, block: &StoredBlock, index: u32) -> pb::TxStatus {
    let receipt = block.receipts.get(index as usize);
    let (state, code, reason) = match receipt.map(|r| &r.outcome) {
        Some(TxOutcome::Applied) => (TxState::Applied, String::new(), String::new()),
        Some(TxOutcome::Failed(code)) => (
            TxState::Failed,
            format!("{code:?}"),
            "the call failed: the nonce was used, nothing else changed".to_owned(),
        ),
        Some(TxOutcome::Rejected(code)) => (
            TxState::Rejected,
            format!("{code:?}"),
            "the transaction was not authenticated: nothing changed".to_owned(),
        ),
        Some(TxOutcome::Disputed(code)) => (
            TxState::Disputed,
            format!("{code:?}"),
            "the attestation was recorded but disputed: it had no other effect".to_owned(),
        ),
        None => (TxState::Unknown, String::new(), String::new()),
    };
    pb::TxStatus {
        tx_id: id.as_bytes().to_vec(),
        state: state as i32,
        height: block.height.0,
        index,
        error_code: code,
        reason,
        receipt: receipt.map(volt_proto::codec::encode).unwrap_or_default(),
    }
}

impl LedgerApi {
    /// One of the [`super::STREAMS_MAX`] stream slots, held until the stream ends.
    fn stream_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        std::sync::Arc::clone(&self.cx.streams).try_acquire_owned().map_err(|_| {
            errors::status(
                tonic::Code::ResourceExhausted,
                "TooManyStreams",
                format!("{} streams are open on this node; retry later", super::STREAMS_MAX),
            )
        })
    }

    async fn status_of(&self, id: Hash) -> Result<pb::TxStatus, Status> {
        if let Some((height, index)) = self.cx.db.tx_location(&id).map_err(storage)? {
            let block = self.cx.db.block(height).map_err(storage)?.ok_or_else(|| {
                storage(format!("the tx index points at height {} which is missing", height.0))
            })?;
            return Ok(final_status(id, &block, index));
        }
        let pending = self.cx.pool.contains(id).await.map_err(|e| unavailable(e.to_string()))?;
        let state = if pending { TxState::Pending } else { TxState::Unknown };
        Ok(pb::TxStatus {
            tx_id: id.as_bytes().to_vec(),
            state: state as i32,
            ..Default::default()
        })
    }

    fn block_message(&self, stored: &StoredBlock) -> Result<pb::FinalizedBlock, Status> {
        let certificate = self.cx.db.state_certificate(stored.height).map_err(storage)?;
        let payload_txs = crate::payload::Payload::decode(&stored.block.payload)
            .map_or(0, |p| p.txs.len() as u32);
        Ok(pb::FinalizedBlock {
            height: stored.height.0,
            digest: stored.block.digest().as_bytes().to_vec(),
            block: volt_proto::codec::encode(&stored.block),
            finalization: volt_proto::codec::encode(&stored.finalization),
            state_certificate: certificate.unwrap_or_default(),
            state_root: stored.state_root.as_bytes().to_vec(),
            receipts: stored.receipts.iter().map(volt_proto::codec::encode).collect(),
            time_ms: stored.time.0,
            tx_count: payload_txs,
        })
    }
}

#[tonic::async_trait]
impl Ledger for LedgerApi {
    async fn submit_tx(
        &self,
        request: Request<pb::SubmitTxRequest>,
    ) -> Result<Response<pb::SubmitTxResponse>, Status> {
        let bytes = request.into_inner().signed_tx;
        if bytes.len() > TX_BYTES_MAX {
            self.cx.metrics.refused("TxTooLarge");
            return Err(invalid(
                "TxTooLarge",
                format!(
                    "the transaction is {} bytes; at most {TX_BYTES_MAX} are allowed",
                    bytes.len()
                ),
            ));
        }
        match self.cx.pool.submit(bytes).await.map_err(|e| unavailable(e.to_string()))? {
            Ok(id) => Ok(Response::new(pb::SubmitTxResponse { tx_id: id.as_bytes().to_vec() })),
            Err(why) => {
                self.cx.metrics.refused(why.reason());
                Err(refusal(&why))
            }
        }
    }

    async fn get_tx_status(
        &self,
        request: Request<pb::GetTxStatusRequest>,
    ) -> Result<Response<pb::TxStatus>, Status> {
        let id = hash_arg(&request.into_inner().tx_id, "tx_id")?;
        Ok(Response::new(self.status_of(id).await?))
    }

    type WaitTxStream = Stream_<pb::TxStatus>;

    async fn wait_tx(
        &self,
        request: Request<pb::GetTxStatusRequest>,
    ) -> Result<Response<Self::WaitTxStream>, Status> {
        let id = hash_arg(&request.into_inner().tx_id, "tx_id")?;
        let permit = self.stream_permit()?;
        let mut applied = self.cx.applied.clone();
        applied.borrow_and_update();
        let first = self.status_of(id).await?;
        let api = LedgerApi { cx: self.cx.clone() };
        let (tx, rx) = mpsc::channel(2);
        tokio::spawn(async move {
            let _permit = permit;
            let done = |s: &pb::TxStatus| s.state != TxState::Pending as i32;
            let over = done(&first);
            if tx.send(Ok(first)).await.is_err() || over {
                return;
            }
            let deadline = tokio::time::Instant::now() + Duration::from_millis(WAIT_TX_MS_MAX);
            loop {
                let wait = tokio::time::timeout_at(deadline, applied.changed()).await;
                let status = api.status_of(id).await;
                let stop = !matches!(wait, Ok(Ok(()))) || status.as_ref().map_or(true, done);
                if tx.send(status).await.is_err() || stop {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let account = request.into_inner().account;
        let account: [u8; 32] = account.as_slice().try_into().map_err(|_| {
            invalid("BadArgument", format!("account must be 32 bytes, got {}", account.len()))
        })?;
        let snapshot = std::sync::Arc::clone(&self.cx.latest.borrow());
        let answer = records::account(&snapshot, &self.cx.db, volt_proto::AccountId(account))?;
        Ok(Response::new(answer))
    }

    async fn get_record(
        &self,
        request: Request<pb::GetRecordRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        let request = request.into_inner();
        let snapshot = std::sync::Arc::clone(&self.cx.latest.borrow());
        Ok(Response::new(records::record(&snapshot, request.kind(), &request.id)?))
    }

    async fn get_usage_receipt(
        &self,
        request: Request<pb::GetUsageReceiptRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        let request = request.into_inner();
        let snapshot = std::sync::Arc::clone(&self.cx.latest.borrow());
        Ok(Response::new(records::usage_receipt(&snapshot, &request.station, request.counter)?))
    }

    async fn get_block(
        &self,
        request: Request<pb::GetBlockRequest>,
    ) -> Result<Response<pb::FinalizedBlock>, Status> {
        let height = request.into_inner().height;
        let stored = self.cx.db.block(Height(height)).map_err(storage)?;
        let stored = stored.ok_or_else(|| {
            let applied = self.cx.applied.borrow().height.0;
            not_found(
                "UnknownHeight",
                format!("no finalized block at height {height}; the last is {applied}"),
            )
        })?;
        Ok(Response::new(self.block_message(&stored)?))
    }

    type StreamBlocksStream = Stream_<pb::FinalizedBlock>;

    async fn stream_blocks(
        &self,
        request: Request<pb::StreamBlocksRequest>,
    ) -> Result<Response<Self::StreamBlocksStream>, Status> {
        let mut next = request.into_inner().from_height.max(1);
        let permit = self.stream_permit()?;
        let mut applied = self.cx.applied.clone();
        let api = LedgerApi { cx: self.cx.clone() };
        let (tx, rx) = mpsc::channel(STREAM_BUFFER_BLOCKS);
        tokio::spawn(async move {
            let _permit = permit;
            loop {
                let tip = applied.borrow_and_update().height.0;
                while next <= tip {
                    let message = match api.cx.db.block(Height(next)) {
                        Ok(Some(stored)) => api.block_message(&stored),
                        Ok(None) => Err(storage(format!("block {next} is missing"))),
                        Err(e) => Err(storage(e)),
                    };
                    let failed = message.is_err();
                    if tx.send(message).await.is_err() || failed {
                        return;
                    }
                    next += 1;
                }
                if applied.changed().await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_proof(
        &self,
        request: Request<pb::GetProofRequest>,
    ) -> Result<Response<pb::ProofResponse>, Status> {
        let key = request.into_inner().key;
        if key.len() > crate::storage::SNAPSHOT_KEY_BYTES_MAX {
            return Err(invalid(
                "BadArgument",
                format!(
                    "the key is {} bytes; no state key is longer than {}",
                    key.len(),
                    crate::storage::SNAPSHOT_KEY_BYTES_MAX
                ),
            ));
        }
        let snapshot = std::sync::Arc::clone(&self.cx.certified.borrow());
        let Some(certificate) = snapshot.certificate.as_ref() else {
            return Err(errors::status(
                tonic::Code::Unavailable,
                "NotCertified",
                "no state certificate has formed yet; retry shortly",
            ));
        };
        let value = snapshot.tree.get(&key).map(<[u8]>::to_vec);
        let proof = snapshot.tree.prove(&key);
        Ok(Response::new(pb::ProofResponse {
            height: snapshot.height.0,
            state_root: snapshot.root.as_bytes().to_vec(),
            present: value.is_some(),
            value: value.unwrap_or_default(),
            proof: proof.encode(),
            state_certificate: certificate.encode(),
            block_digest: snapshot.block_digest.as_bytes().to_vec(),
        }))
    }

    async fn node_status(
        &self,
        _request: Request<pb::NodeStatusRequest>,
    ) -> Result<Response<pb::NodeStatusResponse>, Status> {
        let latest = std::sync::Arc::clone(&self.cx.latest.borrow());
        let certified = self.cx.certified.borrow().height.0;
        let size = *self.cx.pool.size().borrow();
        Ok(Response::new(pb::NodeStatusResponse {
            chain_id: self.cx.doc.chain_id.as_str().to_owned(),
            height: latest.height.0,
            finalized_height: self.cx.gauges.finalized.load(Ordering::Relaxed),
            state_root: latest.root.as_bytes().to_vec(),
            certified_height: certified,
            view: self.cx.gauges.view.load(Ordering::Relaxed),
            mempool_txs: size.txs as u32,
            mempool_bytes: size.bytes as u64,
            genesis_id: self.cx.doc.id().as_bytes().to_vec(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            validators: self.cx.validators.len() as u32,
        }))
    }
}
