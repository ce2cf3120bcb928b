// libFuzzer target for the sync wire format and protocol machine
// (core/sync_codec.hpp, core/sync_session.hpp, docs/protocol.md).
//
// One input is read three ways:
//  1. as a byte stream of frames, fed to frame_reader in three different
//     chunkings (all at once, byte by byte, pseudo-random chunks derived from
//     the input); every complete payload is decoded with decode_envelope;
//  2. as one envelope (the whole input, no framing);
//  3. the envelopes that decoded are delivered, in order, to sync sessions
//     (responder and initiator, with and without a handshake done by the
//     harness first, one with a collection filter) over tests/sync/mem_store.
//
// Every step checks invariants the contract guarantees; a violation prints
// what failed and abort()s, so libFuzzer records the input as a crash. Crashes,
// sanitizer reports, leaks and timeouts are findings too.
#include "core/sync_codec.hpp"
#include "core/sync_session.hpp"
#include "tests/fuzz/fuzz_ops.hpp"
#include "tests/sync/mem_store.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace blaze;
using namespace blaze::sync;

namespace {

constexpr size_t max_frame = 1 << 20;  // 1 MiB: well under the 16 MiB default
const wire_limits tight{1 << 20, 16};
const wire_limits defaults{};
const wire_limits tiny{512, 4};  // exercises the size and nesting refusals
// BLAZE_FUZZ_TRACE=1: print what every session received and sent (to read
// what an input does; replay one file with it).
const bool trace = std::getenv("BLAZE_FUZZ_TRACE") != nullptr;

[[noreturn]] void violated(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "\nfuzz_sync_frames: INVARIANT VIOLATED: %s%s%s\n", what,
               detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}
#define FUZZ_CHECK(cond, detail)                                                                  \
  do {                                                                                           \
    if (!(cond))                                                                                 \
      violated(#cond, detail);                                                                   \
  } while (0)

std::string describe(const envelope& e) {
  std::string s = std::string(kind_name(e.msg)) + " v" + std::to_string(e.version);
  if (auto* b = std::get_if<op_batch>(&e.msg))
    s += " (" + std::to_string(b->ranges.size()) + " ranges, " + std::to_string(b->ops.size()) +
         " ops, " + std::to_string(batch_bytes(*b)) + " bytes)";
  if (auto* x = std::get_if<error>(&e.msg))
    s += std::string(" (") + to_string(x->code) + ": " + x->message + ")";
  return s;
}

// ---- 1. framing --------------------------------------------------------------

struct framed {
  std::vector<std::string> payloads;
  bool failed = false;  // next() returned an error (bad length): the stream is dead
};

// Takes payloads until more bytes are needed; false once the reader failed.
bool drain(frame_reader& r, framed& f) {
  for (;;) {
    auto p = r.next();
    if (!p) {
      FUZZ_CHECK(p.error().code == errc::corrupt, p.error().to_string());
      f.failed = true;
      return false;
    }
    if (!p->has_value())
      return true;
    FUZZ_CHECK(!(*p)->empty() && (*p)->size() <= max_frame, "payload size");
    f.payloads.push_back(std::move(**p));
  }
}

// Feeds `in` in chunks of the given sizes (cycled).
framed read_frames(std::string_view in, const std::vector<size_t>& chunks) {
  frame_reader r(max_frame);
  framed f;
  size_t pos = 0;
  for (size_t i = 0; pos < in.size(); ++i) {
    size_t n = std::min(chunks[i % chunks.size()], in.size() - pos);
    r.feed(in.substr(pos, n));
    pos += n;
    if (!drain(r, f))
      break;
  }
  if (in.empty())
    drain(r, f);
  return f;
}

uint32_t announced(std::string_view in, size_t at) {
  auto p = reinterpret_cast<const unsigned char*>(in.data()) + at;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

framed check_framing(std::string_view in) {
  framed whole = read_frames(in, {in.size() + 1});

  // What was taken is exactly frame(p1) frame(p2) ... and what is left is
  // either a bad length (failed) or an incomplete frame.
  std::string reframed;
  for (auto& p : whole.payloads)
    reframed += frame(p);
  FUZZ_CHECK(in.substr(0, reframed.size()) == reframed, "payloads are not the stream's frames");
  size_t rest = in.size() - reframed.size();
  if (whole.failed) {
    FUZZ_CHECK(rest >= 4, "failed without a length");
    uint32_t n = announced(in, reframed.size());
    FUZZ_CHECK(n == 0 || n > max_frame, "a valid length was refused");
  } else if (rest >= 4) {
    uint32_t n = announced(in, reframed.size());
    FUZZ_CHECK(n != 0 && n <= max_frame, "a bad length was accepted");
    FUZZ_CHECK(rest < 4 + size_t{n}, "a complete frame was left unread");
  }

  // The chunking must not matter.
  std::vector<std::vector<size_t>> splits;
  if (in.size() <= (64 << 10))
    splits.push_back({1});
  uint64_t x = fnv1a(in) | 1;
  std::vector<size_t> chunks;
  for (int i = 0; i < 16; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
    chunks.push_back(x % 8 == 0 ? 1 + x % 4099 : 1 + x % 13);
  }
  splits.push_back(std::move(chunks));
  for (auto& s : splits) {
    framed f = read_frames(in, s);
    FUZZ_CHECK(f.failed == whole.failed, "chunking changed whether the stream failed");
    FUZZ_CHECK(f.payloads == whole.payloads, "chunking changed the payloads");
  }
  return whole;
}

// ---- 2. envelopes ------------------------------------------------------------

void check_round_trip(const envelope& e) {
  for (bool compress : {false, true}) {
    std::string bytes = encode(e, compress);
    auto d = decode_envelope(bytes, defaults);
    FUZZ_CHECK(d.ok(), describe(e) + (compress ? " compressed" : "") + ": re-encoding does not decode: " +
                         d.error().to_string());
    FUZZ_CHECK(*d == e, describe(e) + (compress ? " compressed" : "") + ": decodes to " + describe(*d));
  }
}

std::optional<envelope> decode_checked(std::string_view bytes) {
  auto r = decode_envelope(bytes, tight);
  if (!r) {
    auto c = r.error().code;
    FUZZ_CHECK(c == errc::corrupt || c == errc::too_large, r.error().to_string());
    FUZZ_CHECK(c != errc::too_large || bytes.size() > tight.max_message, r.error().to_string());
    FUZZ_CHECK(!r.error().message.empty(), "an error without a message");
    return std::nullopt;
  }
  // Relaxing the limits never changes what a message decodes to.
  auto loose = decode_envelope(bytes, defaults);
  FUZZ_CHECK(loose.ok(), "decodes under tight limits, not under the defaults: " + loose.error().to_string());
  FUZZ_CHECK(*loose == *r, "the limits changed the decoded value");
  auto small = decode_envelope(bytes, tiny);
  FUZZ_CHECK(!small.ok() || *small == *r, "the limits changed the decoded value");
  if (!small.ok())
    FUZZ_CHECK(small.error().code == errc::corrupt || small.error().code == errc::too_large,
               small.error().to_string());
  // Another version: the body is not read.
  FUZZ_CHECK(r->version == protocol_version || std::holds_alternative<std::monostate>(r->msg),
             describe(*r));
  FUZZ_CHECK(r->version != protocol_version || !std::holds_alternative<std::monostate>(r->msg),
             "a version-1 envelope without a body");
  check_round_trip(*r);
  return std::move(*r);
}

// ---- 3. the protocol machine ---------------------------------------------------

struct variant {
  bool initiator;
  bool handshake;  // the harness completes the handshake before the input's messages
  std::vector<std::string> filter;
};

// Checks one batch the session sent: the peer must not find it corrupt.
/// Returns the dots of the batch's operations.
std::vector<dot> check_sent_batch(const op_batch& b, const session_options& o) {
  std::vector<dot> dots;
  FUZZ_CHECK(b.database == o.database, "batch for another database");
  FUZZ_CHECK(!b.ranges.empty(), "batch without ranges");
  std::map<node_id, const op_range*> by_origin;
  for (auto& r : b.ranges) {
    FUZZ_CHECK(r.after <= r.through, "sent range runs backwards");
    FUZZ_CHECK(by_origin.emplace(r.origin, &r).second, "two ranges for one origin");
  }
  std::map<node_id, uint64_t> last;
  for (auto& bytes : b.ops) {
    auto op = decode_operation(bytes);
    FUZZ_CHECK(op.ok(), "sent an operation that does not decode");
    auto i = by_origin.find(op->id.origin);
    FUZZ_CHECK(i != by_origin.end() && op->id.seq > i->second->after && op->id.seq <= i->second->through,
               "sent an operation outside its range");
    FUZZ_CHECK(op->id.seq > last[op->id.origin], "sent an origin's operations out of seq order");
    last[op->id.origin] = op->id.seq;
    dots.push_back(op->id);
  }
  // A batch is closed once it reaches max_batch_bytes: everything but its
  // last operation stays under it.
  if (!b.ops.empty())
    FUZZ_CHECK(batch_bytes(b) - b.ops.back().size() < o.max_batch_bytes, "batch over the maximum");
  return dots;
}

class harness {
public:
  explicit harness(const variant& v) : v_(v), store_(v.filter), s_(store_, options(v)) {
    for (uint64_t seq = 1; seq <= fuzz::local_ops; ++seq)
      store_.commit(fuzz::make_op(fuzz::self_node, seq));
  }

  void connect() {
    requests_ = caught_ups_ = 0;
    received_.clear();
    call(nullptr, [&] { return s_.start(); }, true);
    if (!v_.handshake)
      return;
    message m = v_.initiator ? message{welcome{fuzz::peer_node, fuzz::database, true}}
                             : message{hello{fuzz::peer_node, fuzz::database, true}};
    deliver(envelope{protocol_version, m});
    FUZZ_CHECK(s_.is_open(), "the handshake did not open the session");
  }

  void deliver(const envelope& e) {
    call(&e, [&] { return s_.on_message(e); });
    // A Ping's nonce lets the input drive the other events.
    auto* p = std::get_if<ping>(&e.msg);
    if (!p || e.version != protocol_version)
      return;
    switch (p->nonce % 4) {
      case 1: {  // a local commit
        // Only where the store holds exactly 1..n of its own origin (a
        // filtered store may hold later seqs, or be vouched past them).
        uint64_t have = store_.versions().get(fuzz::self_node), seq = have + 1;
        if (seq < 1000 && store_.held(fuzz::self_node) == have) {
          store_.commit(fuzz::make_op(fuzz::self_node, seq, 20 + p->nonce % 200));
          call(nullptr, [&] { return s_.on_local_commit(); });
        }
        break;
      }
      case 2:  // time passes (monotonic)
        now_ += (p->nonce >> 2) % 80'000;
        call(nullptr, [&] { return s_.on_tick(now_); });
        break;
      case 3:  // the connection drops and comes back
        s_.on_disconnect();
        FUZZ_CHECK(s_.in_flight() == 0, "in flight after a disconnect");
        connect();
        break;
      default: break;
    }
  }

private:
  static session_options options(const variant& v) {
    session_options o;
    o.database = fuzz::database;
    o.self = fuzz::self_node;
    o.initiator = v.initiator;
    o.collections = v.filter;
    o.max_batch_bytes = 150;  // small, so that a request takes several batches
    o.window_bytes = 400;     // and the window fills
    return o;
  }

  template <class Fn> void call(const envelope* in, Fn&& fn, bool starting = false) {
    const auto state_before = s_.current();
    const bool dead = state_before == session::state::closed || state_before == session::state::idle;
    const auto vv_before = store_.versions();
    const uint64_t store_applied = store_.applied, session_applied = s_.applied_ops();
    const size_t inflight_before = s_.in_flight();
    const node_id peer_before = s_.peer();
    const bool unanswered_before = unanswered_;
    const std::string what = in ? describe(*in) : std::string("local event");

    std::vector<envelope> out = fn();
    if (trace) {
      std::fprintf(stderr, "  %-40s ->", what.c_str());
      for (auto& e : out)
        std::fprintf(stderr, " [%s]", describe(e).c_str());
      std::fprintf(stderr, "  state %s, in flight %zu, store applied %llu\n", to_string(s_.current()),
                   s_.in_flight(), static_cast<unsigned long long>(store_.applied));
    }

    const auto vv = store_.versions();
    const bool store_unchanged = vv == vv_before && store_.applied == store_applied;
    FUZZ_CHECK(vv.dominates(vv_before), what + ": the store lost operations");
    FUZZ_CHECK(store_.applied - store_applied == s_.applied_ops() - session_applied,
               what + ": applied_ops() disagrees with the store");

    if (in && std::holds_alternative<sync_request>(in->msg) && in->version == protocol_version &&
        !dead) {
      ++requests_;
      received_.clear();  // the peer says again what it lacks (§4): that may be resent
    }

    // A closed (or not started) session answers nothing and changes nothing.
    if (dead && !starting) {
      FUZZ_CHECK(out.empty(), what + ": a closed session sent " + describe(out.empty() ? envelope{} : out.front()));
      FUZZ_CHECK(store_unchanged, what + ": a closed session changed the store");
      FUZZ_CHECK(s_.current() == state_before, what + ": a closed session changed state");
      return;
    }
    if (in && !dead && in->version != protocol_version) {
      FUZZ_CHECK(out.size() == 1 && std::holds_alternative<error>(out[0].msg) &&
                   std::get<error>(out[0].msg).code == error_code::version_mismatch,
                 what + ": another version not answered with versionMismatch");
    }
    if (in && !dead && std::holds_alternative<error>(in->msg) && in->version == protocol_version) {
      FUZZ_CHECK(out.empty(), what + ": answered a received Error");
      FUZZ_CHECK(s_.is_closed(), what + ": still open after a received Error");
      FUZZ_CHECK(s_.last_error() == std::get<error>(in->msg), what + ": last_error() is not the received one");
    }
    if (in && !dead && std::holds_alternative<ping>(in->msg) && in->version == protocol_version)
      FUZZ_CHECK(out.empty(), what + ": answered a Ping");
    if (in && !dead && in->version == protocol_version)
      check_reply(*in, state_before, peer_before, unanswered_before, vv_before, out, what);

    const op_batch* last_batch = nullptr;
    const error* sent_error = nullptr;
    for (size_t i = 0; i < out.size(); ++i) {
      auto& e = out[i];
      FUZZ_CHECK(e.version == protocol_version, what + ": sent another version");
      FUZZ_CHECK(!std::holds_alternative<std::monostate>(e.msg), what + ": sent an empty envelope");
      // What the session sends must survive the wire as it would be sent.
      auto wire = decode_envelope(encode(e, s_.compress_to_peer()), defaults);
      FUZZ_CHECK(wire.ok() && *wire == e, what + ": sent " + describe(e) + " that does not round-trip");
      if (auto* x = std::get_if<error>(&e.msg)) {
        FUZZ_CHECK(i + 1 == out.size(), what + ": sent something after an Error");
        sent_error = x;
      }
      if (auto* b = std::get_if<op_batch>(&e.msg)) {
        for (auto& id : check_sent_batch(*b, opts_())) {
          auto got = received_.find(id.origin);
          if (got != received_.end())
            for (auto& [after, through] : got->second)
              FUZZ_CHECK(id.seq <= after || id.seq > through,
                         what + ": sent back operation " + id.origin.to_hex() + ":" + std::to_string(id.seq) +
                           " the peer sent on this connection");
        }
        last_batch = b;
      }
      if (std::holds_alternative<caught_up>(e.msg))
        ++caught_ups_;
      if (auto* a = std::get_if<ack>(&e.msg))
        FUZZ_CHECK(a->versions == vv, what + ": Ack does not carry the store's version vector");
      if (std::holds_alternative<op_batch>(e.msg) || std::holds_alternative<caught_up>(e.msg))
        FUZZ_CHECK(requests_ > 0, what + ": sent " + describe(e) + " before the peer asked");
    }
    FUZZ_CHECK(caught_ups_ <= requests_, what + ": more CaughtUps than SyncRequests");

    // Ranges of a received batch applied without a gap (it started at or
    // before what the store had, and the store now holds or covers all of
    // it): the session must not send those operations back (protocol §4)
    // until the peer asks again.
    if (in && !dead && !sent_error && in->version == protocol_version)
      if (auto* b = std::get_if<op_batch>(&in->msg))
        for (auto& r : b->ranges)
          if (r.after < r.through && r.after <= vv_before.get(r.origin) && vv.get(r.origin) >= r.through)
            received_[r.origin].emplace_back(r.after, r.through);

    if (sent_error) {
      FUZZ_CHECK(s_.is_closed(), what + ": still open after sending an Error");
      FUZZ_CHECK(s_.last_error() == *sent_error, what + ": last_error() is not the sent one");
      // Errors other than `refused` are decided before anything is applied.
      // (A refused operation may follow operations of the same batch that
      // were applied: the contract does not make a batch atomic.)
      if (sent_error->code != error_code::refused)
        FUZZ_CHECK(store_unchanged, what + ": store changed although " + to_string(sent_error->code) +
                                      " was reported");
    }

    // Flow control (protocol §5): no batch is sent while the window is full,
    // so at most one batch lies beyond it; and nothing else adds to it.
    if (last_batch) {
      FUZZ_CHECK(s_.is_open(), what + ": sent a batch while not open");
      FUZZ_CHECK(s_.in_flight() >= batch_bytes(*last_batch), what + ": in_flight() below the last batch");
      FUZZ_CHECK(s_.in_flight() - batch_bytes(*last_batch) < opts_().window_bytes,
                 what + ": a batch was sent with the window full (in_flight " +
                   std::to_string(s_.in_flight()) + ")");
    } else {
      FUZZ_CHECK(s_.in_flight() <= inflight_before, what + ": in_flight() grew without a batch");
    }

    // The window accounting, modelled from protocol §5: in flight are the
    // operation bytes of the batches sent since the connection started or
    // the peer's last accepted SyncRequest, less those whose every range the
    // acknowledged vector reaches; a batch is only sent while that is under
    // the window.
    const bool accepted = in && !dead && !sent_error && in->version == protocol_version &&
                          state_before == session::state::open;
    if (starting) {
      flights_.clear();
      unanswered_ = false;
    }
    if (accepted && std::holds_alternative<caught_up>(in->msg))
      unanswered_ = false;
    for (auto& e : out)
      if (std::holds_alternative<sync_request>(e.msg))
        unanswered_ = true;
    if (accepted && std::holds_alternative<sync_request>(in->msg))
      flights_.clear();
    if (accepted && std::holds_alternative<ack>(in->msg))
      std::erase_if(flights_, [&](const model_flight& f) {
        return std::all_of(f.ranges.begin(), f.ranges.end(), [&](const op_range& r) {
          return s_.acknowledged().get(r.origin) >= r.through;
        });
      });
    for (auto& e : out)
      if (auto* b = std::get_if<op_batch>(&e.msg)) {
        FUZZ_CHECK(model_in_flight() < opts_().window_bytes,
                   what + ": a batch was sent with the window full (model: " +
                     std::to_string(model_in_flight()) + " bytes in flight)");
        flights_.push_back({b->ranges, batch_bytes(*b)});
      }
    FUZZ_CHECK(s_.in_flight() == model_in_flight(),
               what + ": in_flight() is " + std::to_string(s_.in_flight()) + ", the model says " +
                 std::to_string(model_in_flight()));
  }

  /// The answer the contract (protocol §3, §4) prescribes to a version-1
  /// message received while the session is not closed.
  void check_reply(const envelope& in, session::state before, const node_id& peer_before,
                   bool unanswered_before, const version_vector& vv_before,
                   const std::vector<envelope>& out, const std::string& what) {
    const bool open = before == session::state::open;
    auto is_error = [&](error_code c) {
      return out.size() == 1 && std::holds_alternative<error>(out[0].msg) &&
             std::get<error>(out[0].msg).code == c;
    };
    auto has_error = [&] {
      return std::any_of(out.begin(), out.end(),
                         [](const envelope& e) { return std::holds_alternative<error>(e.msg); });
    };
    auto opens = [&](const node_id& node) {
      FUZZ_CHECK(s_.is_open() && s_.peer() == node, what + ": the handshake did not open the session");
      auto& req = out.back();
      FUZZ_CHECK(std::holds_alternative<sync_request>(req.msg), what + ": no SyncRequest after the handshake");
      auto& r = std::get<sync_request>(req.msg);
      FUZZ_CHECK(r.database == fuzz::database && r.collections == v_.filter && r.versions == store_.versions(),
                 what + ": the SyncRequest is not the store's");
    };
    if (auto* m = std::get_if<hello>(&in.msg)) {
      if (v_.initiator)
        FUZZ_CHECK(is_error(error_code::unexpected), what + ": an initiator accepted Hello");
      else if (open)
        FUZZ_CHECK(m->node == peer_before && m->database == fuzz::database ? out.empty()
                                                                          : is_error(error_code::unexpected),
                   what + ": a repeated Hello is neither ignored nor unexpected");
      else if (m->database != fuzz::database)
        FUZZ_CHECK(is_error(error_code::unknown_database), what + ": Hello for another database accepted");
      else {
        FUZZ_CHECK(out.size() == 2 && std::holds_alternative<welcome>(out[0].msg),
                   what + ": Hello not answered by Welcome and SyncRequest");
        FUZZ_CHECK(std::get<welcome>(out[0].msg) == (welcome{fuzz::self_node, fuzz::database, true}),
                   what + ": Welcome does not name this side");
        opens(m->node);
      }
      return;
    }
    if (auto* m = std::get_if<welcome>(&in.msg)) {
      if (!v_.initiator)
        FUZZ_CHECK(is_error(error_code::unexpected), what + ": a responder accepted Welcome");
      else if (open)
        FUZZ_CHECK(m->node == peer_before && m->database == fuzz::database ? out.empty()
                                                                          : is_error(error_code::unexpected),
                   what + ": a repeated Welcome is neither ignored nor unexpected");
      else if (m->database != fuzz::database)
        FUZZ_CHECK(is_error(error_code::unknown_database), what + ": Welcome for another database accepted");
      else {
        FUZZ_CHECK(out.size() == 1, what + ": Welcome not answered by one SyncRequest");
        opens(m->node);
      }
      return;
    }
    const std::string* db = nullptr;
    if (auto* m = std::get_if<sync_request>(&in.msg))
      db = &m->database;
    else if (auto* m = std::get_if<op_batch>(&in.msg))
      db = &m->database;
    else if (auto* m = std::get_if<caught_up>(&in.msg))
      db = &m->database;
    else if (auto* m = std::get_if<ack>(&in.msg))
      db = &m->database;
    if (!db)
      return;  // Ping, Error: checked above
    if (!open) {
      FUZZ_CHECK(is_error(error_code::unexpected), what + ": accepted before the handshake");
      return;
    }
    if (*db != fuzz::database) {
      FUZZ_CHECK(is_error(error_code::unknown_database), what + ": accepted for another database");
      return;
    }
    if (std::holds_alternative<caught_up>(in.msg)) {
      FUZZ_CHECK(out.empty() && s_.peer_caught_up(), what + ": CaughtUp answered or not recorded");
      return;
    }
    if (!std::holds_alternative<op_batch>(in.msg)) {
      FUZZ_CHECK(!has_error(), what + ": refused");
      return;
    }
    auto& b = std::get<op_batch>(in.msg);
    if (corrupt_batch(b)) {
      FUZZ_CHECK(is_error(error_code::corrupt), what + ": an inconsistent batch was not corrupt");
      return;
    }
    if (has_error()) {
      FUZZ_CHECK(is_error(error_code::refused), what + ": a consistent batch was refused as " +
                                                  to_string(std::get<error>(out.back().msg).code));
      return;
    }
    FUZZ_CHECK(!out.empty() && std::holds_alternative<ack>(out[0].msg) && out.size() <= 2,
               what + ": a batch was not answered by an Ack (and maybe a SyncRequest)");
    bool gap = std::any_of(b.ranges.begin(), b.ranges.end(),
                           [&](const op_range& r) { return r.after > vv_before.get(r.origin); });
    bool asked = out.size() == 2 && std::holds_alternative<sync_request>(out[1].msg);
    FUZZ_CHECK(!gap || asked || unanswered_before,
               what + ": a batch with a gap, and no SyncRequest waiting for a CaughtUp");
  }

  /// Whether protocol §4 makes the batch corrupt: two ranges for an origin,
  /// a range running backwards, an operation that does not decode or lies
  /// outside every range.
  static bool corrupt_batch(const op_batch& b) {
    std::map<node_id, const op_range*> by_origin;
    for (auto& r : b.ranges)
      if (r.after > r.through || !by_origin.emplace(r.origin, &r).second)
        return true;
    for (auto& bytes : b.ops) {
      auto op = decode_operation(bytes);
      if (!op)
        return true;
      auto i = by_origin.find(op->id.origin);
      if (i == by_origin.end() || op->id.seq <= i->second->after || op->id.seq > i->second->through)
        return true;
    }
    return false;
  }

  struct model_flight {
    std::vector<op_range> ranges;
    size_t bytes;
  };
  size_t model_in_flight() const {
    size_t n = 0;
    for (auto& f : flights_)
      n += f.bytes;
    return n;
  }

  session_options opts_() const { return options(v_); }

  variant v_;
  test::mem_store store_;
  session s_;
  uint64_t now_ = 0;
  size_t requests_ = 0;    // SyncRequests delivered on this connection
  size_t caught_ups_ = 0;  // CaughtUps sent on this connection
  // Per origin, (after, through] ranges received and applied whole on this
  // connection since the peer's last SyncRequest.
  std::map<node_id, std::vector<std::pair<uint64_t, uint64_t>>> received_;
  std::vector<model_flight> flights_;  // the window model
  bool unanswered_ = false;  // sent a SyncRequest that no CaughtUp answered yet
};

void run_sessions(const std::vector<envelope>& msgs) {
  static const variant variants[] = {
    {false, false, {}},    // responder: the input must say Hello
    {true, false, {}},     // initiator: the input must say Welcome
    {false, true, {}},     // responder, handshake done: the input talks sync at once
    {true, true, {"c"}},   // initiator syncing collection "c" only
  };
  for (auto& v : variants) {
    if (trace)
      std::fprintf(stderr, "session: %s%s%s\n", v.initiator ? "initiator" : "responder",
                   v.handshake ? ", handshake done first" : "", v.filter.empty() ? "" : ", filter {c}");
    harness h(v);
    h.connect();
    for (auto& e : msgs)
      h.deliver(e);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  framed f = check_framing(in);
  std::vector<envelope> msgs;
  for (auto& p : f.payloads)
    if (auto e = decode_checked(p))
      msgs.push_back(std::move(*e));

  if (auto e = decode_checked(in))
    msgs.push_back(std::move(*e));

  run_sessions(msgs);
  return 0;
}
