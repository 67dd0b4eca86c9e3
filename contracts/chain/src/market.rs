//! The prompt marketplace: deploy (verifiers, adapters, `VerifierRegistry` with the circuit
//! pair allowed, `PromptMarketplace`), then list / buy / commit + reveal a delivery /
//! withdraw / refund / cancel, views (order tag, delivery digest) and the `Delivered` event.
//!
//! A delivery is two transactions: `commitDelivery(orderId, digest)` before the order's
//! deadline, then `deliver(…)` (the reveal: R, ciphertext, proof) before the commitment's
//! reveal deadline. [`Client::deliver_with_commitment`] does both and refuses each step when
//! its deadline is closer than a safety margin: a late reveal would publish the ciphertext in
//! a reverted transaction, and the buyer could read it and still be refunded.

use crate::bindings::{PromptMarketplace as M, VerifierRegistry as R};
use crate::verifier::Deployment;
use crate::{ChainError, Client, Result};
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::{Filter, TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use serde::{Deserialize, Serialize};

pub use crate::bindings::IPromptMarketplace::{Listing, Order};

/// An order's state (`IPromptMarketplace.OrderStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// No such order.
    None,
    /// Paid, awaiting delivery.
    Open,
    /// Delivered and paid out to the seller's balance.
    Delivered,
    /// Refunded to the buyer's balance.
    Refunded,
}

impl OrderStatus {
    /// The status of an order as the contract stores it.
    pub fn of(order: &Order) -> Result<Self> {
        Ok(match order.status {
            0 => Self::None,
            1 => Self::Open,
            2 => Self::Delivered,
            3 => Self::Refunded,
            s => return Err(ChainError::Invalid(format!("unknown order status {s}"))),
        })
    }
}

/// Marketplace settings chosen at deployment.
#[derive(Clone, Debug)]
pub struct MarketParams {
    /// Who receives the fee (default: the deployer).
    pub fee_recipient: Option<Address>,
    /// Fee in basis points.
    pub fee_bps: u64,
    /// Seconds a seller has to commit to a delivery after a purchase.
    pub delivery_window: u64,
    /// Seconds a seller has to reveal a commitment.
    pub reveal_window: u64,
    /// Gas each adapter gives its raw verifier.
    pub verifier_gas_limit: u64,
}

/// What `deploy` made (`market.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MarketDeployment {
    /// The chain.
    pub chain_id: u64,
    /// `VerifierRegistry`.
    pub registry: Address,
    /// `PromptMarketplace`.
    pub marketplace: Address,
    /// Circuit id of the listing circuit (its vk digest).
    pub listing_circuit_id: B256,
    /// Circuit id of the delivery circuit (its vk digest).
    pub delivery_circuit_id: B256,
    /// The listing circuit's verifier and adapter.
    pub listing: Deployment,
    /// The delivery circuit's verifier and adapter.
    pub delivery: Deployment,
    /// Fee in basis points.
    pub fee_bps: u64,
    /// Seconds a seller has to commit to a delivery.
    pub delivery_window: u64,
    /// Seconds a seller has to reveal a commitment.
    pub reveal_window: u64,
    /// Further (listing, delivery) circuit pairs allowed after deployment
    /// ([`Client::add_pair`]): other listing kinds, e.g. text prompts and images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<CircuitPair>,
}

/// A (listing, delivery) circuit pair the registry allows, with its verifiers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CircuitPair {
    /// Circuit id of the listing circuit (its vk digest).
    pub listing_circuit_id: B256,
    /// Circuit id of the delivery circuit (its vk digest).
    pub delivery_circuit_id: B256,
    /// The listing circuit's verifier and adapter.
    pub listing: Deployment,
    /// The delivery circuit's verifier and adapter.
    pub delivery: Deployment,
}

impl MarketDeployment {
    /// The delivery circuit paired with listing circuit `listing` (the deployment's own
    /// pair, or one added later).
    pub fn delivery_for(&self, listing: B256) -> Option<B256> {
        if listing == self.listing_circuit_id {
            return Some(self.delivery_circuit_id);
        }
        self.pairs
            .iter()
            .find(|p| p.listing_circuit_id == listing)
            .map(|p| p.delivery_circuit_id)
    }
}

