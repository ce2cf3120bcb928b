// Force-included into the clang fuzz build of core/ only (see CMakeLists.txt).
//
// Under clang, capnp 0.9 deletes capnp::word's copy constructor (GCC >= 8
// keeps it), and core/codec.cpp's unpack() grows a kj::Vector<capnp::word>,
// which needs to copy or move words: clang refuses to compile it. These two
// specialisations let kj copy words with memcpy, which is what the copy
// would do; nothing else changes. They are harmless once codec.cpp stops
// needing them (the clean fix is there: build the words in a container of
// uint64_t, or a kj::Array<word> sized up front).
#pragma once

#include <capnp/common.h>
#include <kj/array.h>
#include <kj/common.h>

#include <cstring>

namespace kj {

template <> inline void ctor<capnp::word, capnp::word&>(capnp::word& location, capnp::word& from) {
  std::memcpy(static_cast<void*>(&location), &from, sizeof(capnp::word));
}

namespace _ {
template <> struct CopyConstructArray_<capnp::word, capnp::word*, true, false> {
  static capnp::word* apply(capnp::word* __restrict__ pos, capnp::word* start, capnp::word* end) {
    std::memcpy(static_cast<void*>(pos), start, sizeof(capnp::word) * static_cast<size_t>(end - start));
    return pos + (end - start);
  }
};
} // namespace _

} // namespace kj
