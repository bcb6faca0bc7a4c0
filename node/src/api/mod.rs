//! The gRPC API: service `volt.ledger.v1.Ledger` (see `proto/proto/volt/ledger.proto`), with
//! the standard health service and server reflection (v1 and v1alpha), so grpcurl and any
//! language's stock client work unaided.
//!
//! Reads come from immutable snapshots the executor publishes (never blocking execution);
//! proofs come from the last *certified* snapshot, with its state certificate. Limits: request
//! size ([`crate::config::Limits::grpc_message_bytes_max`]), concurrent requests per connection,
//! and a per-request timeout (streams are bounded by their own waits).

mod errors;
mod records;
mod service;

pub use errors::{ERROR_DOMAIN, reason_of};

use crate::config::Limits;
use crate::runtime::executor::{Applied, Outcomes};
use crate::runtime::pool::PoolHandle;
use crate::runtime::snapshot::Snapshot;
use crate::storage::NodeDb;
use crate::telemetry::Metrics;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use volt_consensus::ValidatorSet;
use volt_genesis::GenesisDoc;
use volt_proto::grpc::ledger_server::LedgerServer;

/// Longest a `WaitTx` stream waits for finality before it ends with the current status.
pub const WAIT_TX_MS_MAX: u64 = 120_000;
/// Blocks a `StreamBlocks` stream buffers for a slow reader before it waits (backpressure).
pub const STREAM_BUFFER_BLOCKS: usize = 4;
/// Server streams (`WaitTx`, `StreamBlocks`) open at once across all connections; past it a
/// new one is refused with `ResourceExhausted` / `TooManyStreams`.
pub const STREAMS_MAX: usize = 256;

/// What the API reads.
#[derive(Clone)]
pub struct ApiContext {
    /// The genesis document.
    pub doc: GenesisDoc,
    /// The genesis validators.
    pub validators: ValidatorSet,
    /// The store.
    pub db: NodeDb,
    /// The mempool.
    pub pool: PoolHandle,
    /// The latest applied snapshot.
    pub latest: watch::Receiver<Arc<Snapshot>>,
    /// The latest certified snapshot.
    pub certified: watch::Receiver<Arc<Snapshot>>,
    /// The applied tip (streams wait on it).
    pub applied: watch::Receiver<Applied>,
    /// Outcome counts.
    pub outcomes: watch::Receiver<Outcomes>,
    /// Metrics (refusals are counted here).
    pub metrics: Arc<Metrics>,
    /// Limits.
    pub limits: Limits,
    /// The consensus view and finalized height, as the driver last reported them.
    pub gauges: Arc<crate::runtime::Gauges>,
    /// Permits for open server streams ([`STREAMS_MAX`]).
    pub streams: Arc<tokio::sync::Semaphore>,
}

/// Binds `addr` and serves the ledger, health and reflection services. Returns the bound
/// address (so `127.0.0.1:0` works) and the server task.
pub async fn serve(
    addr: SocketAddr,
    context: ApiContext,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding gRPC to {addr}"))?;
    let bound = listener.local_addr()?;
    let limits = context.limits.clone();
    let ledger = LedgerServer::new(service::LedgerApi::new(context))
        .max_decoding_message_size(limits.grpc_message_bytes_max)
        .max_encoding_message_size(limits.grpc_message_bytes_max.max(4 << 20));
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<LedgerServer<service::LedgerApi>>().await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(volt_proto::grpc::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building reflection v1")?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(volt_proto::grpc::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("building reflection v1alpha")?;
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let message_max = limits.grpc_message_bytes_max;
    let server = tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(move |response| {
            errors::rich_transport_error(response, message_max)
        }))
        .concurrency_limit_per_connection(limits.grpc_concurrency_max)
        .timeout(Duration::from_millis(limits.grpc_request_timeout_ms))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(ledger)
        .serve_with_incoming(incoming);
    let task = tokio::spawn(async move {
        if let Err(error) = server.await {
            tracing::error!(%error, "gRPC server stopped");
        }
    });
    Ok((bound, task))
}
