#include "core/write.hpp"

namespace blaze {

namespace {

status check_name(const std::string& name, size_t max, const char* what) {
  if (name.empty())
    return {errc::invalid_argument, std::string(what) + " name is empty"};
  if (name.size() > max)
    return {errc::too_large, std::string(what) + " name is " + std::to_string(name.size()) +
                               " bytes, over the maximum of " + std::to_string(max)};
  return {};
}

// True when `v` nests arrays/maps more than `max` levels deep (looks no deeper).
bool too_deep(const value& v, size_t max) {
  auto* a = v.get_if<value_array>();
  auto* m = v.get_if<value_map>();
  if (!a && !m)
    return false;
  if (max == 0)
    return true;
  if (a)
    for (auto& e : *a)
      if (too_deep(e, max - 1))
        return true;
  if (m)
    for (auto& [k, e] : *m)
      if (too_deep(e, max - 1))
        return true;
  return false;
}

status check_value(const std::string& field, const value& v, const limits& lim) {
  // Deeper values could be stored but not decoded again (decode_limits::nesting).
  if (too_deep(v, lim.max_depth))
    return {errc::too_large, "value of field '" + field + "' nests arrays/maps more than " +
                               std::to_string(lim.max_depth) + " levels deep"};
  if (auto n = v.byte_size(); n > lim.max_value)
    return {errc::too_large, "value of field '" + field + "' is " + std::to_string(n) +
                               " bytes, over the maximum of " + std::to_string(lim.max_value)};
  return {};
}

field_op set_op(const record_state* cur, const std::string& name, const value& v) {
  field_op fo;
  fo.field = name;
  fo.k = field_op::kind::set;
  fo.val = v;
  if (cur)
    if (auto it = cur->fields.find(name); it != cur->fields.end())
      fo.base = it->second.lww.ts;
  return fo;
}

} // namespace

status validate(const write& w, const limits& lim) {
  if (auto s = check_name(w.collection, lim.max_collection_name, "collection"); !s)
    return s;
  switch (w.k) {
    case write::kind::insert:
    case write::kind::update: {
      if (w.k == write::kind::update && w.fields.empty())
        return {errc::invalid_argument, "update names no fields"};
      size_t total = 0;
      for (auto& [name, v] : w.fields) {
        if (auto s = check_name(name, lim.max_field_name, "field"); !s)
          return s;
        if (auto s = check_value(name, v, lim); !s)
          return s;
        total += name.size() + v.byte_size();
      }
      if (total > lim.max_record)
        return {errc::too_large, "record is " + std::to_string(total) +
                                   " bytes, over the maximum of " + std::to_string(lim.max_record)};
      return {};
    }
    case write::kind::set:
    case write::kind::add:
    case write::kind::remove:
      if (auto s = check_name(w.field, lim.max_field_name, "field"); !s)
        return s;
      return check_value(w.field, w.val, lim);
    case write::kind::increment:
    case write::kind::create_index:
    case write::kind::drop_index: return check_name(w.field, lim.max_field_name, "field");
    case write::kind::remove_record: return {};
  }
  return {};
}

status validate(const operation& op, const limits& lim) {
  if (op.id.seq == 0 || op.id.origin.is_zero())
    return {errc::invalid_argument, "operation has no dot"};
  if (op.counter == 0)
    return {errc::invalid_argument, "operation has no timestamp"};
  if (auto s = check_name(op.collection, lim.max_collection_name, "collection"); !s)
    return s;
  size_t total = 0;
  for (auto& fo : op.fields) {
    if (auto s = check_name(fo.field, lim.max_field_name, "field"); !s)
      return s;
    if (auto s = check_value(fo.field, fo.val, lim); !s)
      return s;
    total += fo.field.size() + fo.val.byte_size() + 16 * fo.observed.size();
  }
  for (auto& ob : op.observed)
    if (auto s = check_name(ob.field, lim.max_field_name, "field"); !s)
      return s;
  if (total > lim.max_record)
    return {errc::too_large, "operation is " + std::to_string(total) + " bytes, over the maximum of " +
                               std::to_string(lim.max_record)};
  if (op.k == operation::kind::sealed) {
    // Opaque here (core/sealed_op.hpp checks the inside): the outer part
    // carries no record and no fields; the box is at least the AEAD's
    // 33-byte overhead and at most a record's worth more.
    if (!op.record.is_zero() || !op.fields.empty() || !op.observed.empty() || !op.index_field.empty())
      return {errc::invalid_argument, "sealed operation carries clear fields besides dot, timestamp and collection"};
    if (op.sealed_box.size() < 33)
      return {errc::invalid_argument, "sealed operation's box is " + std::to_string(op.sealed_box.size()) +
                                        " bytes, shorter than the 33-byte overhead"};
    if (op.sealed_box.size() > lim.max_record + 1024)
      return {errc::too_large, "sealed operation is " + std::to_string(op.sealed_box.size()) +
                                 " bytes, over the maximum of " + std::to_string(lim.max_record + 1024)};
    return {};
  }
  if ((op.k == operation::kind::create_index || op.k == operation::kind::drop_index))
    return check_name(op.index_field, lim.max_field_name, "field");
  return {};
}

result<operation> make_operation(const write& w, const record_state* cur, dot id, uint64_t counter) {
  operation op;
  op.id = id;
  op.counter = counter;
  op.collection = w.collection;
  op.record = w.record;
  bool live = cur && cur->alive();
  auto missing = [&] {
    return status{errc::unknown_record,
                  "no record " + w.record.to_hex() + " in collection '" + w.collection + "'"};
  };
  switch (w.k) {
    case write::kind::insert:
      for (auto& [name, v] : w.fields)
        op.fields.push_back(set_op(cur, name, v));
      return op;
    case write::kind::update:
      if (!live)
        return missing();
      for (auto& [name, v] : w.fields)
        op.fields.push_back(set_op(cur, name, v));
      return op;
    case write::kind::set:
      if (!live)
        return missing();
      op.fields.push_back(set_op(cur, w.field, w.val));
      return op;
    case write::kind::increment: {
      if (!live)
        return missing();
      field_op fo;
      fo.field = w.field;
      fo.k = field_op::kind::increment;
      fo.delta = w.delta;
      op.fields.push_back(std::move(fo));
      return op;
    }
    case write::kind::add:
    case write::kind::remove: {
      if (!live)
        return missing();
      field_op fo;
      fo.field = w.field;
      fo.val = w.val;
      if (w.k == write::kind::add) {
        fo.k = field_op::kind::add;
      } else {
        fo.k = field_op::kind::remove;
        if (auto it = cur->fields.find(w.field); it != cur->fields.end())
          fo.observed = it->second.set.tags_of(w.val);
      }
      op.fields.push_back(std::move(fo));
      return op;
    }
    case write::kind::remove_record:
      if (!live)
        return missing();
      op.k = operation::kind::remove_record;
      for (auto& [name, f] : cur->fields)
        for (auto& [origin, e] : f.counter.entries)
          op.observed.push_back({name, origin, e.positive, e.negative});
      return op;
    case write::kind::create_index:
    case write::kind::drop_index:
      op.k = w.k == write::kind::create_index ? operation::kind::create_index
                                             : operation::kind::drop_index;
      op.index_field = w.field;
      op.record = {};
      return op;
  }
  return status{errc::invalid_argument, "unknown write kind"};
}

} // namespace blaze
