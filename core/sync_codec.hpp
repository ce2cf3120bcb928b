// Sync protocol messages in memory (schema/sync.capnp), their wire encoding
// and the stream framing (docs/protocol.md). Decoders never trust their
// input: malformed bytes give a `corrupt` status, never a crash.
#pragma once

#include "core/codec.hpp"
#include "core/ids.hpp"
#include "core/snapshot.hpp"
#include "core/status.hpp"
#include "core/version_vector.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace blaze::sync {

/// The protocol version this build speaks.
constexpr uint16_t protocol_version = 1;

/// Per origin, the seq range (after, through] a batch covers, and the
/// origin's signed chain head at `through` (docs/protocol.md §5b). The head
/// fields are empty in the unauthenticated test mode (no session auth) and
/// exactly 32/64/32 bytes otherwise; a decoder refuses other sizes.
struct op_range {
  node_id origin;
  uint64_t after = 0;
  uint64_t through = 0;
  std::string link{};        // the chain link at `through` (32 bytes)
  std::string signature{};   // the origin's Ed25519 signature of the head (64 bytes)
  std::string origin_key{};  // the origin's Ed25519 public key (32 bytes)
  std::string skipped{};     // SHA-256 (32 bytes each, seq order) of the range's operations left out
  bool signed_head() const { return !signature.empty(); }
  bool operator==(const op_range&) const = default;
};

struct hello {
  node_id node;
  std::string database;
  bool zstd = true;
  bool snapshots = true;   // accepts Snapshot messages
  std::string public_key{};  // Ed25519, 32 bytes (empty: unauthenticated)
  std::string challenge{};   // 32 random bytes
  bool tls = false;          // the sender's connection is TLS (channel binding, docs/protocol.md §3)
  bool operator==(const hello&) const = default;
};
struct welcome {
  node_id node;
  std::string database;
  bool zstd = true;
  bool snapshots = true;
  std::string public_key{};
  std::string challenge{};
  std::string signature{};  // over the transcript (handshake_transcript)
  bool tls = false;
  bool operator==(const welcome&) const = default;
};
/// The connecting side's proof of its key (docs/protocol.md §3).
struct auth {
  std::string signature;
  bool operator==(const auth&) const = default;
};
struct sync_request {
  std::string database;
  std::vector<std::string> collections;  // empty: all
  version_vector versions;
  bool operator==(const sync_request&) const = default;
};
struct op_batch {
  std::string database;
  std::vector<op_range> ranges;
  std::vector<std::string> ops;  // each encode(operation)
  bool operator==(const op_batch&) const = default;
};
struct caught_up {
  std::string database;
  version_vector versions;
  bool operator==(const caught_up&) const = default;
};
struct ack {
  std::string database;
  version_vector versions;
  uint32_t snapshot_chunk = 0;  // 0: answers an OpBatch; n > 0: answers Snapshot chunk n - 1
  bool operator==(const ack&) const = default;
};
/// The values of schema ErrorCode; the last is the highest a decoder accepts.
enum class error_code : uint16_t {
  none = 0, version_mismatch, unexpected, corrupt, unknown_database, refused, timeout, unauthenticated, forbidden
};
const char* to_string(error_code c);
struct error {
  error_code code = error_code::none;
  std::string message;
  bool operator==(const error&) const = default;
};
struct ping {
  uint64_t nonce = 0;
  bool operator==(const ping&) const = default;
};

using blaze::index_decl;
using blaze::snapshot_entry;
/// One chunk of a snapshot (docs/protocol.md §5a).
struct snapshot {
  std::string database;
  version_vector versions;  // the operations the states cover (the same in every chunk)
  uint32_t chunk = 0;       // 0, 1, 2, ...
  bool last = false;        // no chunk follows
  std::vector<index_decl> indexes;  // chunk 0 only
  std::vector<snapshot_entry> entries;
  /// Chunk 0 only: per origin of `versions`, its signed head at that seq
  /// (`through`; `after` unused). Empty in the unauthenticated test mode.
  std::vector<op_range> heads{};
  bool operator==(const snapshot&) const = default;
};

/// std::monostate: an envelope whose body this build did not read (its
/// protocol version is not ours).
using message = std::variant<std::monostate, hello, welcome, sync_request, op_batch, caught_up,
                             ack, error, ping, snapshot, auth>;

struct envelope {
  uint16_t version = protocol_version;
  message msg;
  bool operator==(const envelope&) const = default;
};

/// Name of the message kind, for logs and errors.
const char* kind_name(const message& m);

/// Bytes of operations in a batch (the unit of the flow-control window).
size_t batch_bytes(const op_batch& b);
/// Bytes of a snapshot chunk's entries (collection, 16 for the id, state),
/// counted in the window like batch_bytes.
size_t snapshot_bytes(const snapshot& s);

struct wire_limits {
  size_t max_message = 16 << 20;  // bytes: encoded envelope, its unpacked form,
                                  // and a compressed batch's decompressed size
  int nesting = 32;
};

/// Packed Cap'n Proto of the envelope. With `compress`, an OpBatch's ops
/// (a Snapshot's entries) are sent zstd-compressed when that is smaller.
std::string encode(const envelope& e, bool compress = true);
/// Decodes one envelope. A different protocol version decodes to that
/// version with a monostate body (the body is not read).
result<envelope> decode_envelope(std::string_view bytes, const wire_limits& lim = {});

/// A frame: u32 big-endian payload length, then the payload.
std::string frame(std::string_view payload);

/// Splits a byte stream into frame payloads. A length over `max_frame`
/// is an error: the stream cannot be resynchronised and must be closed.
class frame_reader {
public:
  explicit frame_reader(size_t max_frame = 16 << 20) : max_(max_frame) {}
  void feed(std::string_view bytes) {
    if (pos_ > 0 && pos_ * 2 >= buf_.size()) {  // drop consumed bytes, amortized O(1) per byte
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    buf_.append(bytes);
  }
  /// The next complete payload, nullopt when more bytes are needed, or a
  /// `corrupt` status when the announced length is over the maximum.
  result<std::optional<std::string>> next();

private:
  size_t max_;
  std::string buf_;
  size_t pos_ = 0;  // bytes of buf_ already returned
};

} // namespace blaze::sync
