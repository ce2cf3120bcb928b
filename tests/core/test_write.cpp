// Unit tests: validation of local writes and their translation into operations.
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include "core/write.hpp"

#include <algorithm>

using namespace blaze;
using namespace blaze::test;

namespace {

blaze::write make(write::kind k, std::string field = "f", value v = {}) {
  blaze::write w;
  w.k = k;
  w.collection = "c";
  w.record = rec(1);
  w.field = std::move(field);
  w.val = std::move(v);
  return w;
}

blaze::write insert(value_map fields) {
  blaze::write w = make(blaze::write::kind::insert, "");
  w.fields = std::move(fields);
  return w;
}

} // namespace

BOOST_AUTO_TEST_SUITE(write_validate)

BOOST_AUTO_TEST_CASE(collection_names) {
  limits lim;
  blaze::write w = insert({{"a", value{1}}});
  BOOST_TEST(validate(w, lim).ok());
  w.collection = "";
  BOOST_TEST(validate(w, lim).code == errc::invalid_argument);
  w.collection = std::string(lim.max_collection_name, 'c');
  BOOST_TEST(validate(w, lim).ok());
  w.collection += "c";
  auto s = validate(w, lim);
  BOOST_TEST(s.code == errc::too_large);
  BOOST_TEST(!s.message.empty());
  BOOST_TEST(!static_cast<bool>(s));
  // every kind checks the collection
  for (auto k : {blaze::write::kind::update, blaze::write::kind::set, blaze::write::kind::increment, blaze::write::kind::add,
                 blaze::write::kind::remove, blaze::write::kind::remove_record, blaze::write::kind::create_index,
                 blaze::write::kind::drop_index}) {
    blaze::write x = make(k);
    x.fields = {{"a", value{1}}};
    x.collection = "";
    BOOST_TEST(validate(x, lim).code == errc::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(field_names) {
  limits lim;
  BOOST_TEST(validate(insert({{"", value{1}}}), lim).code == errc::invalid_argument);
  BOOST_TEST(validate(insert({{std::string(lim.max_field_name, 'f'), value{1}}}), lim).ok());
  BOOST_TEST(validate(insert({{std::string(lim.max_field_name + 1, 'f'), value{1}}}), lim).code ==
             errc::too_large);
  for (auto k : {blaze::write::kind::set, blaze::write::kind::increment, blaze::write::kind::add, blaze::write::kind::remove,
                 blaze::write::kind::create_index, blaze::write::kind::drop_index}) {
    BOOST_TEST(validate(make(k, "f"), lim).ok());
    BOOST_TEST(validate(make(k, ""), lim).code == errc::invalid_argument);
    BOOST_TEST(validate(make(k, std::string(lim.max_field_name + 1, 'f')), lim).code ==
               errc::too_large);
  }
  // a delete names no field
  BOOST_TEST(validate(make(blaze::write::kind::remove_record, ""), lim).ok());
}

BOOST_AUTO_TEST_CASE(update_needs_fields) {
  limits lim;
  blaze::write w = make(blaze::write::kind::update);
  BOOST_TEST(validate(w, lim).code == errc::invalid_argument);
  w.fields = {{"a", value{1}}};
  BOOST_TEST(validate(w, lim).ok());
  // an insert may be empty
  BOOST_TEST(validate(insert({}), lim).ok());
}

BOOST_AUTO_TEST_CASE(oversized_values_and_records) {
  limits lim;
  lim.max_value = 100;
  lim.max_record = 250;
  std::string big(100, 'x');  // byte_size 108 > 100
  std::string ok(92, 'x');    // byte_size exactly 100
  BOOST_TEST(validate(insert({{"a", value{ok}}}), lim).ok());
  BOOST_TEST(validate(insert({{"a", value{big}}}), lim).code == errc::too_large);
  BOOST_TEST(validate(insert({{"a", value{bytes{big}}}}), lim).code == errc::too_large);
  BOOST_TEST(validate(insert({{"a", value{value_array{value{ok}}}}}), lim).code == errc::too_large);
  BOOST_TEST(validate(make(blaze::write::kind::set, "f", value{big}), lim).code == errc::too_large);
  BOOST_TEST(validate(make(blaze::write::kind::add, "f", value{big}), lim).code == errc::too_large);
  BOOST_TEST(validate(make(blaze::write::kind::remove, "f", value{big}), lim).code == errc::too_large);
  BOOST_TEST(validate(make(blaze::write::kind::set, "f", value{ok}), lim).ok());
  // each value fits, the record does not: 3 * (1 + 100) > 250
  blaze::write w = insert({{"a", value{ok}}, {"b", value{ok}}});
  BOOST_TEST(validate(w, lim).ok());
  w.fields["c"] = value{ok};
  BOOST_TEST(validate(w, lim).code == errc::too_large);
  w.k = blaze::write::kind::update;
  BOOST_TEST(validate(w, lim).code == errc::too_large);
}

BOOST_AUTO_TEST_CASE(values_nested_too_deep) {
  // Deeper values would be stored but could not be decoded again (the
  // decoder bounds nesting): they are refused up front.
  limits lim;
  BOOST_REQUIRE(lim.max_depth >= 4u);
  auto arrays = [](size_t depth) {
    value v{1};
    for (size_t i = 0; i < depth; ++i)
      v = value{value_array{value{"x"}, v}};
    return v;
  };
  auto maps = [](size_t depth) {
    value v{1};
    for (size_t i = 0; i < depth; ++i)
      v = value{value_map{{"a", value{}}, {"k", v}}};
    return v;
  };
  for (auto nest : {+arrays, +maps}) {
    BOOST_TEST(validate(insert({{"f", nest(lim.max_depth)}}), lim).ok());
    auto deep = nest(lim.max_depth + 1);
    auto s = validate(insert({{"f", deep}}), lim);
    BOOST_TEST(s.code == errc::too_large);
    BOOST_TEST(s.message.find("'f'") != std::string::npos);
    BOOST_TEST(validate(make(blaze::write::kind::set, "f", deep), lim).code == errc::too_large);
    BOOST_TEST(validate(make(blaze::write::kind::add, "f", deep), lim).code == errc::too_large);
    BOOST_TEST(validate(make(blaze::write::kind::remove, "f", deep), lim).code == errc::too_large);
    // operations from elsewhere are held to the same rule
    auto op = upsert(node(1), 1, 10);
    with_set(op, "f", nest(lim.max_depth));
    BOOST_TEST(validate(op, lim).ok());
    op.fields[0].val = deep;
    BOOST_TEST(validate(op, lim).code == errc::too_large);
  }
  // scalars and empty containers are shallow
  BOOST_TEST(validate(insert({{"f", value{value_array{}}}}), lim).ok());
  limits flat = lim;
  flat.max_depth = 0;
  BOOST_TEST(validate(insert({{"f", value{1}}}), flat).ok());
  BOOST_TEST(validate(insert({{"f", value{value_array{}}}}), flat).code == errc::too_large);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(make_operation_tests)

const dot D{node(1), 7};
const uint64_t T = 1000;

BOOST_AUTO_TEST_CASE(writes_needing_a_live_record_fail_on_a_missing_one) {
  record_state deleted;
  apply(deleted, [] {
    auto op = upsert(node(2), 1, 10);
    with_set(op, "f", value{1});
    return op;
  }());
  apply(deleted, remove_record(node(2), 2, 20));
  BOOST_REQUIRE(!deleted.alive());
  for (auto k : {blaze::write::kind::update, blaze::write::kind::set, blaze::write::kind::increment, blaze::write::kind::add,
                 blaze::write::kind::remove, blaze::write::kind::remove_record}) {
    blaze::write w = make(k, "f", value{1});
    w.fields = {{"f", value{1}}};
    auto r1 = make_operation(w, nullptr, D, T);
    BOOST_REQUIRE(!r1.ok());
    BOOST_TEST(r1.error().code == errc::unknown_record);
    BOOST_TEST(r1.error().message.find(rec(1).to_hex()) != std::string::npos);
    auto r2 = make_operation(w, &deleted, D, T);
    BOOST_REQUIRE(!r2.ok());
    BOOST_TEST(r2.error().code == errc::unknown_record);
  }
  // an insert (re)creates; index declarations need no record
  BOOST_TEST(make_operation(insert({{"f", value{2}}}), nullptr, D, T).ok());
  BOOST_TEST(make_operation(insert({{"f", value{2}}}), &deleted, D, T).ok());
  BOOST_TEST(make_operation(make(blaze::write::kind::create_index), nullptr, D, T).ok());
  BOOST_TEST(make_operation(make(blaze::write::kind::drop_index), nullptr, D, T).ok());
}

BOOST_AUTO_TEST_CASE(insert_and_update_carry_bases) {
  auto r = make_operation(insert({{"a", value{1}}, {"b", value{"x"}}}), nullptr, D, T);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->id == D);
  BOOST_TEST(r->counter == T);
  BOOST_TEST((r->time() == timestamp{T, node(1)}));
  BOOST_TEST(r->collection == "c");
  BOOST_TEST(r->record == rec(1));
  BOOST_TEST(r->k == operation::kind::upsert);
  BOOST_REQUIRE(r->fields.size() == 2u);
  for (auto& fo : r->fields) {
    BOOST_TEST((fo.k == field_op::kind::set));
    BOOST_TEST(fo.base.is_zero());
  }
  record_state cur;
  apply(cur, *r);
  blaze::write u = make(blaze::write::kind::update);
  u.fields = {{"a", value{2}}, {"new", value{3}}};
  auto r2 = make_operation(u, &cur, {node(1), 8}, T + 1);
  BOOST_REQUIRE(r2.ok());
  BOOST_REQUIRE(r2->fields.size() == 2u);
  BOOST_TEST(r2->fields[0].field == "a");
  BOOST_TEST(r2->fields[0].base == (timestamp{T, node(1)}));
  BOOST_TEST(r2->fields[1].field == "new");
  BOOST_TEST(r2->fields[1].base.is_zero());
  apply(cur, *r2);
  auto r3 = make_operation(make(blaze::write::kind::set, "a", value{9}), &cur, {node(1), 9}, T + 2);
  BOOST_REQUIRE(r3.ok());
  BOOST_REQUIRE(r3->fields.size() == 1u);
  BOOST_TEST(r3->fields[0].base == (timestamp{T + 1, node(1)}));
  BOOST_TEST(r3->fields[0].val == value{9});
}

BOOST_AUTO_TEST_CASE(increment_and_add) {
  record_state cur;
  apply(cur, upsert(node(2), 1, 10));
  blaze::write w = make(blaze::write::kind::increment, "n");
  w.delta = -42;
  auto r = make_operation(w, &cur, D, T);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r->fields.size() == 1u);
  BOOST_TEST((r->fields[0].k == field_op::kind::increment));
  BOOST_TEST(r->fields[0].delta == -42);
  BOOST_TEST(r->fields[0].field == "n");
  auto a = make_operation(make(blaze::write::kind::add, "s", value{"e"}), &cur, D, T);
  BOOST_REQUIRE(a.ok());
  BOOST_TEST((a->fields[0].k == field_op::kind::add));
  BOOST_TEST(a->fields[0].val == value{"e"});
  BOOST_TEST(a->fields[0].observed.empty());
}

BOOST_AUTO_TEST_CASE(remove_names_the_observed_tags) {
  record_state cur;
  auto add1 = upsert(node(2), 1, 10);
  with_add(add1, "s", value{"e"});
  with_add(add1, "s", value{"other"});
  auto add2 = upsert(node(3), 1, 11);
  with_add(add2, "s", value{"e"});
  auto add3 = upsert(node(3), 2, 12);
  with_add(add3, "t", value{"e"});  // same element, other field
  for (auto* op : {&add1, &add2, &add3})
    apply(cur, *op);
  auto r = make_operation(make(blaze::write::kind::remove, "s", value{"e"}), &cur, D, T);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(r->fields.size() == 1u);
  auto& fo = r->fields[0];
  BOOST_TEST((fo.k == field_op::kind::remove));
  BOOST_TEST(fo.val == value{"e"});
  auto observed = fo.observed;
  std::sort(observed.begin(), observed.end());
  BOOST_REQUIRE(observed.size() == 2u);
  BOOST_TEST(observed[0] == add1.id);
  BOOST_TEST(observed[1] == add2.id);
  apply(cur, *r);
  BOOST_TEST(*cur.field("s") == value{value_array{value{"other"}}});
  BOOST_TEST(*cur.field("t") == value{value_array{value{"e"}}});
  // removing an absent element observes nothing
  auto none = make_operation(make(blaze::write::kind::remove, "s", value{"absent"}), &cur, D, T);
  BOOST_REQUIRE(none.ok());
  BOOST_TEST(none->fields[0].observed.empty());
  auto none2 = make_operation(make(blaze::write::kind::remove, "nofield", value{"e"}), &cur, D, T);
  BOOST_REQUIRE(none2.ok());
  BOOST_TEST(none2->fields[0].observed.empty());
}

BOOST_AUTO_TEST_CASE(delete_records_counter_observations) {
  record_state cur;
  std::vector<operation> ops;
  ops.push_back(upsert(node(2), 1, 10));
  with_increment(ops.back(), "n", 5);
  ops.push_back(upsert(node(2), 2, 11));
  with_increment(ops.back(), "n", -3);
  ops.push_back(upsert(node(3), 1, 12));
  with_increment(ops.back(), "n", 4);
  ops.push_back(upsert(node(3), 2, 13));
  with_increment(ops.back(), "m", -1);
  ops.push_back(upsert(node(3), 3, 14));
  with_set(ops.back(), "plain", value{1});
  for (auto& op : ops)
    apply(cur, op);
  auto r = make_operation(make(blaze::write::kind::remove_record), &cur, D, T);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->k == operation::kind::remove_record);
  BOOST_TEST(r->fields.empty());
  auto& ob = r->observed;
  BOOST_REQUIRE(ob.size() == 3u);
  auto find = [&](const std::string& f, node_id o) -> const counter_observation* {
    for (auto& x : ob)
      if (x.field == f && x.origin == o)
        return &x;
    return nullptr;
  };
  auto* n2 = find("n", node(2));
  auto* n3 = find("n", node(3));
  auto* m3 = find("m", node(3));
  BOOST_REQUIRE((n2 && n3 && m3));
  BOOST_TEST(n2->positive == 5u);
  BOOST_TEST(n2->negative == 3u);
  BOOST_TEST(n3->positive == 4u);
  BOOST_TEST(n3->negative == 0u);
  BOOST_TEST(m3->positive == 0u);
  BOOST_TEST(m3->negative == 1u);
  // applied, the delete cancels exactly those totals: a later increment counts alone
  apply(cur, *r);
  BOOST_TEST(!cur.alive());
  auto inc = upsert(node(2), 3, T + 1);
  with_increment(inc, "n", 10);
  apply(cur, inc);
  BOOST_TEST(cur.view() == (value_map{{"n", value{10}}}));
}

BOOST_AUTO_TEST_CASE(index_operations) {
  auto r = make_operation(make(blaze::write::kind::create_index, "age"), nullptr, D, T);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->k == operation::kind::create_index);
  BOOST_TEST(r->index_field == "age");
  BOOST_TEST(r->record.is_zero());
  BOOST_TEST(r->fields.empty());
  auto d = make_operation(make(blaze::write::kind::drop_index, "age"), nullptr, D, T);
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d->k == operation::kind::drop_index);
  BOOST_TEST(d->index_field == "age");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(status_and_result)

BOOST_AUTO_TEST_CASE(status_strings) {
  status ok;
  BOOST_TEST(ok.ok());
  BOOST_TEST(ok.to_string() == "ok");
  status bad{errc::corrupt, ""};
  BOOST_TEST(!bad.ok());
  BOOST_TEST(bad.to_string() == "corrupt data");
  status msg{errc::corrupt, "bad bytes"};
  BOOST_TEST(msg.to_string() == "bad bytes");
  for (int e = 0; e <= static_cast<int>(errc::closed); ++e)
    BOOST_TEST(std::string(to_string(static_cast<errc>(e))) != "unknown error");
  result<int> r(5);
  BOOST_TEST(r.ok());
  BOOST_TEST(*r == 5);
  result<int> f(status{errc::timeout, "late"});
  BOOST_TEST(!f.ok());
  BOOST_TEST(f.error().code == errc::timeout);
}

BOOST_AUTO_TEST_SUITE_END()
