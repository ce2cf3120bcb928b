#include "core/access.hpp"

#include "core/crypto/aead.hpp"
#include "core/crypto/sha256.hpp"
#include "core/crypto/wire.hpp"

#include <charconv>

namespace blaze {

namespace {

constexpr std::string_view f_owner = "owner", f_sealed = "sealed", f_epoch = "epoch", f_check = "check";
constexpr size_t check_size = 16;
constexpr std::string_view f_ed25519 = "ed25519", f_x25519 = "x25519", f_rights = "rights", f_key = "key.";
constexpr uint64_t max_epoch = 0xffffffffull;

const value* field(const value_map& doc, std::string_view name) {
  auto it = doc.find(std::string(name));
  return it == doc.end() ? nullptr : &it->second;
}

std::optional<std::string_view> bytes_of(const value* v, size_t size) {
  if (!v)
    return std::nullopt;
  auto* b = v->get_if<bytes>();
  if (!b || b->data.size() != size)
    return std::nullopt;
  return std::string_view(b->data);
}

/// The N of a field named key.<N> (decimal, 1..2^32-1, no leading zeros).
std::optional<uint32_t> key_epoch(std::string_view name) {
  if (name.substr(0, f_key.size()) != f_key)
    return std::nullopt;
  auto digits = name.substr(f_key.size());
  if (digits.empty() || digits.size() > 10 || digits[0] == '0')
    return std::nullopt;
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || p != digits.data() + digits.size() || n == 0 || n > max_epoch)
    return std::nullopt;
  return static_cast<uint32_t>(n);
}

std::string key_field(uint32_t epoch) { return std::string(f_key) + std::to_string(epoch); }

value bytes_value(std::string_view b) { return value{bytes{std::string(b)}}; }

status forbidden(std::string why) { return {errc::forbidden, std::move(why)}; }

std::string short_id(const node_id& n) { return n.to_hex(); }

write record_write(const record_id& id, bool exists, value_map fields) {
  write w;
  w.k = exists ? write::kind::update : write::kind::insert;
  w.collection = std::string(access::collection);
  w.record = id;
  w.fields = std::move(fields);
  return w;
}

} // namespace

// ---- rights -----------------------------------------------------------------------

const char* to_string(access_rights r) {
  switch (r) {
    case access_rights::none: return "none";
    case access_rights::relay: return "relay";
    case access_rights::read: return "r";
    case access_rights::read_write: return "rw";
    case access_rights::admin: return "admin";
  }
  return "none";
}

std::optional<access_rights> parse_rights(std::string_view t) {
  for (auto r : {access_rights::none, access_rights::relay, access_rights::read, access_rights::read_write,
                 access_rights::admin})
    if (t == to_string(r))
      return r;
  return std::nullopt;
}

// ---- database ids -----------------------------------------------------------------

std::string access::key_check(std::string_view database_id, const crypto::content_key& key) {
  std::string in;
  crypto::wire::put_tag(in, "blazedb/content-key-check/v1");
  crypto::wire::put_bytes(in, database_id);
  crypto::wire::put_u32(in, key.epoch());
  in.append(key.key().view());
  auto d = crypto::sha256(in);
  OPENSSL_cleanse(in.data(), in.size());
  return std::string(reinterpret_cast<const char*>(d.data()), check_size);
}

std::string access::bound_database_id(std::string_view name, const node_id& owner) {
  return std::string(name) + "@" + owner.to_hex();
}

std::optional<node_id> access::bound_owner(std::string_view database_id) {
  auto at = database_id.rfind('@');
  if (at == std::string_view::npos)
    return std::nullopt;
  return id128::from_hex(database_id.substr(at + 1));
}

// ---- access_list ------------------------------------------------------------------

