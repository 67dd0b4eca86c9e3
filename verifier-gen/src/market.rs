//! The prompt marketplace over JSON-RPC: deploy (verifiers, adapters, `VerifierRegistry`,
//! `PromptMarketplace`), then list / buy / deliver / withdraw / refund / cancel and read
//! orders and deliveries. Blocking, like [`crate::rpc`].

use crate::rpc::{self, block_on, rpc_err, Deployment};
use crate::solc::Solc;
use crate::{CompiledContract, Error, Result};
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use alloy::sol_types::{SolCall, SolEvent, SolInterface, SolValue};
use serde::{Deserialize, Serialize};

sol!(
    #[sol(all_derives)]
    "../contracts/src/interfaces/IPromptMarketplace.sol"
);

sol! {
    #[sol(all_derives)]
    interface IMarketViews {
        // (Their struct returns are decoded with the types of the interface above.)
        function getListing(uint256 listingId) external view;
        function getOrder(uint256 orderId) external view;
        function withdrawable(address account) external view returns (uint256);
    }
    #[sol(all_derives)]
    interface IRegistryAdmin {
        function register(bytes32 circuitId, address verifier, bytes32 vkDigest, uint256 numPublicInputs) external;
        error NotOwner(address caller);
        error ZeroCircuitId();
        error VerifierHasNoCode(address verifier);
        error ZeroPublicInputs();
    }
}

pub use IPromptMarketplace::{Listing, Order, OrderStatus};

const SOURCES: &[(&str, &str)] = &[
    (
        "src/PromptMarketplace.sol",
        include_str!("../../contracts/src/PromptMarketplace.sol"),
    ),
    (
        "src/VerifierRegistry.sol",
        include_str!("../../contracts/src/VerifierRegistry.sol"),
    ),
    (
        "src/interfaces/IPromptMarketplace.sol",
        include_str!("../../contracts/src/interfaces/IPromptMarketplace.sol"),
    ),
    (
        "src/interfaces/IVerifierRegistry.sol",
        include_str!("../../contracts/src/interfaces/IVerifierRegistry.sol"),
    ),
    (
        "src/interfaces/IProofVerifier.sol",
        include_str!("../../contracts/src/interfaces/IProofVerifier.sol"),
    ),
    (
        "src/libraries/BabyJubjub.sol",
        include_str!("../../contracts/src/libraries/BabyJubjub.sol"),
    ),
];

/// Compiles `contract` of `src/<contract>.sol` (sources embedded from contracts/src).
pub fn compile(contract: &str) -> Result<CompiledContract> {
    let file = format!("src/{contract}.sol");
    Solc::find()?.compile(SOURCES, &file, contract)
}

/// Marketplace settings chosen at deployment.
#[derive(Clone, Debug)]
pub struct MarketParams {
    pub fee_recipient: Option<Address>,
    pub fee_bps: u64,
    /// Seconds a seller has to deliver after a purchase.
    pub delivery_window: u64,
    pub verifier_gas_limit: u64,
}

/// What `deploy` made (`market.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MarketDeployment {
    pub chain_id: u64,
    pub registry: Address,
    pub marketplace: Address,
    pub listing_circuit_id: B256,
    pub delivery_circuit_id: B256,
    pub listing: Deployment,
    pub delivery: Deployment,
    pub fee_bps: u64,
    pub delivery_window: u64,
}

/// A circuit to register: its compiled verifier, public-input count and vk digest.
pub struct CircuitArtifacts<'a> {
    pub verifier: &'a CompiledContract,
    pub num_public_inputs: usize,
    pub vk_digest: [u8; 32],
}

fn provider(rpc_url: &str, key: Option<&str>) -> Result<(impl Provider + Clone, Address)> {
    let signer: PrivateKeySigner = rpc::resolve_key(rpc_url, key)?;
    let me = signer.address();
    let url = rpc::parse_url(rpc_url)?;
    Ok((
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url),
        me,
    ))
}

