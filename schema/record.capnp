@0xb1a2e0db00000003;
# Materialized CRDT state of one record (column family `records`).
# The encoding is canonical: lists sorted, so equal states are equal bytes.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("blaze::schema");
using V = import "values.capnp";

struct RecordState {
  lastWrite @0 :V.Timestamp;     # highest upsert timestamp
  deletedAt @1 :V.Timestamp;     # highest delete timestamp (zero: never deleted)
  fields @2 :List(FieldState);   # sorted by name
}

struct FieldState {
  name @0 :Text;
  # Earliest timestamp seen per kind (zero: none); the earliest kind wins.
  firstSet @1 :V.Timestamp;
  firstCounter @2 :V.Timestamp;
  firstElements @3 :V.Timestamp;
  # Latest timestamp per kind, for visibility after a delete.
  lastCounter @4 :V.Timestamp;
  lastElements @5 :V.Timestamp;

  # LWW register.
  lwwTimestamp @6 :V.Timestamp;
  lwwBase @7 :V.Timestamp;
  lwwValue @8 :V.Value;

  # OR-set: element -> live tags; element -> removed tags (tombstones).
  elements @9 :List(Element);
  removed @10 :List(Element);    # tags' timestamps are zero

  # PN-counter: per-origin totals and the totals cancelled by deletes.
  counter @11 :List(CounterEntry);

  struct Element {
    value @0 :V.Value;
    tags @1 :List(Tag);
  }
  struct Tag {
    dot @0 :V.Dot;
    timestamp @1 :UInt64;        # the add's HLC counter (node = dot.origin)
  }
  struct CounterEntry {
    origin @0 :V.Id128;
    positive @1 :UInt64;
    negative @2 :UInt64;
    cancelledPositive @3 :UInt64;
    cancelledNegative @4 :UInt64;
  }
}

# A concurrent LWW write that lost (column family `conflicts`).
struct Conflict {
  collection @0 :Text;
  record @1 :V.Id128;
  field @2 :Text;
  winner @3 :V.Value;
  winnerTimestamp @4 :V.Timestamp;
  loser @5 :V.Value;
  loserTimestamp @6 :V.Timestamp;
}