void access_list::put(const record_id& id, const value_map& doc) {
  if (id == access::database_record) {
    owner_.reset();
    sealed_ = false;
    epoch_ = 0;
    check_.clear();
    if (auto b = bytes_of(field(doc, f_check), check_size))
      check_ = std::string(*b);
    if (auto b = bytes_of(field(doc, f_owner), 32))
      owner_ = crypto::ed25519_public_key::from_bytes(*b);
    if (auto* v = field(doc, f_sealed); v && v->is<bool>())
      sealed_ = v->as<bool>();
    if (auto* v = field(doc, f_epoch); v && v->is<int64_t>() && v->as<int64_t>() >= 0 &&
                                       static_cast<uint64_t>(v->as<int64_t>()) <= max_epoch)
      epoch_ = static_cast<uint32_t>(v->as<int64_t>());
    return;
  }
  if (doc.empty()) {
    members_.erase(id);
    return;
  }
  access_member m;
  m.id = id;
  if (auto b = bytes_of(field(doc, f_ed25519), 32)) {
    auto k = crypto::ed25519_public_key::from_bytes(*b);
    if (crypto::node_id_of(*k) == id)  // a key that is not this record's is no key
      m.signing = k;
  }
  if (auto b = bytes_of(field(doc, f_x25519), 32))
    m.exchange = crypto::x25519_public_key::from_bytes(*b);
  if (auto* v = field(doc, f_rights); v && v->is<std::string>())
    m.rights = parse_rights(v->as<std::string>()).value_or(access_rights::none);
  for (auto& [name, v] : doc)
    if (auto e = key_epoch(name))
      if (auto b = bytes_of(&v, crypto::wrapped_size))
        m.wrapped.emplace(*e, std::string(*b));
  members_.insert_or_assign(id, std::move(m));
}

bool access_list::needs_rotation() const {
  if (!sealed_ || epoch_ == 0)
    return false;
  for (auto& [id, m] : members_)
    if (!can_read(id) && m.wrapped.count(epoch_))
      return true;
  return false;
}

node_id access_list::owner_id() const { return owner_ ? crypto::node_id_of(*owner_) : node_id{}; }

access_rights access_list::rights_of(const node_id& node) const {
  if (owner_ && node == owner_id())
    return access_rights::admin;
  auto it = members_.find(node);
  return it == members_.end() ? access_rights::none : it->second.rights;
}

const access_member* access_list::find(const node_id& node) const {
  auto it = members_.find(node);
  return it == members_.end() ? nullptr : &it->second;
}

const std::string* access_list::wrapped_key(const node_id& member, uint32_t epoch) const {
  auto* m = find(member);
  if (!m)
    return nullptr;
  auto it = m->wrapped.find(epoch);
  return it == m->wrapped.end() ? nullptr : &it->second;
}

// ---- keyring ----------------------------------------------------------------------

keyring keyring::unlock(const access_list& list, const node_id& self, const crypto::x25519_key& exchange) {
  keyring k;
  auto* m = list.find(self);
  if (!m)
    return k;
  for (auto& [epoch, wrapped] : m->wrapped) {
    auto key = crypto::unwrap(wrapped, exchange, list.database_id());
    if (!key.ok()) {
      k.problems_.push_back("key." + std::to_string(epoch) + ": " + key.error().message);
      continue;
    }
    if (key->epoch() != epoch) {
      k.problems_.push_back("key." + std::to_string(epoch) + " holds the key of epoch " +
                            std::to_string(key->epoch()));
      continue;
    }
    k.add(std::move(*key));
  }
  return k;
}

const crypto::content_key* keyring::find(uint32_t epoch) const {
  auto it = keys_.find(epoch);
  return it == keys_.end() ? nullptr : &it->second;
}

result<const crypto::content_key*> keyring::sealing_key(const access_list& list) const {
  if (!list.is_sealed())
    return status{errc::invalid_argument, "database " + list.database_id() + " is not end-to-end encrypted"};
  auto* k = find(list.epoch());
  if (!k)
    return status{errc::forbidden, "this node holds no content key of epoch " + std::to_string(list.epoch()) +
                                     " of database " + list.database_id() + " (not a reader, or not given it yet)"};
  if (!list.epoch_check().empty() && access::key_check(list.database_id(), *k) != list.epoch_check())
    return status{errc::forbidden, "this node's content key of epoch " + std::to_string(list.epoch()) +
                                     " of database " + list.database_id() +
                                     " is not the current one (two admins rotated at once): an admin must grant "
                                     "this node again"};
  return k;
}