/// A circuit to register: its verifier's creation code, public-input count and vk digest.
#[derive(Clone, Copy, Debug)]
pub struct CircuitArtifacts<'a> {
    /// Creation code of the generated raw verifier.
    pub verifier: &'a [u8],
    /// Public inputs.
    pub num_public_inputs: usize,
    /// Bytes of every proof (verifier-gen's `proof_len`): the adapter pins it.
    pub proof_len: usize,
    /// Keccak-256 of the verifying key (also the circuit id).
    pub vk_digest: [u8; 32],
}

/// A sent transaction's hash and gas, and the id or amount it produced, if any.
#[derive(Clone, Debug)]
pub struct Sent {
    /// The transaction.
    pub tx: B256,
    /// Its gas.
    pub gas_used: u64,
    /// The listing id, order id, model id, audit id or withdrawn amount.
    pub id: Option<U256>,
}

pub(crate) fn sent(r: &TransactionReceipt, id: Option<U256>) -> Sent {
    Sent {
        tx: r.transaction_hash,
        gas_used: r.gas_used,
        id,
    }
}

/// What [`Client::deliver_with_commitment`] sent.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The digest committed to.
    pub digest: B256,
    /// The commitment, unless this delivery was already committed.
    pub commit: Option<Sent>,
    /// The reveal.
    pub reveal: Sent,
}

/// A step of a delivery, for [`ChainError::TooClose`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// `commitDelivery`, bounded by the order's deadline.
    Commit,
    /// `deliver`, bounded by the commitment's reveal deadline.
    Reveal,
}

/// The first log of event `E` in a receipt.
pub(crate) fn event<E: SolEvent>(r: &TransactionReceipt) -> Option<E> {
    r.inner
        .logs()
        .iter()
        .find_map(|l| E::decode_log(&l.inner).ok().map(|d| d.data))
}

pub(crate) fn tx_to(to: Address, data: Vec<u8>, value: U256) -> TransactionRequest {
    TransactionRequest::default()
        .with_to(to)
        .with_input(data)
        .with_value(value)
}

impl Client {
    /// Deploys `circuit`'s verifier and adapter and registers it in the `VerifierRegistry`
    /// at `registry` (circuit id = vk digest; the sender must own the registry); returns the
    /// id and the deployment.
    pub async fn deploy_and_register(
        &self,
        registry: Address,
        circuit: &CircuitArtifacts<'_>,
        verifier_gas_limit: u64,
    ) -> Result<(B256, Deployment)> {
        let d = self
            .deploy_verifier(
                circuit.verifier,
                circuit.num_public_inputs,
                circuit.proof_len,
                circuit.vk_digest,
                verifier_gas_limit,
            )
            .await?;
        let id = B256::from(circuit.vk_digest);
        let call = R::registerCall {
            circuitId: id,
            verifier: d.adapter,
            vkDigest: id,
            numPublicInputs: U256::from(circuit.num_public_inputs),
        };
        self.send(tx_to(registry, call.abi_encode(), U256::ZERO), "register")
            .await?;
        Ok((id, d))
    }

    /// Deploys both circuits' verifiers and adapters, a registry owned by the sender with both
    /// circuits registered (circuit id = the vk digest) and allowed as a pair, and the
    /// marketplace.
    pub async fn deploy_market(
        &self,
        listing: CircuitArtifacts<'_>,
        delivery: CircuitArtifacts<'_>,
        params: &MarketParams,
    ) -> Result<MarketDeployment> {
        let me = self.sender()?;
        let gas = params.verifier_gas_limit;
        let ld = self
            .deploy_verifier(
                listing.verifier,
                listing.num_public_inputs,
                listing.proof_len,
                listing.vk_digest,
                gas,
            )
            .await?;
        let dd = self
            .deploy_verifier(
                delivery.verifier,
                delivery.num_public_inputs,
                delivery.proof_len,
                delivery.vk_digest,
                gas,
            )
            .await?;
        let mut code = R::BYTECODE.to_vec();
        code.extend(me.abi_encode());
        let registry = self.deploy_code(code, "VerifierRegistry").await?.address;
        for (d, art) in [(&ld, &listing), (&dd, &delivery)] {
            let call = R::registerCall {
                circuitId: B256::from(art.vk_digest),
                verifier: d.adapter,
                vkDigest: B256::from(art.vk_digest),
                numPublicInputs: U256::from(art.num_public_inputs),
            };
            self.send(tx_to(registry, call.abi_encode(), U256::ZERO), "register")
                .await?;
        }
        let allow = R::allowPairCall {
            listingCircuitId: B256::from(listing.vk_digest),
            deliveryCircuitId: B256::from(delivery.vk_digest),
        };
        self.send(tx_to(registry, allow.abi_encode(), U256::ZERO), "allowPair")
            .await?;
        let mut code = M::BYTECODE.to_vec();
        code.extend(
            (
                registry,
                params.fee_recipient.unwrap_or(me),
                U256::from(params.fee_bps),
                U256::from(params.delivery_window),
                U256::from(params.reveal_window),
            )
                .abi_encode_params(),
        );
        let marketplace = self.deploy_code(code, "PromptMarketplace").await?.address;
        Ok(MarketDeployment {
            chain_id: self.chain_id(),
            registry,
            marketplace,
            listing_circuit_id: B256::from(listing.vk_digest),
            delivery_circuit_id: B256::from(delivery.vk_digest),
            listing: ld,
            delivery: dd,
            fee_bps: params.fee_bps,
            delivery_window: params.delivery_window,
            reveal_window: params.reveal_window,
            pairs: vec![],
        })
    }

