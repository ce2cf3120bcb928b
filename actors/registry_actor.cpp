#include "actors/registry_actor.hpp"

#include "actors/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include <openssl/sha.h>

#include <map>

namespace blaze {

namespace {

struct registry_state {
  registry_config cfg;
  // Shared with the cleanup functor, which runs after the state is gone.
  std::shared_ptr<std::map<std::string, database_handles>> open =
    std::make_shared<std::map<std::string, database_handles>>();
  static inline const char* name = "blaze.registry";
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

bool is_database_dir(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) && std::filesystem::exists(p / "CURRENT", ec);
}

void stop(const database_handles& h) {
  caf::anon_send_exit(h.db, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(h.log, caf::exit_reason::user_shutdown);
}

registry_actor::behavior_type registry_impl(registry_pointer self, registry_config cfg) {
  self->state.cfg = std::move(cfg);
  self->attach_functor([open = self->state.open] {
    for (auto& [name, h] : *open)
      stop(h);
  });
  return {
    [self](open_atom, const std::string& name, bool create) -> caf::result<database_handles> {
      if (auto s = validate_database_name(name); !s)
        return to_error(s);
      auto& open = *self->state.open;
      if (auto it = open.find(name); it != open.end())
        return it->second;
      auto& cfg = self->state.cfg;
      auto dir = cfg.data_dir / name;
      if (!create && !is_database_dir(dir))
        return to_error({errc::unknown_database, "no database '" + name + "' in " + cfg.data_dir.string()});
      auto st = store::open(dir, replica_id(cfg.self, name), cfg.store, cfg.env);
      if (!st)
        return to_error(st.error());
      std::shared_ptr<store> shared(std::move(*st));
      database_handles h{name, spawn_database(self->system(), name, shared), spawn_oplog(self->system(), shared)};
      open.emplace(name, h);
      spdlog::debug("opened database {}", name);
      return h;
    },
    [self](list_atom) {
      std::vector<std::string> names;
      std::error_code ec;
      for (auto& e : std::filesystem::directory_iterator(self->state.cfg.data_dir, ec))
        if (is_database_dir(e.path()))
          names.push_back(e.path().filename().string());
      std::sort(names.begin(), names.end());
      return names;
    },
    [self](close_atom, const std::string& name) {
      auto& open = *self->state.open;
      auto it = open.find(name);
      if (it == open.end())
        return false;
      stop(it->second);
      open.erase(it);
      return true;
    },
  };
}

} // namespace

node_id replica_id(const node_id& node, const std::string& database) {
  std::string input = "blazedb-replica:";
  unsigned char id[16];
  node.to_bytes(id);
  input.append(reinterpret_cast<const char*>(id), 16);
  input += database;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return id128::from_bytes(digest);
}

status validate_database_name(const std::string& name) {
  if (name.empty() || name.size() > 128)
    return {errc::invalid_argument, "database name must be 1 to 128 characters"};
  if (name[0] == '.')
    return {errc::invalid_argument, "database name '" + name + "' must not start with '.'"};
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return {errc::invalid_argument, "database name '" + name + "' may only use letters, digits, '_', '-' and '.'"};
  return {};
}

registry_actor spawn_registry(caf::actor_system& sys, registry_config cfg) {
  return sys.spawn(registry_impl, std::move(cfg));
}

} // namespace blaze