std::vector<uint32_t> keyring::epochs() const {
  std::vector<uint32_t> out;
  for (auto& [e, k] : keys_)
    out.push_back(e);
  return out;
}

void keyring::add(crypto::content_key key) {
  uint32_t e = key.epoch();
  keys_.insert_or_assign(e, std::move(key));
}

// ---- builders ---------------------------------------------------------------------

namespace {

// A fresh key of epoch + 1 wrapped for every reader but `leaving`, then the
// database record's epoch and check.
result<std::vector<write>> new_epoch(const access_list& list, const node_id* leaving) {
  const auto& db = list.database_id();
  if (list.epoch() >= max_epoch)
    return status{errc::invalid_argument, "database " + db + " has used every content-key epoch"};
  const uint32_t next = list.epoch() + 1;
  auto key = crypto::content_key::generate(next);
  if (!key.ok())
    return key.error();
  std::vector<write> out;
  for (auto& [id, m] : list.members()) {
    if ((leaving && id == *leaving) || !list.can_read(id) || !m.exchange)
      continue;
    auto wrapped = crypto::wrap(*key, *m.exchange, db);
    if (!wrapped.ok())
      return wrapped.error();
    out.push_back(record_write(id, true, {{key_field(next), bytes_value(*wrapped)}}));
  }
  out.push_back(record_write(access::database_record, true,
                             {{std::string(f_epoch), value{int64_t{next}}},
                              {std::string(f_check), bytes_value(access::key_check(db, *key))}}));
  return out;
}

} // namespace

result<std::vector<write>> access::create(const access_list& list, const crypto::member_key& owner, bool sealed) {
  const auto& db = list.database_id();
  if (!list.empty())
    return status{errc::invalid_argument, "database " + db + " already has an access list (owner " +
                                            short_id(list.owner_id()) + ")"};
  if (auto bound = bound_owner(db); bound && *bound != owner.id())
    return status{errc::invalid_argument, "database id " + db + " is bound to owner " + short_id(*bound) +
                                            ", not to " + short_id(owner.id())};
  value_map database{{std::string(f_owner), bytes_value(owner.signing.view())},
                     {std::string(f_sealed), value{sealed}},
                     {std::string(f_epoch), value{int64_t{sealed ? 1 : 0}}}};
  value_map me{{std::string(f_ed25519), bytes_value(owner.signing.view())},
               {std::string(f_x25519), bytes_value(owner.exchange.view())},
               {std::string(f_rights), value{std::string(to_string(access_rights::admin))}}};
  if (sealed) {
    auto key = crypto::content_key::generate(1);
    if (!key.ok())
      return key.error();
    auto wrapped = crypto::wrap(*key, owner.exchange, db);
    if (!wrapped.ok())
      return wrapped.error();
    me.emplace(key_field(1), bytes_value(*wrapped));
    database.emplace(std::string(f_check), bytes_value(key_check(db, *key)));
  }
  std::vector<write> out;
  out.push_back(record_write(database_record, false, std::move(database)));
  out.push_back(record_write(owner.id(), false, std::move(me)));
  return out;
}