    /// Deploys the verifiers of another (listing, delivery) pair, registers both circuits
    /// and allows the pair (the sender must own the registry), and records it in `m.pairs`.
    pub async fn add_pair(
        &self,
        m: &mut MarketDeployment,
        listing: CircuitArtifacts<'_>,
        delivery: CircuitArtifacts<'_>,
        verifier_gas_limit: u64,
    ) -> Result<CircuitPair> {
        let mut deployed = vec![];
        for art in [&listing, &delivery] {
            let (_, d) = self
                .deploy_and_register(m.registry, art, verifier_gas_limit)
                .await?;
            deployed.push(d);
        }
        let allow = R::allowPairCall {
            listingCircuitId: B256::from(listing.vk_digest),
            deliveryCircuitId: B256::from(delivery.vk_digest),
        };
        self.send(
            tx_to(m.registry, allow.abi_encode(), U256::ZERO),
            "allowPair",
        )
        .await?;
        let dd = deployed.pop().expect("two deployed");
        let ld = deployed.pop().expect("two deployed");
        let pair = CircuitPair {
            listing_circuit_id: B256::from(listing.vk_digest),
            delivery_circuit_id: B256::from(delivery.vk_digest),
            listing: ld,
            delivery: dd,
        };
        m.pairs.push(pair.clone());
        Ok(pair)
    }

    async fn market_send(
        &self,
        m: &MarketDeployment,
        data: Vec<u8>,
        value: U256,
        what: &str,
    ) -> Result<TransactionReceipt> {
        self.send(tx_to(m.marketplace, data, value), what).await
    }

    /// `list`: the listing proof is verified on chain for `[C, H, sender]`; `metadata_hash`
    /// (sha256 of the off-chain metadata document, or zero) is stored with the listing.
    /// Returns the listing id.
    pub async fn list(
        &self,
        m: &MarketDeployment,
        commitment: U256,
        output_hash: U256,
        price: U256,
        metadata_hash: B256,
        proof: &[u8],
    ) -> Result<Sent> {
        self.list_with(
            m,
            m.listing_circuit_id,
            commitment,
            output_hash,
            price,
            metadata_hash,
            proof,
        )
        .await
    }

    /// [`Client::list`] through listing circuit `listing_circuit` (one of `m`'s pairs).
    #[allow(clippy::too_many_arguments)]
    pub async fn list_with(
        &self,
        m: &MarketDeployment,
        listing_circuit: B256,
        commitment: U256,
        output_hash: U256,
        price: U256,
        metadata_hash: B256,
        proof: &[u8],
    ) -> Result<Sent> {
        let delivery = m.delivery_for(listing_circuit).ok_or_else(|| {
            ChainError::Invalid(format!(
                "listing circuit {listing_circuit} is not one of this deployment's pairs"
            ))
        })?;
        let call = M::listCall {
            listingCircuitId: listing_circuit,
            deliveryCircuitId: delivery,
            commitment,
            outputHash: output_hash,
            price,
            metadataHash: metadata_hash,
            listingProof: proof.to_vec().into(),
        };
        let r = self
            .market_send(m, call.abi_encode(), U256::ZERO, "list")
            .await?;
        Ok(sent(&r, event::<M::Listed>(&r).map(|e| e.listingId)))
    }