/// Decodes the marketplace's and registry's custom errors for messages.
pub fn describe_revert(data: &[u8]) -> String {
    if let Ok(e) = IPromptMarketplace::IPromptMarketplaceErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = IRegistryAdmin::IRegistryAdminErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    rpc::describe_revert(data)
}

/// Sends a transaction; a revert (at gas estimation or on chain) becomes an error naming the
/// contract's custom error.
async fn send<P: Provider>(
    p: &P,
    to: Address,
    data: Vec<u8>,
    value: U256,
    what: &str,
) -> Result<TransactionReceipt> {
    let tx = TransactionRequest::default()
        .with_to(to)
        .with_input(data)
        .with_value(value);
    let pending = match p.send_transaction(tx).await {
        Ok(p) => p,
        Err(e) => {
            let why = e
                .as_error_resp()
                .and_then(|r| r.as_revert_data())
                .map(|d| describe_revert(&d))
                .unwrap_or_else(|| e.to_string());
            return Err(Error::Rpc(format!("{what} reverted: {why}")));
        }
    };
    let r = pending
        .get_receipt()
        .await
        .map_err(|e| Error::Rpc(e.to_string()))?;
    if !r.status() {
        return Err(Error::Rpc(format!(
            "{what} reverted on chain (tx {})",
            r.transaction_hash
        )));
    }
    Ok(r)
}

/// Deploys both circuits' verifiers and adapters, a registry owned by the deployer with both
/// circuits registered (circuit id = the vk digest), and the marketplace.
pub fn deploy(
    rpc_url: &str,
    key: Option<&str>,
    listing: CircuitArtifacts<'_>,
    delivery: CircuitArtifacts<'_>,
    params: &MarketParams,
) -> Result<MarketDeployment> {
    let adapter = crate::compile_adapter()?;
    let registry_code = compile("VerifierRegistry")?;
    let market_code = compile("PromptMarketplace")?;
    let ld = rpc::deploy(
        rpc_url,
        key,
        listing.verifier,
        &adapter,
        listing.num_public_inputs,
        listing.vk_digest,
        params.verifier_gas_limit,
    )?;
    let dd = rpc::deploy(
        rpc_url,
        key,
        delivery.verifier,
        &adapter,
        delivery.num_public_inputs,
        delivery.vk_digest,
        params.verifier_gas_limit,
    )?;
    let (p, me) = provider(rpc_url, key)?;
    block_on(async move {
        let chain_id = p.get_chain_id().await.map_err(rpc_err)?;
        let mut code = registry_code.creation.clone();
        code.extend(me.abi_encode());
        let registry = rpc::deploy_code(&p, code, "VerifierRegistry").await?.0;
        for (d, art) in [(&ld, &listing), (&dd, &delivery)] {
            let call = IRegistryAdmin::registerCall {
                circuitId: B256::from(art.vk_digest),
                verifier: d.adapter,
                vkDigest: B256::from(art.vk_digest),
                numPublicInputs: U256::from(art.num_public_inputs),
            };
            send(&p, registry, call.abi_encode(), U256::ZERO, "register").await?;
        }
        let mut code = market_code.creation.clone();
        code.extend(
            (
                registry,
                params.fee_recipient.unwrap_or(me),
                U256::from(params.fee_bps),
                U256::from(params.delivery_window),
            )
                .abi_encode_params(),
        );
        let marketplace = rpc::deploy_code(&p, code, "PromptMarketplace").await?.0;
        Ok(MarketDeployment {
            chain_id,
            registry,
            marketplace,
            listing_circuit_id: B256::from(listing.vk_digest),
            delivery_circuit_id: B256::from(delivery.vk_digest),
            listing: ld,
            delivery: dd,
            fee_bps: params.fee_bps,
            delivery_window: params.delivery_window,
        })
    })
}

