//! trustml's chain client: one async API over alloy for every contract of the project, used
//! by the CLI (which blocks on it at its edge) and by the service (which awaits it).
//!
//! * [`bindings`] — `sol!` bindings generated from forge's build output (ABI + bytecode);
//! * [`Client`] — a connection (HTTP(S) or WS(S) JSON-RPC, rustls) with an optional sender;
//! * [`verifier`] — deploy a generated verifier and its `ProofVerifierAdapter`, check proofs;
//! * [`market`] — the prompt marketplace: deploy, list, buy, commit and reveal a delivery,
//!   withdraw, refund, views and events;
//! * [`audit`] — trustless audits: deploy the audit registry and escrow, register circuits and
//!   models, create / accept / reveal the seed / submit batches / finalize / withdraw, views,
//!   the seed and commitment formulas;
//! * [`train`] — verified training: deploy the training registry, name step circuits, open
//!   runs, submit steps in order, views;
//! * [`revert`] — custom-error names of every trustml contract, for messages;
//! * [`anvil`] — a throwaway local Anvil for tests and demos.

pub mod anvil;
pub mod audit;
pub mod bindings;
pub mod img;
pub mod market;
pub mod revert;
pub mod siwe;
pub mod train;
pub mod verifier;

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use thiserror::Error;

pub use alloy::primitives::{Address, Bytes, B256, U256};

/// Anvil's first development account (only used when the chain id is 31337).
pub const ANVIL_DEV_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Anvil's chain id.
pub const ANVIL_CHAIN_ID: u64 = 31337;

/// Errors of chain calls. Reverts carry the contract's custom-error name.
#[derive(Debug, Error)]
pub enum ChainError {
    /// The RPC URL is not `http(s)://` or `ws(s)://`, or the node cannot be reached.
    #[error("cannot connect to {url}")]
    Connect {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// A JSON-RPC call failed (not a revert).
    #[error("JSON-RPC {what}")]
    Rpc {
        /// The call.
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A call or transaction reverted (at simulation or gas estimation).
    #[error("{what} reverted: {reason}")]
    Reverted {
        /// The call.
        what: String,
        /// The decoded custom error (see [`revert::describe`]).
        reason: String,
    },
    /// A transaction was mined but reverted.
    #[error("{what} reverted on chain (tx {tx})")]
    RevertedOnChain {
        /// The call.
        what: String,
        /// The transaction.
        tx: B256,
    },
    /// No sender key was given on a chain other than Anvil's.
    #[error("chain id {0} is not Anvil's (31337), so there is no default sender key: give one")]
    NoKey(u64),
    /// The sender key is not a secp256k1 private key.
    #[error("bad private key")]
    BadKey(#[source] alloy::signers::local::LocalSignerError),
    /// A call needs a sender but the client has none.
    #[error("this call sends a transaction; connect with a sender key")]
    NoSender,
    /// A delivery step would be sent too close to its deadline (chain time).
    #[error("{}", too_close(*.step, .order, *.deadline, *.now, *.margin))]
    TooClose {
        /// Commit (bounded by the order's deadline) or reveal (by the reveal deadline).
        step: market::Step,
        /// The order.
        order: U256,
        /// The deadline (unix seconds).
        deadline: u64,
        /// The latest block's timestamp.
        now: u64,
        /// The safety margin asked for (seconds).
        margin: u64,
    },
    /// An audit's seed cannot be revealed yet: the block after its accept is not mined.
    #[error(
        "audit {audit}'s seed uses the hash of block {seed_block}, which is not mined yet \
         (latest block {latest}): the reveal can land from block {} on",
        seed_block + 1
    )]
    SeedBlockNotMined {
        /// The audit.
        audit: U256,
        /// `acceptBlock + 1`.
        seed_block: u64,
        /// The latest block.
        latest: u64,
    },
    /// Anything else that is wrong with an answer or an argument.
    #[error("{0}")]
    Invalid(String),
}

fn too_close(step: market::Step, order: &U256, deadline: u64, now: u64, margin: u64) -> String {
    let when = if deadline > now {
        format!("is {} s away", deadline - now)
    } else {
        format!("passed {} s ago", now - deadline)
    };
    match step {
        market::Step::Commit => format!(
            "order {order}'s delivery deadline {when} (block time {now}), less than the {margin} s \
             safety margin: a commitment sent now might be mined after it"
        ),
        market::Step::Reveal => format!(
            "the reveal deadline of order {order}'s commitment {when} (block time {now}), less \
             than the {margin} s safety margin: the reveal publishes the ciphertext even if it \
             is mined too late and reverts, and the buyer could then read the prompt and refund"
        ),
    }
}

/// Result of this crate's calls.
pub type Result<T, E = ChainError> = std::result::Result<T, E>;

pub(crate) fn rpc_err(
    what: &str,
) -> impl FnOnce(alloy::transports::TransportError) -> ChainError + '_ {
    move |e| ChainError::Rpc {
        what: what.to_string(),
        source: Box::new(e),
    }
}