    /// `buy`: escrows exactly the listing's price for the buyer key `pk`; returns the order id.
    pub async fn buy(
        &self,
        m: &MarketDeployment,
        listing_id: U256,
        pk: (U256, U256),
    ) -> Result<Sent> {
        let listing = self.get_listing(m, listing_id).await?;
        if listing.seller == Address::ZERO {
            return Err(ChainError::Invalid(format!("no listing {listing_id}")));
        }
        let call = M::buyCall {
            listingId: listing_id,
            pkX: pk.0,
            pkY: pk.1,
        };
        let r = self
            .market_send(m, call.abi_encode(), listing.price, "buy")
            .await?;
        Ok(sent(&r, event::<M::Purchased>(&r).map(|e| e.orderId)))
    }

    /// `commitDelivery`: commits to `digest` ([`Client::delivery_digest`] of the reveal);
    /// refunds then wait for the reveal deadline.
    pub async fn commit_delivery(
        &self,
        m: &MarketDeployment,
        order_id: U256,
        digest: B256,
    ) -> Result<Sent> {
        let call = M::commitDeliveryCall {
            orderId: order_id,
            digest,
        };
        let r = self
            .market_send(m, call.abi_encode(), U256::ZERO, "commitDelivery")
            .await?;
        Ok(sent(&r, None))
    }

    /// `deliver` (the reveal of a commitment): the contract checks the digest, rebuilds the
    /// public inputs from its own state and verifies. Sent alone it does not check the reveal
    /// deadline: see [`Client::deliver_with_commitment`].
    pub async fn deliver(
        &self,
        m: &MarketDeployment,
        order_id: U256,
        eph: (U256, U256),
        ciphertext: Vec<U256>,
        proof: &[u8],
    ) -> Result<Sent> {
        let call = M::deliverCall {
            orderId: order_id,
            ephX: eph.0,
            ephY: eph.1,
            ciphertext,
            deliveryProof: proof.to_vec().into(),
        };
        let r = self
            .market_send(m, call.abi_encode(), U256::ZERO, "deliver")
            .await?;
        Ok(sent(&r, None))
    }

    /// Commits to a delivery (unless this very delivery is already committed with time to
    /// reveal), then reveals it. Refuses to commit when the order's deadline is less than
    /// `margin` seconds away (chain time), and to reveal when the reveal deadline is: a reveal
    /// that lands late reverts but still publishes the ciphertext.
    pub async fn deliver_with_commitment(
        &self,
        m: &MarketDeployment,
        order_id: U256,
        eph: (U256, U256),
        ciphertext: Vec<U256>,
        proof: &[u8],
        margin: u64,
    ) -> Result<Delivery> {
        let digest = self
            .delivery_digest(m, order_id, eph, &ciphertext, proof)
            .await?;
        let o = self.open_order(m, order_id).await?;
        let now = self.block_timestamp().await?;
        let commit = if o.deliveryDigest == digest && now.saturating_add(margin) <= o.revealDeadline
        {
            None
        } else {
            if now.saturating_add(margin) > o.deadline {
                return Err(ChainError::TooClose {
                    step: Step::Commit,
                    order: order_id,
                    deadline: o.deadline,
                    now,
                    margin,
                });
            }
            Some(self.commit_delivery(m, order_id, digest).await?)
        };
        let o = self.get_order(m, order_id).await?;
        let now = self.block_timestamp().await?;
        if o.deliveryDigest != digest {
            return Err(ChainError::Invalid(format!(
                "order {order_id}'s commitment is {}, not this delivery's {digest}",
                o.deliveryDigest
            )));
        }
        if now.saturating_add(margin) > o.revealDeadline {
            return Err(ChainError::TooClose {
                step: Step::Reveal,
                order: order_id,
                deadline: o.revealDeadline,
                now,
                margin,
            });
        }
        let reveal = self.deliver(m, order_id, eph, ciphertext, proof).await?;
        Ok(Delivery {
            digest,
            commit,
            reveal,
        })
    }

    async fn open_order(&self, m: &MarketDeployment, order_id: U256) -> Result<Order> {
        let o = self.get_order(m, order_id).await?;
        match OrderStatus::of(&o)? {
            OrderStatus::Open => Ok(o),
            OrderStatus::None => Err(ChainError::Invalid(format!(
                "no order {order_id} on the marketplace {}",
                m.marketplace
            ))),
            s => Err(ChainError::Invalid(format!(
                "order {order_id} is {s:?}, not open"
            ))),
        }
    }

