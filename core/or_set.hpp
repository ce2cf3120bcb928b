// Observed-remove set (add-wins): each add is tagged with its dot; a remove
// tombstones the tags it observed, so concurrent adds survive.
#pragma once

#include "core/timestamp.hpp"
#include "core/value.hpp"

#include <map>
#include <iterator>
#include <set>
#include <vector>

namespace blaze {

struct or_set {
  /// element -> live tag -> the add's HLC counter (the tag's node is dot.origin).
  std::map<value, std::map<dot, uint64_t>> elements;
  /// element -> tags removed so far. A remove that arrives before its add
  /// still wins. (Keyed by element: one operation may add several elements
  /// to one field under the same dot.)
  std::map<value, std::set<dot>> removed;

  void add(const value& element, const dot& tag, uint64_t counter) {
    if (auto r = removed.find(element); r != removed.end() && r->second.count(tag))
      return;
    elements[element][tag] = counter;
  }

  void remove(const value& element, const std::vector<dot>& observed) {
    if (observed.empty())
      return;
    auto it = elements.find(element);
    auto& gone = removed[element];
    for (auto& tag : observed) {
      gone.insert(tag);
      if (it != elements.end())
        it->second.erase(tag);
    }
    if (it != elements.end() && it->second.empty())
      elements.erase(it);
  }

  /// Join with another replica's set of the same field: the live tags of
  /// either that neither removed, and every removed tag. Equals the set
  /// that applying both replicas' operations would give.
  void merge(const or_set& other) {
    for (auto& [element, tags] : other.removed)
      removed[element].insert(tags.begin(), tags.end());
    for (auto& [element, tags] : other.elements) {
      auto& mine = elements[element];
      for (auto& [tag, c] : tags)
        mine.emplace(tag, c);  // one dot, one add: the counters are equal
    }
    for (auto it = elements.begin(); it != elements.end();) {
      if (auto r = removed.find(it->first); r != removed.end())
        for (auto& tag : r->second)
          it->second.erase(tag);
      it = it->second.empty() ? elements.erase(it) : std::next(it);
    }
  }

  /// Tags of `element` currently live (what a local remove must name).
  std::vector<dot> tags_of(const value& element) const {
    std::vector<dot> out;
    if (auto it = elements.find(element); it != elements.end())
      for (auto& [tag, c] : it->second)
        out.push_back(tag);
    return out;
  }

  /// Elements with a live tag newer than `after` (a record tombstone), sorted.
  value_array live(const timestamp& after) const {
    value_array out;
    for (auto& [element, tags] : elements)
      for (auto& [tag, c] : tags)
        if (timestamp{c, tag.origin} > after) {
          out.push_back(element);
          break;
        }
    return out;
  }
};

} // namespace blaze