fn connect_err(url: &str) -> impl FnOnce(alloy::transports::TransportError) -> ChainError + '_ {
    move |source| ChainError::Connect {
        url: url.into(),
        source,
    }
}

/// A connection to a node, with an optional sender account.
#[derive(Clone, Debug)]
pub struct Client {
    provider: DynProvider,
    sender: Option<Address>,
    chain_id: u64,
}

/// The signing key: `key`, else Anvil's first dev key when the chain is Anvil's.
pub fn resolve_key(chain_id: u64, key: Option<&str>) -> Result<PrivateKeySigner> {
    let key = match key {
        Some(k) => k,
        None if chain_id == ANVIL_CHAIN_ID => ANVIL_DEV_KEY,
        None => return Err(ChainError::NoKey(chain_id)),
    };
    key.trim().parse().map_err(ChainError::BadKey)
}

impl Client {
    /// A read-only connection to `url` (`http://`, `https://`, `ws://`, `wss://`).
    pub async fn connect(url: &str) -> Result<Self> {
        let provider = ProviderBuilder::new()
            .connect(url)
            .await
            .map_err(connect_err(url))?
            .erased();
        Self::with_provider(provider, None).await
    }

    /// A connection that sends transactions from `key` (default: Anvil's dev key, on Anvil
    /// only).
    pub async fn connect_with_key(url: &str, key: Option<&str>) -> Result<Self> {
        let chain_id = Self::connect(url).await?.chain_id;
        let signer = resolve_key(chain_id, key)?;
        let sender = signer.address();
        // The nonce comes from the node for every transaction: a cached nonce would be
        // consumed by a transaction that fails at gas estimation (a revert), and every later
        // transaction would wait behind the gap forever.
        let provider = ProviderBuilder::default()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(EthereumWallet::from(signer))
            .connect(url)
            .await
            .map_err(connect_err(url))?
            .erased();
        Self::with_provider(provider, Some(sender)).await
    }

    /// A client over an existing provider (`sender`: the account its wallet signs for).
    pub async fn with_provider(provider: DynProvider, sender: Option<Address>) -> Result<Self> {
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(rpc_err("eth_chainId"))?;
        Ok(Self {
            provider,
            sender,
            chain_id,
        })
    }

    /// The provider (for calls this crate does not wrap).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The sender account.
    pub fn sender(&self) -> Result<Address> {
        self.sender.ok_or(ChainError::NoSender)
    }

    /// Runtime code size at `addr`.
    pub async fn code_size(&self, addr: Address) -> Result<usize> {
        Ok(self
            .provider
            .get_code_at(addr)
            .await
            .map_err(rpc_err("eth_getCode"))?
            .len())
    }

