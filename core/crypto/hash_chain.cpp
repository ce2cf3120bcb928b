#include "core/crypto/hash_chain.hpp"
#include "core/crypto/wire.hpp"

#include <string>
#include <vector>

namespace blaze::crypto {

namespace {

constexpr std::string_view genesis_tag = "blazedb/chain-genesis/v1";
constexpr std::string_view link_tag = "blazedb/chain-link/v1";
constexpr std::string_view head_tag = "blazedb/chain-head/v1";

/// link_seq with a reusable hasher (the verifier's loop).
chain_link next_link(sha256_hasher& h, const chain_link& prev, const unsigned char (&origin)[16], uint64_t seq,
                     const digest& op) {
  // tag 0x00 || prev(32) || origin(16) || u64 seq || op hash(32)
  unsigned char buf[link_tag.size() + 1 + 32 + 16 + 8 + 32];
  size_t at = 0;
  for (char c : link_tag)
    buf[at++] = static_cast<unsigned char>(c);
  buf[at++] = 0;
  for (auto b : prev)
    buf[at++] = b;
  for (auto b : origin)
    buf[at++] = b;
  for (int s = 56; s >= 0; s -= 8)
    buf[at++] = static_cast<unsigned char>((seq >> s) & 0xff);
  for (auto b : op)
    buf[at++] = b;
  return h.reset().update(buf, at).finish();
}

std::string range(uint64_t a, uint64_t b) {
  return a == b ? "seq " + std::to_string(a) : "seqs " + std::to_string(a) + ".." + std::to_string(b);
}

chain_error fail(chain_fault f, uint64_t seq, const node_id& origin, std::string what) {
  return {f, seq, "origin " + origin.to_hex() + ": " + std::string(to_string(f)) + " at seq " + std::to_string(seq) +
                    ": " + what};
}

} // namespace

chain_link chain_genesis(std::string_view database_id, const node_id& origin) {
  std::string in;
  wire::put_tag(in, genesis_tag);
  wire::put_bytes(in, database_id);
  wire::put_id(in, origin);
  return sha256(in);
}

chain_state chain_start(std::string_view database_id, const node_id& origin) {
  return {0, chain_genesis(database_id, origin)};
}

chain_link chain_next(const chain_link& prev, const node_id& origin, uint64_t seq, const digest& op) {
  unsigned char o[16];
  origin.to_bytes(o);
  sha256_hasher h;
  return next_link(h, prev, o, seq, op);
}

std::string head_message(std::string_view database_id, const node_id& origin, uint64_t seq, const chain_link& link) {
  std::string m;
  wire::put_tag(m, head_tag);
  wire::put_bytes(m, database_id);
  wire::put_id(m, origin);
  wire::put_u64(m, seq);
  wire::put_fixed(m, link);
  return m;
}

chain_builder::chain_builder(std::string database_id, node_id origin)
    : db_(std::move(database_id)), origin_(origin), state_(chain_start(db_, origin_)) {}

chain_builder::chain_builder(std::string database_id, node_id origin, chain_state from)
    : db_(std::move(database_id)), origin_(origin), state_(from) {}

uint64_t chain_builder::append(std::string_view op_bytes) {
  ++state_.seq;
  state_.link = chain_next(state_.link, origin_, state_.seq, op_hash(op_bytes));
  return state_.seq;
}

result<chain_head> chain_builder::sign_head(const signing_key& key) const {
  if (key.id() != origin_)
    return status{errc::invalid_argument, "the key of node " + key.id().to_hex() + " cannot sign the chain of origin " +
                                            origin_.to_hex()};
  if (state_.seq == 0)
    return status{errc::invalid_argument, "no operation to sign: the chain is at its genesis"};
  auto sig = key.sign(head_message(db_, origin_, state_.seq, state_.link));
  if (!sig)
    return sig.error();
  return chain_head{state_.seq, state_.link, *sig};
}

const char* to_string(chain_fault f) {
  switch (f) {
    case chain_fault::empty_batch: return "empty batch";
    case chain_fault::origin_mismatch: return "origin does not match key";
    case chain_fault::replay: return "replayed operations";
    case chain_fault::seq_gap: return "seq gap";
    case chain_fault::bad_signature: return "bad signature";
    case chain_fault::broken_chain: return "broken chain";
  }
  return "unknown chain fault";
}

status chain_error::to_status() const {
  bool order = fault == chain_fault::replay || fault == chain_fault::seq_gap;
  return {order ? errc::out_of_order : errc::corrupt, message};
}

chain_verdict verify_hashes(const ed25519_public_key& key, std::string_view database_id, const node_id& origin,
                            const chain_state& prev, uint64_t first_seq, std::span<const digest> op_hashes,
                            const chain_head& head) {
  if (op_hashes.empty())
    return fail(chain_fault::empty_batch, first_seq, origin, "a batch must carry at least one operation");
  if (!key_owns_origin(key, database_id, origin))
    return fail(chain_fault::origin_mismatch, first_seq, origin,
                "the key given is node " + node_id_of(key).to_hex() + "'s; only the origin's key signs its dots");
  if (first_seq <= prev.seq)
    return fail(chain_fault::replay, first_seq, origin,
                "operations up to seq " + std::to_string(prev.seq) + " are already verified; the batch starts at seq " +
                  std::to_string(first_seq));
  if (first_seq != prev.seq + 1)
    return fail(chain_fault::seq_gap, prev.seq + 1, origin,
                "the batch starts at seq " + std::to_string(first_seq) + " but seq " + std::to_string(prev.seq + 1) +
                  " is the next to verify");
  uint64_t last = first_seq + (op_hashes.size() - 1);
  if (last < first_seq)  // seq overflow: no real chain gets there
    return fail(chain_fault::seq_gap, first_seq, origin, "seq overflows");
  if (head.seq > last)
    return fail(chain_fault::seq_gap, last + 1, origin,
                "the head is at seq " + std::to_string(head.seq) + " but the batch holds " + range(first_seq, last) +
                  ": " + range(last + 1, head.seq) + " missing");
  if (head.seq < last)
    return fail(chain_fault::seq_gap, head.seq + 1, origin,
                "the batch holds " + range(first_seq, last) + " but its head covers only up to seq " +
                  std::to_string(head.seq));

  bool signed_ok = verify(key, head_message(database_id, origin, head.seq, head.link), head.sig);
  if (!signed_ok)
    return fail(chain_fault::bad_signature, head.seq, origin,
                "the head signature does not verify for this origin's key and database (forged, or made for "
                "another database)");

  unsigned char o[16];
  origin.to_bytes(o);
  sha256_hasher h;
  chain_link link = prev.link;
  uint64_t seq = first_seq;
  for (auto& oh : op_hashes) {
    link = next_link(h, link, o, seq, oh);
    ++seq;
  }
  if (link != head.link)
    return fail(chain_fault::broken_chain, head.seq, origin,
                range(first_seq, head.seq) + " do not chain from the verified link at seq " + std::to_string(prev.seq) +
                  " to the signed link (an operation was altered, reordered or replaced)");
  return chain_state{head.seq, head.link};
}

chain_verdict verify_batch(const ed25519_public_key& key, std::string_view database_id, const node_id& origin,
                           const chain_state& prev, uint64_t first_seq, std::span<const std::string_view> ops,
                           const chain_head& head) {
  std::vector<digest> hashes;
  hashes.reserve(ops.size());
  sha256_hasher h;
  for (auto op : ops)
    hashes.push_back(h.reset().update(op).finish());
  return verify_hashes(key, database_id, origin, prev, first_seq, hashes, head);
}

node_id replica_of(const node_id& node, std::string_view database_id) {
  std::string input = "blazedb-replica:";
  unsigned char id[16];
  node.to_bytes(id);
  input.append(reinterpret_cast<const char*>(id), 16);
  input += database_id;
  auto d = sha256(input);
  return id128::from_bytes(d.data());
}

bool key_owns_origin(const ed25519_public_key& key, std::string_view database_id, const node_id& origin) {
  auto node = node_id_of(key);
  return node == origin || replica_of(node, database_id) == origin;
}

bool verify_head(const ed25519_public_key& key, std::string_view database_id, const node_id& origin,
                 const chain_head& head) {
  return key_owns_origin(key, database_id, origin) && verify(key, head_message(database_id, origin, head.seq, head.link), head.sig);
}

chain_verdict verify_batch(const ed25519_public_key& key, std::string_view database_id, const node_id& origin,
                           const chain_state& prev, uint64_t first_seq, std::span<const std::string> ops,
                           const chain_head& head) {
  std::vector<std::string_view> views(ops.begin(), ops.end());
  return verify_batch(key, database_id, origin, prev, first_seq, std::span<const std::string_view>(views), head);
}

status equivocation_evidence::to_status() const {
  return {errc::equivocation, "equivocation: origin " + at.origin.to_hex() + " signed two different operations as seq " +
                                std::to_string(at.seq) + " (held " + to_hex(as_view(held_hash)) + ", received " +
                                to_hex(as_view(incoming_hash)) + ")"};
}

std::optional<equivocation_evidence> check_equivocation(const dot& at, std::string_view held,
                                                        std::string_view incoming) {
  digest a = op_hash(held), b = op_hash(incoming);
  if (a == b)
    return std::nullopt;
  return equivocation_evidence{at, std::string(held), std::string(incoming), a, b};
}

} // namespace blaze::crypto
