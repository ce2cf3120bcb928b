#include "core/record.hpp"

#include <algorithm>

namespace blaze {

namespace {

void min_nonzero(timestamp& slot, const timestamp& t) {
  if (slot.is_zero() || t < slot)
    slot = t;
}

void max_of(timestamp& slot, const timestamp& t) {
  if (t > slot)
    slot = t;
}

} // namespace

const char* kind_name(field_kind k) {
  switch (k) {
    case field_kind::none: return "none";
    case field_kind::lww: return "set";
    case field_kind::counter: return "counter";
    case field_kind::elements: return "elements";
  }
  return "?";
}

field_kind field_state::kind() const {
  field_kind best = field_kind::none;
  timestamp best_ts;
  auto consider = [&](const timestamp& t, field_kind k) {
    if (!t.is_zero() && (best == field_kind::none || t < best_ts)) {
      best = k;
      best_ts = t;
    }
  };
  consider(first_set, field_kind::lww);
  consider(first_counter, field_kind::counter);
  consider(first_elements, field_kind::elements);
  return best;
}

std::optional<value> record_state::field(const std::string& name) const {
  if (!alive())
    return std::nullopt;
  auto it = fields.find(name);
  if (it == fields.end())
    return std::nullopt;
  auto& f = it->second;
  switch (f.kind()) {
    case field_kind::lww:
      if (f.lww.ts > deleted_at)
        return f.lww.val;
      return std::nullopt;
    case field_kind::counter:
      if (f.last_counter > deleted_at)
        return value{f.counter.value()};
      return std::nullopt;
    case field_kind::elements:
      if (f.last_elements > deleted_at)
        return value{f.set.live(deleted_at)};
      return std::nullopt;
    case field_kind::none: break;
  }
  return std::nullopt;
}

value_map record_state::view() const {
  value_map out;
  if (!alive())
    return out;
  for (auto& [name, f] : fields)
    if (auto v = field(name))
      out.emplace(name, std::move(*v));
  return out;
}

namespace {
// The earlier nonzero timestamp (zero: "no operation of that kind").
void first_of(timestamp& slot, const timestamp& t) {
  if (!t.is_zero())
    min_nonzero(slot, t);
}
} // namespace

void merge(field_state& into, const field_state& other, const version_vector* into_has,
           const version_vector* other_has) {
  first_of(into.first_set, other.first_set);
  first_of(into.first_counter, other.first_counter);
  first_of(into.first_elements, other.first_elements);
  max_of(into.last_counter, other.last_counter);
  max_of(into.last_elements, other.last_elements);
  into.lww.merge(other.lww);
  into.set.merge(other.set);
  into.counter.merge(other.counter, into_has, other_has);
}

void merge(record_state& into, const record_state& other, const version_vector* into_has,
           const version_vector* other_has) {
  max_of(into.last_write, other.last_write);
  max_of(into.deleted_at, other.deleted_at);
  for (auto& [name, f] : other.fields)
    merge(into.fields[name], f, into_has, other_has);
}

uint64_t highest_counter(const record_state& r) {
  uint64_t c = std::max(r.last_write.counter, r.deleted_at.counter);
  for (auto& [name, f] : r.fields) {
    for (auto* t : {&f.first_set, &f.first_counter, &f.first_elements, &f.last_counter, &f.last_elements,
                    &f.lww.ts, &f.lww.base})
      c = std::max(c, t->counter);
    for (auto& [e, tags] : f.set.elements)
      for (auto& [tag, counter] : tags)
        c = std::max(c, counter);
  }
  return c;
}

void apply(record_state& state, const operation& op, std::vector<conflict>* conflicts) {
  const timestamp t = op.time();
  switch (op.k) {
    case operation::kind::upsert:
      max_of(state.last_write, t);
      for (auto& fo : op.fields) {
        auto& f = state.fields[fo.field];
        switch (fo.k) {
          case field_op::kind::set: {
            min_nonzero(f.first_set, t);
            bool clash = f.lww.concurrent_with(t, fo.base);
            value old = clash ? f.lww.val : value{};
            timestamp old_ts = f.lww.ts;
            bool won = f.lww.assign(t, fo.base, fo.val);
            if (clash && conflicts) {
              if (won)
                conflicts->push_back({op.collection, op.record, fo.field, fo.val, t, std::move(old), old_ts});
              else
                conflicts->push_back({op.collection, op.record, fo.field, f.lww.val, f.lww.ts, fo.val, t});
            }
            break;
          }
          case field_op::kind::increment:
            min_nonzero(f.first_counter, t);
            max_of(f.last_counter, t);
            f.counter.add(op.id.origin, fo.delta);
            break;
          case field_op::kind::add:
            min_nonzero(f.first_elements, t);
            max_of(f.last_elements, t);
            f.set.add(fo.val, op.id, op.counter);
            break;
          case field_op::kind::remove:
            min_nonzero(f.first_elements, t);
            max_of(f.last_elements, t);
            f.set.remove(fo.val, fo.observed);
            break;
        }
      }
      break;
    case operation::kind::remove_record:
      max_of(state.deleted_at, t);
      for (auto& ob : op.observed)
        state.fields[ob.field].counter.cancel(ob.origin, ob.positive, ob.negative);
      break;
    case operation::kind::create_index:
    case operation::kind::drop_index: break;  // collection-level, see index_state
    case operation::kind::sealed: break;      // opaque without the key: changes no record
  }
}

const char* kind_name(operation::kind k) {
  switch (k) {
    case operation::kind::upsert: return "upsert";
    case operation::kind::remove_record: return "delete";
    case operation::kind::create_index: return "create_index";
    case operation::kind::drop_index: return "drop_index";
    case operation::kind::sealed: return "sealed";
  }
  return "?";
}

} // namespace blaze
