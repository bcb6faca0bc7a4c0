//! The node runtime (the lead's; this stub only lets the CLI branch compile).

use crate::config::NodeConfig;

/// Runs the node until it stops or fails.
pub async fn run(config: NodeConfig) -> anyhow::Result<()> {
    let _ = config;
    anyhow::bail!("the node runtime is not in this branch")
}