result<std::vector<write>> access::grant(const access_list& list, const crypto::member_key& member,
                                         access_rights rights, const keyring& granter) {
  const auto& db = list.database_id();
  if (list.empty())
    return status{errc::invalid_argument, "database " + db + " has no access list yet (create it first)"};
  const node_id id = member.id();
  if (rights == access_rights::none)
    return status{errc::invalid_argument, "granting rights none removes a member: use revoke (it rotates the key)"};
  if (id == list.owner_id())
    return status{errc::invalid_argument, "node " + short_id(id) + " owns database " + db + " and stays admin"};
  auto* existing = list.find(id);
  access_rights before = existing ? existing->rights : access_rights::none;
  if (blaze::can_read(before) && !blaze::can_read(rights))
    return status{errc::invalid_argument, "node " + short_id(id) + " can read database " + db +
                                            ": taking reading away needs revoke (the key must rotate)"};
  value_map fields{{std::string(f_ed25519), bytes_value(member.signing.view())},
                   {std::string(f_x25519), bytes_value(member.exchange.view())},
                   {std::string(f_rights), value{std::string(to_string(rights))}}};
  if (list.is_sealed() && blaze::can_read(rights)) {
    if (!granter.find(list.epoch()))
      return status{errc::forbidden, "this node holds no content key of the current epoch " +
                                       std::to_string(list.epoch()) + " of database " + db + " to grant"};
    // Keys wrapped for another X25519 key (the member's key changed) are
    // wrapped again; keys it already has for this one are left alone.
    bool same_key = existing && existing->exchange && *existing->exchange == member.exchange;
    for (uint32_t epoch : granter.epochs()) {
      if (same_key && existing->wrapped.count(epoch))
        continue;
      auto wrapped = crypto::wrap(*granter.find(epoch), member.exchange, db);
      if (!wrapped.ok())
        return wrapped.error();
      fields.emplace(key_field(epoch), bytes_value(*wrapped));
    }
  }
  return std::vector<write>{record_write(id, existing != nullptr, std::move(fields))};
}

result<std::vector<write>> access::revoke(const access_list& list, const node_id& member) {
  const auto& db = list.database_id();
  if (list.empty())
    return status{errc::invalid_argument, "database " + db + " has no access list"};
  if (member == list.owner_id())
    return status{errc::invalid_argument, "the owner of database " + db + " cannot be removed"};
  auto* existing = list.find(member);
  if (!existing)
    return status{errc::invalid_argument, "node " + short_id(member) + " is not a member of database " + db};
  if (existing->rights == access_rights::none)
    return status{errc::invalid_argument, "node " + short_id(member) + " has no rights in database " + db +
                                            " already (to make a new key anyway: rotate)"};
  std::vector<write> out;
  out.push_back(record_write(member, true,
                             {{std::string(f_rights), value{std::string(to_string(access_rights::none))}}}));
  if (!list.is_sealed() || !blaze::can_read(existing->rights))
    return out;
  auto next = new_epoch(list, &member);
  if (!next.ok())
    return next.error();
  out.insert(out.end(), next->begin(), next->end());
  return out;
}

result<std::vector<write>> access::rotate(const access_list& list) {
  if (list.empty() || !list.is_sealed())
    return status{errc::invalid_argument, "database " + list.database_id() + " has no content key to rotate"};
  return new_epoch(list, nullptr);
}

// ---- check_operation --------------------------------------------------------------

