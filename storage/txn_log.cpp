#include "storage/txn_log.hpp"

#include "core/transaction.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <algorithm>

namespace blaze {

namespace {

std::string key_of(const id128& id) {
  unsigned char b[16];
  id.to_bytes(b);
  return std::string(reinterpret_cast<const char*>(b), 16);
}

status io(const rocksdb::Status& s, const std::string& what) { return {errc::io_error, what + ": " + s.ToString()}; }

} // namespace

txn_log::~txn_log() {
  if (db_)
    db_->Close();
}

result<std::shared_ptr<txn_log>> txn_log::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return status{errc::io_error, "cannot create " + dir.string() + ": " + ec.message()};
  rocksdb::Options o;
  o.create_if_missing = true;
  o.max_open_files = 16;
  o.keep_log_file_num = 2;
  o.write_buffer_size = 1 << 20;
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(o, dir.string(), &raw);
  if (!st.ok())
    return io(st, "cannot open the transaction log " + dir.string());
  std::shared_ptr<txn_log> out(new txn_log());
  out->db_.reset(raw);
  out->data_dir_ = dir.parent_path();
  return out;
}

status txn_log::log_commit(const id128& txn, const std::vector<std::string>& participants) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::lock_guard<std::mutex> g(m_);
  auto st = db_->Put(wo, key_of(txn), encode_decision(participants));
  return st.ok() ? status{} : io(st, "cannot log the commit of transaction " + txn.to_hex());
}

result<bool> txn_log::has(const std::string& key) const {
  std::string v;
  auto st = db_->Get(rocksdb::ReadOptions(), key, &v);
  if (st.IsNotFound())
    return false;
  if (!st.ok())
    return io(st, "cannot read the transaction log");
  return true;
}

status txn_log::cross_off(const std::string& key, const std::string& name) {
  std::lock_guard<std::mutex> g(m_);
  std::string v;
  auto st = db_->Get(rocksdb::ReadOptions(), key, &v);
  if (st.IsNotFound())
    return {};
  if (!st.ok())
    return io(st, "cannot read the transaction log");
  auto rest = decode_decision(v);
  if (!rest)
    return rest.error();
  rest->erase(std::remove(rest->begin(), rest->end(), name), rest->end());
  st = rest->empty() ? db_->Delete(rocksdb::WriteOptions(), key)
                     : db_->Put(rocksdb::WriteOptions(), key, encode_decision(*rest));
  return st.ok() ? status{} : io(st, "cannot update the transaction log");
}

result<bool> txn_log::committed(const id128& txn) const { return has(key_of(txn)); }

status txn_log::finish(const id128& txn, const std::string& participant) {
  return cross_off(key_of(txn), participant);
}

result<std::vector<std::pair<id128, std::vector<std::string>>>> txn_log::pending() const {
  std::vector<std::pair<id128, std::vector<std::string>>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() == 17 && it->key()[0] == 'R')
      continue;  // a logged release
    if (it->key().size() != 16)
      return status{errc::corrupt, "bad key in the transaction log"};
    auto parts = decode_decision(it->value().ToStringView());
    if (!parts)
      return parts.error();
    out.emplace_back(id128::from_bytes(reinterpret_cast<const unsigned char*>(it->key().data())), std::move(*parts));
  }
  if (!it->status().ok())
    return io(it->status(), "cannot read the transaction log");
  return out;
}

void txn_log::begin(const id128& txn) {
  std::lock_guard<std::mutex> g(m_);
  in_flight_.insert(txn);
}

void txn_log::end(const id128& txn) {
  std::lock_guard<std::mutex> g(m_);
  in_flight_.erase(txn);
}

bool txn_log::in_flight(const id128& txn) const {
  std::lock_guard<std::mutex> g(m_);
  return in_flight_.count(txn) > 0;
}

namespace {
std::string release_key(const id128& id) { return "R" + key_of(id); }
} // namespace

void txn_log::attach(const std::string& database, uint64_t owner, release_fn fn) {
  std::lock_guard<std::mutex> g(m_);
  attached_[database] = {owner, std::move(fn)};
  open_asked_.erase(database);
}