/// A sent transaction's hash and gas, and the id it created (listing / order), if any.
#[derive(Clone, Debug)]
pub struct Sent {
    pub tx: B256,
    pub gas_used: u64,
    pub id: Option<U256>,
}

fn sent(r: &TransactionReceipt, id: Option<U256>) -> Sent {
    Sent {
        tx: r.transaction_hash,
        gas_used: r.gas_used,
        id,
    }
}

/// The first log of event `E` in a receipt.
fn event<E: SolEvent>(r: &TransactionReceipt) -> Option<E> {
    r.inner
        .logs()
        .iter()
        .find_map(|l| E::decode_log(&l.inner).ok().map(|d| d.data))
}

/// `list`: verifies the listing proof on chain; returns the listing id.
#[allow(clippy::too_many_arguments)]
pub fn list(
    rpc_url: &str,
    key: Option<&str>,
    m: &MarketDeployment,
    commitment: U256,
    output_hash: U256,
    price: U256,
    proof: &[u8],
) -> Result<Sent> {
    let (p, _) = provider(rpc_url, key)?;
    let call = IPromptMarketplace::listCall {
        listingCircuitId: m.listing_circuit_id,
        deliveryCircuitId: m.delivery_circuit_id,
        commitment,
        outputHash: output_hash,
        price,
        listingProof: proof.to_vec().into(),
    };
    block_on(async move {
        let r = send(&p, m.marketplace, call.abi_encode(), U256::ZERO, "list").await?;
        let id = event::<IPromptMarketplace::Listed>(&r).map(|e| e.listingId);
        Ok(sent(&r, id))
    })
}

/// `buy`: escrows exactly the listing's price; returns the order id.
pub fn buy(
    rpc_url: &str,
    key: Option<&str>,
    m: &MarketDeployment,
    listing_id: U256,
    pk: (U256, U256),
) -> Result<Sent> {
    let listing = get_listing(rpc_url, m, listing_id)?;
    if listing.seller == Address::ZERO {
        return Err(Error::Invalid(format!("no listing {listing_id}")));
    }
    let (p, _) = provider(rpc_url, key)?;
    let call = IPromptMarketplace::buyCall {
        listingId: listing_id,
        pkX: pk.0,
        pkY: pk.1,
    };
    block_on(async move {
        let r = send(&p, m.marketplace, call.abi_encode(), listing.price, "buy").await?;
        let id = event::<IPromptMarketplace::Purchased>(&r).map(|e| e.orderId);
        Ok(sent(&r, id))
    })
}

/// `deliver`: the contract rebuilds the public inputs from its own state and verifies.
pub fn deliver(
    rpc_url: &str,
    key: Option<&str>,
    m: &MarketDeployment,
    order_id: U256,
    eph: (U256, U256),
    ciphertext: Vec<U256>,
    proof: &[u8],
) -> Result<Sent> {
    let (p, _) = provider(rpc_url, key)?;
    let call = IPromptMarketplace::deliverCall {
        orderId: order_id,
        ephX: eph.0,
        ephY: eph.1,
        ciphertext,
        deliveryProof: proof.to_vec().into(),
    };
    block_on(async move {
        let r = send(&p, m.marketplace, call.abi_encode(), U256::ZERO, "deliver").await?;
        Ok(sent(&r, None))
    })
}

/// `withdraw`: pays out what the caller is owed.
pub fn withdraw(rpc_url: &str, key: Option<&str>, m: &MarketDeployment) -> Result<Sent> {
    let (p, _) = provider(rpc_url, key)?;
    block_on(async move {
        let data = IPromptMarketplace::withdrawCall {}.abi_encode();
        let r = send(&p, m.marketplace, data, U256::ZERO, "withdraw").await?;
        let amount = event::<IPromptMarketplace::Withdrawn>(&r).map(|e| e.amount);
        Ok(sent(&r, amount))
    })
}

