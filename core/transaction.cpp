#include "core/transaction.hpp"

#include "core/keys.hpp"

#include <algorithm>

namespace blaze {

const char* to_string(txn_point p) {
  switch (p) {
    case txn_point::before_prepare: return "before_prepare";
    case txn_point::after_prepare: return "after_prepare";
    case txn_point::after_decision: return "after_decision";
    case txn_point::after_commit: return "after_commit";
  }
  return "?";
}

std::optional<txn_point> txn_point_of(std::string_view s) {
  for (auto p : {txn_point::before_prepare, txn_point::after_prepare, txn_point::after_decision,
                 txn_point::after_commit})
    if (s == to_string(p))
      return p;
  return std::nullopt;
}

txn_coordinator::txn_coordinator(txn_id id, std::vector<std::string> participants)
  : id_(id), dbs_(std::move(participants)) {
  std::sort(dbs_.begin(), dbs_.end());
  dbs_.erase(std::unique(dbs_.begin(), dbs_.end()), dbs_.end());
}

std::vector<txn_coordinator::action> txn_coordinator::start() {
  if (phase_ != phase::idle)
    return {};
  if (dbs_.empty()) {
    phase_ = phase::done;
    committed_ = true;  // nothing to write: trivially committed
    return {{action::kind::finish, {}, {}}};
  }
  phase_ = phase::preparing;
  next_ = 1;
  return {{action::kind::prepare, dbs_[0], {}}};
}

std::vector<txn_coordinator::action> txn_coordinator::abort_all(status why) {
  std::vector<action> out;
  // Every participant asked so far may hold a prepare record (or a queued
  // prepare): all of them are told.
  for (size_t i = 0; i < next_; ++i)
    out.push_back({action::kind::abort, dbs_[i], {}});
  out.push_back({action::kind::finish, {}, std::move(why)});
  phase_ = phase::done;
  committed_ = false;
  return out;
}

std::vector<txn_coordinator::action> txn_coordinator::on_vote(const std::string& database, result<uint32_t> vote) {
  if (phase_ != phase::preparing || next_ == 0 || dbs_[next_ - 1] != database)
    return {};
  if (!vote) {
    auto e = vote.error();
    e.message = "transaction aborted: database '" + database + "' refused to prepare: " + e.message;
    return abort_all(std::move(e));
  }
  parts_.push_back({database, *vote});
  if (next_ < dbs_.size())
    return {{action::kind::prepare, dbs_[next_++], {}}};
  phase_ = phase::logging;
  return {{action::kind::log_commit, {}, {}}};
}

std::vector<txn_coordinator::action> txn_coordinator::on_logged(const status& st) {
  if (phase_ != phase::logging)
    return {};
  if (!st) {
    auto e = st;
    e.message = "transaction aborted: cannot log the decision: " + e.message;
    return abort_all(std::move(e));
  }
  phase_ = phase::committing;
  committed_ = true;
  std::vector<action> out;
  for (auto& d : dbs_)
    out.push_back({action::kind::commit, d, {}});
  return out;
}

std::vector<txn_coordinator::action> txn_coordinator::on_committed(const std::string& database, const status&) {
  if (phase_ != phase::committing || std::find(dbs_.begin(), dbs_.end(), database) == dbs_.end())
    return {};
  // A participant that could not be told still commits: it finds the
  // logged decision (resolve_prepared). The transaction is committed either way.
  if (++acked_ < dbs_.size())
    return {};
  phase_ = phase::done;
  return {{action::kind::finish, {}, {}}};
}

txn_resolution resolve_prepared(bool logged_commit, bool in_flight) {
  // A running coordinator decides, even when its decision is logged already:
  // it commits the parts inside the visibility gate (a part committing on
  // its own, outside it, could show a group read half of the transaction).
  if (in_flight)
    return txn_resolution::wait;
  return logged_commit ? txn_resolution::commit : txn_resolution::abort;
}

status validate(const txn_tag& tag) {
  if (tag.parts.empty() || tag.parts.size() > 256)
    return {errc::invalid_argument, "transaction " + tag.id.to_hex() + " has " + std::to_string(tag.parts.size()) +
                                      " parts (1 to 256)"};
  for (size_t i = 0; i < tag.parts.size(); ++i) {
    auto& p = tag.parts[i];
    if (p.database.empty() || p.database.size() > 128 || p.database.find('/') != std::string::npos ||
        p.database[0] == '.')
      return {errc::invalid_argument, "transaction " + tag.id.to_hex() + " names a bad database '" + p.database + "'"};
    if (p.ops == 0)
      return {errc::invalid_argument, "transaction " + tag.id.to_hex() + " has an empty part"};
    for (size_t j = 0; j < i; ++j)
      if (tag.parts[j].database == p.database)
        return {errc::invalid_argument, "transaction " + tag.id.to_hex() + " names '" + p.database + "' twice"};
  }
  return {};
}

namespace {

std::string encode_strings(const std::vector<std::string>& xs) {
  std::string out;
  keys::append_u64(out, xs.size());
  for (auto& x : xs) {
    keys::append_u64(out, x.size());
    out += x;
  }
  return out;
}

result<std::vector<std::string>> decode_strings(std::string_view b, const char* what) {
  auto bad = [&] { return status{errc::corrupt, std::string("malformed ") + what}; };
  if (b.size() < 8)
    return bad();
  uint64_t n = keys::read_u64(b.data());
  size_t at = 8;
  if (n > b.size())
    return bad();
  std::vector<std::string> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (b.size() - at < 8)
      return bad();
    uint64_t len = keys::read_u64(b.data() + at);
    at += 8;
    if (len > b.size() - at)
      return bad();
    out.emplace_back(b.substr(at, len));
    at += len;
  }
  if (at != b.size())
    return bad();
  return out;
}

} // namespace

std::string encode_prepared(const std::vector<std::string>& encoded_ops) { return encode_strings(encoded_ops); }
result<std::vector<std::string>> decode_prepared(std::string_view bytes) {
  return decode_strings(bytes, "prepare record");
}
std::string encode_decision(const std::vector<std::string>& remaining) { return encode_strings(remaining); }
result<std::vector<std::string>> decode_decision(std::string_view bytes) {
  return decode_strings(bytes, "decision record");
}

} // namespace blaze
