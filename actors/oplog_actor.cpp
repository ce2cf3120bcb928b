#include "actors/oplog_actor.hpp"

#include "actors/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace blaze {

namespace {

oplog_actor::behavior_type oplog_impl(oplog_actor::pointer, std::shared_ptr<const store> st) {
  return {
    [st](ops_atom, const version_vector& after, uint64_t max) -> caf::result<operations> {
      auto r = st->operations_after(after, static_cast<size_t>(max));
      if (!r)
        return to_error(r.error());
      return std::move(*r);
    },
    [st](status_atom) { return st->versions(); },
  };
}

} // namespace

oplog_actor spawn_oplog(caf::actor_system& sys, std::shared_ptr<const store> st) {
  return sys.spawn(oplog_impl, std::move(st));
}

} // namespace blaze