    /// The marketplace's `deliveryDigest` view: what a commitment to this reveal commits to
    /// (keccak256(abi.encode(orderId, ephX, ephY, ciphertext, proof))).
    pub async fn delivery_digest(
        &self,
        m: &MarketDeployment,
        order_id: U256,
        eph: (U256, U256),
        ciphertext: &[U256],
        proof: &[u8],
    ) -> Result<B256> {
        self.market(m)
            .deliveryDigest(
                order_id,
                eph.0,
                eph.1,
                ciphertext.to_vec(),
                proof.to_vec().into(),
            )
            .call()
            .await
            .map_err(|e| view_err("deliveryDigest", e))
    }

    /// The marketplace's `orderTag` view: the delivery proof's public input for `order_id`
    /// (keccak256(abi.encode(chainid, marketplace, orderId)) mod r).
    pub async fn order_tag(&self, m: &MarketDeployment, order_id: U256) -> Result<U256> {
        self.market(m)
            .orderTag(order_id)
            .call()
            .await
            .map_err(|e| view_err("orderTag", e))
    }

    /// `withdraw`: pays out what the sender is owed; `id` is the amount.
    pub async fn withdraw(&self, m: &MarketDeployment) -> Result<Sent> {
        let r = self
            .market_send(m, M::withdrawCall {}.abi_encode(), U256::ZERO, "withdraw")
            .await?;
        Ok(sent(&r, event::<M::Withdrawn>(&r).map(|e| e.amount)))
    }

    /// `refund`: the buyer reclaims an undelivered order after its deadline.
    pub async fn refund(&self, m: &MarketDeployment, order_id: U256) -> Result<Sent> {
        let data = M::refundCall { orderId: order_id }.abi_encode();
        let r = self.market_send(m, data, U256::ZERO, "refund").await?;
        Ok(sent(&r, None))
    }

    /// `cancel`: the seller takes a listing off sale.
    pub async fn cancel(&self, m: &MarketDeployment, listing_id: U256) -> Result<Sent> {
        let data = M::cancelCall {
            listingId: listing_id,
        }
        .abi_encode();
        let r = self.market_send(m, data, U256::ZERO, "cancel").await?;
        Ok(sent(&r, None))
    }

    fn market(
        &self,
        m: &MarketDeployment,
    ) -> M::PromptMarketplaceInstance<&alloy::providers::DynProvider> {
        M::new(m.marketplace, self.provider())
    }

    /// A listing (all zero when there is none).
    pub async fn get_listing(&self, m: &MarketDeployment, id: U256) -> Result<Listing> {
        self.market(m)
            .getListing(id)
            .call()
            .await
            .map_err(|e| view_err("getListing", e))
    }

    /// An order (all zero when there is none).
    pub async fn get_order(&self, m: &MarketDeployment, id: U256) -> Result<Order> {
        self.market(m)
            .getOrder(id)
            .call()
            .await
            .map_err(|e| view_err("getOrder", e))
    }

    /// What `who` can withdraw.
    pub async fn withdrawable(&self, m: &MarketDeployment, who: Address) -> Result<U256> {
        self.market(m)
            .withdrawable(who)
            .call()
            .await
            .map_err(|e| view_err("withdrawable", e))
    }

    /// The `Delivered` event of an order: `(R.x, R.y, ciphertext)`.
    pub async fn delivery(
        &self,
        m: &MarketDeployment,
        order_id: U256,
    ) -> Result<Option<(U256, U256, Vec<U256>)>> {
        let filter = Filter::new()
            .address(m.marketplace)
            .event_signature(M::Delivered::SIGNATURE_HASH)
            .topic1(B256::from(order_id))
            .from_block(0);
        let logs = self
            .provider()
            .get_logs(&filter)
            .await
            .map_err(crate::rpc_err("eth_getLogs"))?;
        Ok(logs.iter().find_map(|l| {
            M::Delivered::decode_log(&l.inner)
                .ok()
                .map(|e| (e.data.ephX, e.data.ephY, e.data.ciphertext.clone()))
        }))
    }
}

pub(crate) fn view_err(what: &str, e: alloy::contract::Error) -> ChainError {
    match e.as_revert_data() {
        Some(d) => ChainError::Reverted {
            what: what.into(),
            reason: crate::revert::describe(&d),
        },
        None => ChainError::Rpc {
            what: what.into(),
            source: Box::new(e),
        },
    }
}
