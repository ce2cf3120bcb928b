#include "core/sealed_op.hpp"

#include "core/crypto/wire.hpp"

namespace blaze {

namespace {

std::string where(const operation& op) {
  return "sealed operation " + op.id.origin.to_hex() + ":" + std::to_string(op.id.seq);
}

status corrupt(const operation& op, const std::string& why) { return {errc::corrupt, where(op) + ": " + why}; }

} // namespace

std::string sealed_op_associated_data(std::string_view database_id, const operation& outer) {
  std::string ad = crypto::op_associated_data(database_id, outer.collection, outer.id);
  crypto::wire::put_u64(ad, outer.counter);
  return ad;
}

result<operation> seal_operation(const operation& plain, const crypto::content_key& key, std::string_view database_id,
                                 const std::optional<crypto::aes256gcm::nonce>& fixed_nonce) {
  if (plain.k == operation::kind::sealed)
    return status{errc::invalid_argument, "operation is already sealed"};
  operation outer;
  outer.id = plain.id;
  outer.counter = plain.counter;
  outer.collection = plain.collection;
  outer.k = operation::kind::sealed;

  operation inner = plain;
  inner.id = {};
  inner.counter = 0;
  inner.collection.clear();
  auto box = crypto::seal(key, encode(inner), sealed_op_associated_data(database_id, outer), fixed_nonce);
  if (!box.ok())
    return box.error();
  outer.sealed_box = std::move(*box);
  return outer;
}

result<uint32_t> sealed_op_epoch(const operation& sealed) {
  if (sealed.k != operation::kind::sealed)
    return status{errc::invalid_argument, "a " + std::string(kind_name(sealed.k)) + " operation is not sealed"};
  return crypto::sealed_epoch(sealed.sealed_box);
}

result<operation> open_operation(const operation& sealed, const crypto::content_key& key,
                                 std::string_view database_id, const decode_limits& lim) {
  if (sealed.k != operation::kind::sealed)
    return status{errc::invalid_argument, "a " + std::string(kind_name(sealed.k)) + " operation is not sealed"};
  if (!sealed.record.is_zero() || !sealed.fields.empty() || !sealed.observed.empty() || !sealed.index_field.empty())
    return corrupt(sealed, "clear record or fields next to the sealed box");
  auto inner_bytes = crypto::open(key, sealed.sealed_box, sealed_op_associated_data(database_id, sealed));
  if (!inner_bytes.ok())
    return corrupt(sealed, inner_bytes.error().message);
  auto inner = decode_operation(*inner_bytes, lim);
  if (!inner.ok())
    return corrupt(sealed, "inner " + inner.error().message);
  if (inner->k == operation::kind::sealed)
    return corrupt(sealed, "inner operation is itself sealed");
  if (!inner->id.origin.is_zero() || inner->id.seq != 0 || inner->counter != 0 || !inner->collection.empty())
    return corrupt(sealed, "inner operation carries its own dot, timestamp or collection (contradicts the outer)");
  operation op = std::move(*inner);
  op.id = sealed.id;
  op.counter = sealed.counter;
  op.collection = sealed.collection;
  return op;
}

} // namespace blaze