namespace {

status check_database_record(const access_list& list, const node_id& origin, const operation& op) {
  const auto& db = list.database_id();
  bool creating = list.empty();
  bool has_owner = false;
  for (auto& fo : op.fields) {
    if (fo.field == f_owner) {
      auto b = bytes_of(&fo.val, 32);
      if (!b)
        return forbidden("_access: owner must be a 32-byte Ed25519 public key");
      auto key = crypto::ed25519_public_key::from_bytes(*b);
      if (creating) {
        if (crypto::node_id_of(*key) != origin)
          return forbidden("_access: database " + db + " can only be created by its owner: the owner key names node " +
                           short_id(crypto::node_id_of(*key)) + ", the operation comes from " + short_id(origin));
        if (auto bound = access::bound_owner(db); bound && *bound != origin)
          return forbidden("_access: database id " + db + " is bound to owner " + short_id(*bound) + ", not to " +
                           short_id(origin));
      } else if (*key != *list.owner()) {
        return forbidden("_access: the owner of database " + db + " never changes");
      }
      has_owner = true;
    } else if (fo.field == f_sealed) {
      if (!fo.val.is<bool>())
        return forbidden("_access: sealed must be a boolean");
      if (!creating && fo.val.as<bool>() != list.is_sealed())
        return forbidden(std::string("_access: database ") + db + " was created " +
                         (list.is_sealed() ? "end-to-end encrypted" : "plaintext") + " and stays so");
    } else if (fo.field == f_epoch) {
      if (!fo.val.is<int64_t>() || fo.val.as<int64_t>() < 0 ||
          static_cast<uint64_t>(fo.val.as<int64_t>()) > max_epoch)
        return forbidden("_access: epoch must be an integer from 0 to 2^32-1");
    } else if (fo.field == f_check) {
      if (!bytes_of(&fo.val, check_size))
        return forbidden("_access: check must be 16 bytes (access::key_check)");
    } else {
      return forbidden("_access: the database record has no field '" + fo.field + "'");
    }
  }
  if (creating && !has_owner)
    return forbidden("_access: the operation creating database " + db + "'s access list must name its owner");
  return {};
}

status check_member_record(const access_list& list, const operation& op) {
  const auto& db = list.database_id();
  for (auto& fo : op.fields) {
    if (fo.field == f_ed25519) {
      auto b = bytes_of(&fo.val, 32);
      if (!b)
        return forbidden("_access: ed25519 must be a 32-byte public key");
      if (crypto::node_id_of(*crypto::ed25519_public_key::from_bytes(*b)) != op.record)
        return forbidden("_access: member record " + short_id(op.record) + " holds another node's key");
    } else if (fo.field == f_x25519) {
      if (!bytes_of(&fo.val, 32))
        return forbidden("_access: x25519 must be a 32-byte public key");
    } else if (fo.field == f_rights) {
      auto* s = fo.val.get_if<std::string>();
      auto r = s ? parse_rights(*s) : std::nullopt;
      if (!r)
        return forbidden("_access: rights must be one of none, relay, r, rw, admin");
      if (op.record == list.owner_id() && *r != access_rights::admin)
        return forbidden("_access: the owner of database " + db + " stays admin");
    } else if (auto e = key_epoch(fo.field)) {
      if (!list.is_sealed())
        return forbidden("_access: database " + db + " is plaintext and has no content keys");
      auto b = bytes_of(&fo.val, crypto::wrapped_size);
      if (!b || crypto::wire::get_u32(b->data() + 1) != *e)
        return forbidden("_access: " + fo.field + " must be an 85-byte wrapped key of epoch " + std::to_string(*e));
    } else {
      return forbidden("_access: a member record has no field '" + fo.field + "'");
    }
  }
  return {};
}

} // namespace

status check_operation(const access_list& list, const node_id& origin, const operation& op) {
  const auto& db = list.database_id();
  if (op.collection == access::collection) {
    if (op.k == operation::kind::sealed)
      return forbidden("_access is never sealed (relays enforce it)");
    if (op.k != operation::kind::upsert)
      return forbidden(std::string("_access takes field sets only, not ") + kind_name(op.k));
    for (auto& fo : op.fields)
      if (fo.k != field_op::kind::set)
        return forbidden("_access takes field sets only (field '" + fo.field + "')");
    if (list.empty()) {
      if (op.record != access::database_record)
        return forbidden("database " + db + " has no access list yet: the first operation must be its owner's "
                         "creation of the database record");
      return check_database_record(list, origin, op);
    }
    if (!list.is_admin(origin))
      return forbidden("node " + short_id(origin) + " is not an admin of database " + db + " (rights " +
                       to_string(list.rights_of(origin)) + "): it cannot change the access list");
    return op.record == access::database_record ? check_database_record(list, origin, op)
                                                : check_member_record(list, op);
  }
  if (list.empty())
    return forbidden("database " + db + " has no access list: nothing is accepted before its owner creates it");
  auto r = list.rights_of(origin);
  if (!blaze::can_write(r))
    return forbidden("node " + short_id(origin) + " may not write to database " + db + " (rights " + to_string(r) +
                     ")");
  if (list.is_sealed() && op.k != operation::kind::sealed)
    return forbidden("database " + db + " is end-to-end encrypted: a plaintext " + kind_name(op.k) +
                     " operation is refused");
  if (!list.is_sealed() && op.k == operation::kind::sealed)
    return forbidden("database " + db + " is plaintext: a sealed operation is refused");
  return {};
}

} // namespace blaze
