// Batcher: packs leased rows into batches, one cloud topic per batch, each
// bounded by a message count, by the size of its COMPRESSED payload and by
// linger (a batch leaves when full, or when its oldest row has waited
// `linger`). Pure logic on injected time: no I/O, no threads.
//
// Topic of a batch: the rows' `cloud_topic` when a route rewrote it,
// otherwise the uplink's template with {gateway_id}, {route} and {uplink}
// substituted — so rows of different routes never share a batch.
//
// Size: compressed sizes are only known after compressing, so the batcher
// estimates from the ratio it last saw, compresses when a group may be full,
// and shrinks a candidate until it fits (zlib's fitblk idea, without the
// incremental tricks). The limit is min(max_bytes, the profile's hard limit),
// rounded down to whole billing units when the profile has one.
//
// A row that does not fit even alone is never put in a batch: it comes back
// in `rejected` so the engine can dead-letter and count it (it would
// otherwise be retried forever).
//
// Owned by one Engine; engine thread only. Movable, not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/status.h"
#include "gateway/store/store.h"
#include "gateway/uplink/envelope.h"

namespace gw::uplink {

struct BatcherOptions {
  std::string uplink;
  std::string gateway_id;
  std::string topic_template = "gw/{gateway_id}/{route}";
  size_t max_messages = 1000;
  size_t max_bytes = 65536;  // of the compressed payload
  std::chrono::milliseconds linger{200};
  Compression compression = Compression::kGzip;
  int level = -1;                  // compress() level (1..9 as zlib's); -1 = 6
  size_t hard_limit_bytes = 0;     // the profile's max payload; 0 = none
  size_t billing_unit_bytes = 0;   // 0 = none
};

struct Batch {
  std::string topic;
  std::string route;           // route of the first row (all rows share it unless cloud_topic grouped them)
  std::string payload;         // compressed envelope
  size_t raw_bytes = 0;        // uncompressed size
  std::vector<int64_t> seqs;   // in line order
};

struct RejectedRow {
  int64_t seq = 0;
  std::string topic;
  Status reason;
};

class Batcher {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Errors: kInvalidArgument (zero limits, unknown {placeholder} in the
  // template, a limit smaller than any batch could be).
  static Result<Batcher> create(BatcherOptions options);

  // Takes leased rows. `now` is monotonic, `wall_ms` the wall clock used to
  // age rows by their receive time (a backlog row is already old).
  void add(std::vector<store::StoredRow> rows, TimePoint now, int64_t wall_ms);

  // Batches that are ready at `now`: full ones, and those whose linger has
  // run out; with `flush`, everything pending. Rows that cannot fit alone go
  // to `rejected`. Compresses; may take a few ms for large groups.
  std::vector<Batch> take_ready(TimePoint now, bool flush, std::vector<RejectedRow>& rejected);

  // Earliest linger deadline among pending groups, if any.
  std::optional<TimePoint> next_deadline() const;
  size_t pending_rows() const;
  // Removes every pending row (for release on stop); returns their seqs.
  std::vector<int64_t> take_all_seqs();

  // Temporarily caps batches at `n` messages (0 = no cap): used by the engine
  // to bisect a batch the cloud rejected and isolate the bad message.
  void set_message_cap(size_t n) { cap_ = n; }
  size_t message_cap() const { return cap_; }

  // The compressed-size limit in force (after hard limit and billing units).
  size_t effective_limit() const { return limit_; }
  const BatcherOptions& options() const { return options_; }

  // "gw/{gateway_id}/{route}" -> "gw/gw1/alarms".
  static std::string render_topic(std::string_view tmpl, std::string_view gateway_id, std::string_view uplink,
                                   std::string_view route);

 private:
  struct Line {
    int64_t seq;
    std::string text;  // with trailing '\n'
  };
  struct Group {
    std::string topic;
    std::string route;
    std::vector<Line> lines;
    size_t raw_bytes = 0;
    TimePoint deadline;
  };

  explicit Batcher(BatcherOptions options, size_t limit);
  size_t max_count() const;
  bool looks_full(const Group& g) const;
  // Cuts one batch from the front of `g` (at most max_count() rows) that
  // fits the limit. Returns false when the front row alone does not fit
  // (it is moved to `rejected`).
  bool cut(Group& g, Batch& out, std::vector<RejectedRow>& rejected);

  BatcherOptions options_;
  size_t limit_;
  size_t cap_ = 0;
  double ratio_ = 4.0;  // raw/compressed, learned from each compressed batch
  std::vector<Group> groups_;  // in order of first appearance; few (one per route)
};

}  // namespace gw::uplink