    /// Deploys `code`; checks the receipt and that code landed.
    pub async fn deploy_code(&self, code: Vec<u8>, what: &str) -> Result<Deployed> {
        let r = self
            .send(TransactionRequest::default().with_deploy_code(code), what)
            .await?;
        let address = r.contract_address.ok_or_else(|| {
            ChainError::Invalid(format!("no contract address in the {what}'s receipt"))
        })?;
        let code_size = self.code_size(address).await?;
        if code_size == 0 {
            return Err(ChainError::Invalid(format!(
                "the {what} at {address} has no code after deployment"
            )));
        }
        Ok(Deployed {
            address,
            tx: r.transaction_hash,
            gas_used: r.gas_used,
            code_size,
        })
    }

    /// Sends a transaction from the sender and waits for its receipt. A revert (at gas
    /// estimation or on chain) is an error naming the contract's custom error.
    pub async fn send(&self, tx: TransactionRequest, what: &str) -> Result<TransactionReceipt> {
        let tx = tx.with_from(self.sender()?);
        let pending = match self.provider.send_transaction(tx).await {
            Ok(p) => p,
            Err(e) => return Err(revert::classify(what, e)),
        };
        let r = pending.get_receipt().await.map_err(|e| ChainError::Rpc {
            what: format!("receipt of {what}"),
            source: Box::new(e),
        })?;
        if !r.status() {
            return Err(ChainError::RevertedOnChain {
                what: what.into(),
                tx: r.transaction_hash,
            });
        }
        Ok(r)
    }

    /// `eth_call` of raw calldata, with an optional gas cap.
    pub async fn eth_call(
        &self,
        to: Address,
        data: Vec<u8>,
        gas: Option<u64>,
    ) -> Result<CallOutcome> {
        let mut tx = TransactionRequest::default().with_to(to).with_input(data);
        if let Some(g) = gas {
            tx = tx.with_gas_limit(g);
        }
        match self.provider.call(tx).await {
            Ok(b) => Ok(CallOutcome::Returned(b.to_vec())),
            Err(e) => match e.as_error_resp() {
                Some(resp) => Ok(CallOutcome::Reverted(
                    resp.as_revert_data()
                        .map(|b| b.to_vec())
                        .unwrap_or_default(),
                )),
                None => Err(ChainError::Rpc {
                    what: "eth_call".into(),
                    source: Box::new(e),
                }),
            },
        }
    }

    /// The latest block's timestamp (unix seconds): the time deadlines are checked against.
    pub async fn block_timestamp(&self) -> Result<u64> {
        let b = self
            .provider
            .get_block_by_number(alloy::rpc::types::BlockNumberOrTag::Latest)
            .await
            .map_err(rpc_err("eth_getBlockByNumber"))?
            .ok_or_else(|| ChainError::Invalid("the node has no latest block".into()))?;
        Ok(b.header.timestamp)
    }

    /// Advances an Anvil chain's clock by `seconds` and mines a block (tests, demos).
    pub async fn anvil_increase_time(&self, seconds: u64) -> Result<()> {
        let _: serde_json::Value = self
            .provider
            .raw_request("evm_increaseTime".into(), (seconds,))
            .await
            .map_err(rpc_err("evm_increaseTime"))?;
        let _: serde_json::Value = self
            .provider
            .raw_request("evm_mine".into(), ())
            .await
            .map_err(rpc_err("evm_mine"))?;
        Ok(())
    }
}

/// A deployed contract.
#[derive(Clone, Copy, Debug)]
pub struct Deployed {
    /// Its address.
    pub address: Address,
    /// The deployment transaction.
    pub tx: B256,
    /// The deployment's gas.
    pub gas_used: u64,
    /// Runtime code size (checked > 0).
    pub code_size: usize,
}

/// Outcome of an `eth_call`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Returned normally with this data.
    Returned(Vec<u8>),
    /// Reverted with this data.
    Reverted(Vec<u8>),
}

/// Parses `0x…` as an address.
pub fn parse_address(s: &str) -> Result<Address> {
    s.parse()
        .map_err(|e| ChainError::Invalid(format!("bad address {s}: {e}")))
}