/// `refund`: the buyer reclaims an undelivered order after its deadline.
pub fn refund(
    rpc_url: &str,
    key: Option<&str>,
    m: &MarketDeployment,
    order_id: U256,
) -> Result<Sent> {
    let (p, _) = provider(rpc_url, key)?;
    block_on(async move {
        let data = IPromptMarketplace::refundCall { orderId: order_id }.abi_encode();
        let r = send(&p, m.marketplace, data, U256::ZERO, "refund").await?;
        Ok(sent(&r, None))
    })
}

/// `cancel`: the seller withdraws a listing from sale.
pub fn cancel(
    rpc_url: &str,
    key: Option<&str>,
    m: &MarketDeployment,
    listing_id: U256,
) -> Result<Sent> {
    let (p, _) = provider(rpc_url, key)?;
    block_on(async move {
        let data = IPromptMarketplace::cancelCall {
            listingId: listing_id,
        }
        .abi_encode();
        let r = send(&p, m.marketplace, data, U256::ZERO, "cancel").await?;
        Ok(sent(&r, None))
    })
}

async fn view<
    C: SolCall,
    T: SolValue + From<<T::SolType as alloy::sol_types::SolType>::RustType>,
>(
    p: &impl Provider,
    to: Address,
    call: C,
) -> Result<T> {
    let tx = TransactionRequest::default()
        .with_to(to)
        .with_input(call.abi_encode());
    let out = p.call(tx).await.map_err(rpc_err)?;
    T::abi_decode(&out).map_err(rpc_err)
}

fn reader(rpc_url: &str) -> Result<impl Provider> {
    Ok(ProviderBuilder::new().connect_http(rpc::parse_url(rpc_url)?))
}

/// A view call on the marketplace, blocking.
fn read<C: SolCall, T: SolValue + From<<T::SolType as alloy::sol_types::SolType>::RustType>>(
    rpc_url: &str,
    m: &MarketDeployment,
    call: C,
) -> Result<T> {
    let p = reader(rpc_url)?;
    block_on(view::<C, T>(&p, m.marketplace, call))
}

pub fn get_listing(rpc_url: &str, m: &MarketDeployment, id: U256) -> Result<Listing> {
    read(rpc_url, m, IMarketViews::getListingCall { listingId: id })
}

pub fn get_order(rpc_url: &str, m: &MarketDeployment, id: U256) -> Result<Order> {
    read(rpc_url, m, IMarketViews::getOrderCall { orderId: id })
}

pub fn withdrawable(rpc_url: &str, m: &MarketDeployment, who: Address) -> Result<U256> {
    read(rpc_url, m, IMarketViews::withdrawableCall { account: who })
}

/// The `Delivered` event of an order: `(R.x, R.y, ciphertext)`.
pub fn delivery(
    rpc_url: &str,
    m: &MarketDeployment,
    order_id: U256,
) -> Result<Option<(U256, U256, Vec<U256>)>> {
    let p = reader(rpc_url)?;
    let filter = Filter::new()
        .address(m.marketplace)
        .event_signature(IPromptMarketplace::Delivered::SIGNATURE_HASH)
        .topic1(B256::from(order_id))
        .from_block(0);
    block_on(async move {
        let logs = p.get_logs(&filter).await.map_err(rpc_err)?;
        Ok(logs.iter().find_map(|l| {
            IPromptMarketplace::Delivered::decode_log(&l.inner)
                .ok()
                .map(|e| (e.data.ephX, e.data.ephY, e.data.ciphertext.clone()))
        }))
    })
}

/// Advances an Anvil chain's clock (tests and demos of refunds).
pub fn anvil_increase_time(rpc_url: &str, seconds: u64) -> Result<()> {
    let p = reader(rpc_url)?;
    block_on(async move {
        let _: serde_json::Value = p
            .raw_request("evm_increaseTime".into(), (seconds,))
            .await
            .map_err(rpc_err)?;
        let _: serde_json::Value = p
            .raw_request("evm_mine".into(), ())
            .await
            .map_err(rpc_err)?;
        Ok(())
    })
}