void txn_log::detach(const std::string& database, uint64_t owner) {
  std::vector<visibility_gate::ticket> done;
  {
    std::lock_guard<std::mutex> g(m_);
    auto a = attached_.find(database);
    if (a == attached_.end() || a->second.first != owner)
      return;
    attached_.erase(a);
    // Releases it was told of and will not finish now: it finishes them when
    // it opens again (the release is logged); the gate does not wait for it.
    for (auto it = releasing_.begin(); it != releasing_.end();) {
      it->second.second.erase(database);
      if (it->second.second.empty()) {
        done.push_back(it->second.first);
        it = releasing_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto t : done)
    gate_.leave(t);
}

void txn_log::released(const id128& txn, const std::string& database) {
  visibility_gate::ticket t = 0;
  {
    std::lock_guard<std::mutex> g(m_);
    auto it = releasing_.find(txn);
    if (it == releasing_.end() || it->second.second.erase(database) == 0 || !it->second.second.empty())
      return;
    t = it->second.first;
    releasing_.erase(it);
  }
  gate_.leave(t);
}

void txn_log::set_opener(open_fn fn) {
  std::lock_guard<std::mutex> g(m_);
  opener_ = std::move(fn);
}

bool txn_log::hosts(const std::string& database) const {
  std::error_code ec;
  return std::filesystem::exists(data_dir_ / database / "CURRENT", ec);
}

result<bool> txn_log::report(const txn_tag& tag, const std::string& database, uint32_t count) {
  if (std::none_of(tag.parts.begin(), tag.parts.end(), [&](auto& p) { return p.database == database; }))
    return true;  // a tag that does not name this database cannot be waited for
  std::vector<release_fn> tell;       // the other open parts' databases
  std::vector<std::string> to_open;   // hosted parts whose database is not open
  release_fn self_fn;                 // the reporter's own, for a queued release
  open_fn opener;
  visibility_gate::ticket ticket = 0;
  bool complete = true;
  bool self_told = false;
  {
    std::lock_guard<std::mutex> g(m_);
    opener = opener_;
    auto& counts = held_[tag.id];
    counts[database] = count;
    std::vector<std::string> hosted;
    for (auto& p : tag.parts) {
      if (p.database != database) {
        if (!hosts(p.database))
          continue;  // a part this node does not host is not waited for
        if (!attached_.count(p.database)) {  // it reports (and releases) once open
          auto now = std::chrono::steady_clock::now();
          auto& asked = open_asked_[p.database];
          if (now - asked >= std::chrono::seconds(1)) {
            asked = now;
            to_open.push_back(p.database);
          }
        }
      }
      auto c = counts.find(p.database);
      if (c == counts.end() || c->second < p.ops)
        complete = false;
      hosted.push_back(p.database);
    }
    if (complete) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      auto st = db_->Put(wo, release_key(tag.id), encode_decision(hosted));
      if (!st.ok())
        return io(st, "cannot log the release of transaction " + tag.id.to_hex());
      held_.erase(tag.id);
      std::set<std::string> told;
      for (auto& h : hosted)
        if (auto a = attached_.find(h); a != attached_.end()) {
          told.insert(h);
          if (h == database)
            self_fn = a->second.second;
          else
            tell.push_back(a->second.second);
        }
      self_told = told.count(database) > 0;
      if (told.size() >= 2) {  // several databases apply it: a writer of the gate
        ticket = gate_.make_ticket();
        releasing_[tag.id] = {ticket, std::move(told)};
      }
    }
  }
  if (opener)
    for (auto& db : to_open)
      opener(db);
  if (!complete)
    return false;
  if (ticket != 0) {
    auto later = tell;
    if (self_told)
      later.push_back(self_fn);
    auto go = [later = std::move(later), id = tag.id] {
      for (auto& fn : later)
        fn(id);
    };
    if (!gate_.enter(ticket, std::move(go)))
      return !self_told;  // a reader is taking its read points: the parts are told once it has
  }
  for (auto& fn : tell)
    fn(tag.id);
  return true;
}

result<bool> txn_log::release_logged(const id128& txn) const { return has(release_key(txn)); }

status txn_log::finish_release(const id128& txn, const std::string& database) {
  return cross_off(release_key(txn), database);
}

} // namespace blaze
