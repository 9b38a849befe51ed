#include "gateway/uplink/batcher.h"

#include <algorithm>

namespace gw::uplink {
namespace {

// A group whose estimated compressed size reaches this share of the limit is
// compressed to see whether it is really full; a batch is "full" (sent
// before its linger) when it fills at least this share.
constexpr double kFullShare = 0.9;
// Shrinking a candidate that was too big aims this far under the limit, so
// one or two compressions usually suffice.
constexpr double kShrinkMargin = 0.97;

constexpr std::string_view kPlaceholders[] = {"{gateway_id}", "{route}", "{uplink}"};

}  // namespace

std::string Batcher::render_topic(std::string_view tmpl, std::string_view gateway_id, std::string_view uplink,
                                  std::string_view route) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] == '{') {
      if (tmpl.substr(i).starts_with("{gateway_id}")) {
        out += gateway_id;
        i += 12;
        continue;
      }
      if (tmpl.substr(i).starts_with("{route}")) {
        out += route;
        i += 7;
        continue;
      }
      if (tmpl.substr(i).starts_with("{uplink}")) {
        out += uplink;
        i += 8;
        continue;
      }
    }
    out += tmpl[i++];
  }
  return out;
}

Result<Batcher> Batcher::create(BatcherOptions options) {
  if (options.max_messages == 0) return invalid_argument("batch.max_messages must be at least 1");
  if (options.max_bytes == 0) return invalid_argument("batch.max_bytes must be at least 1");
  if (options.topic_template.empty()) return invalid_argument("uplink topic must not be empty");
  // Every '{' must open a known placeholder: a typo would otherwise go to
  // the cloud as a literal topic level.
  std::string_view t = options.topic_template;
  for (size_t i = t.find('{'); i != std::string_view::npos; i = t.find('{', i + 1)) {
    bool known = false;
    for (auto p : kPlaceholders) known = known || t.substr(i).starts_with(p);
    if (!known) {
      const size_t end = t.find('}', i);
      return invalid_argument("unknown placeholder '" + std::string(t.substr(i, end == t.npos ? t.npos : end - i + 1)) +
                              "' in uplink topic '" + options.topic_template +
                              "' (known: {gateway_id}, {route}, {uplink})");
    }
  }
  if (options.topic_template.find_first_of("+#") != std::string::npos) {
    return invalid_argument("uplink topic '" + options.topic_template + "' must not contain wildcards");
  }
  size_t limit = options.max_bytes;
  if (options.hard_limit_bytes != 0) limit = std::min(limit, options.hard_limit_bytes);
  if (options.billing_unit_bytes != 0 && limit >= options.billing_unit_bytes) {
    limit -= limit % options.billing_unit_bytes;
  }
  // An empty gzip stream is 20 bytes; anything this small can't hold a line.
  if (limit < 64) return invalid_argument("batch size limit " + std::to_string(limit) + " bytes is too small");
  return Batcher(std::move(options), limit);
}

Batcher::Batcher(BatcherOptions options, size_t limit) : options_(std::move(options)), limit_(limit) {
  if (options_.compression == Compression::kNone) ratio_ = 1.0;
}

size_t Batcher::max_count() const {
  return cap_ == 0 ? options_.max_messages : std::min(cap_, options_.max_messages);
}

void Batcher::add(std::vector<store::StoredRow> rows, TimePoint now, int64_t wall_ms) {
  const int64_t linger_ms = options_.linger.count();
  for (auto& row : rows) {
    std::string topic = row.cloud_topic.empty()
                            ? render_topic(options_.topic_template, options_.gateway_id, options_.uplink, row.route)
                            : row.cloud_topic;
    // Age by receive time, so rows that waited in the store (a backlog, an
    // outage) don't wait a second linger here; clamp against clock steps.
    const int64_t age = std::clamp<int64_t>(wall_ms - row.message.received_at_ms, 0, linger_ms);
    const TimePoint deadline = now + std::chrono::milliseconds(linger_ms - age);
    auto it = std::find_if(groups_.begin(), groups_.end(), [&](const Group& g) { return g.topic == topic; });
    if (it == groups_.end()) {
      groups_.push_back(Group{std::move(topic), row.route, {}, 0, deadline});
      it = std::prev(groups_.end());
    }
    it->deadline = std::min(it->deadline, deadline);
    std::string text = encode_line(row);
    text += '\n';
    it->raw_bytes += text.size();
    it->lines.push_back(Line{row.seq, std::move(text)});
  }
}

bool Batcher::looks_full(const Group& g) const {
  return g.lines.size() >= max_count() || static_cast<double>(g.raw_bytes) / ratio_ >= kFullShare * static_cast<double>(limit_);
}

std::vector<Batch> Batcher::take_ready(TimePoint now, bool flush, std::vector<RejectedRow>& rejected) {
  std::vector<Batch> out;
  for (auto git = groups_.begin(); git != groups_.end();) {
    Group& g = *git;
    while (!g.lines.empty()) {
      const bool due = flush || now >= g.deadline;
      if (!due && !looks_full(g)) break;

      // Find the longest prefix (up to max_count) whose compressed form fits.
      size_t n = std::min(g.lines.size(), max_count());
      std::string payload;
      size_t raw = 0;
      bool ok = false;
      bool failed = false;
      for (;;) {
        std::string text;
        raw = 0;
        for (size_t i = 0; i < n; ++i) raw += g.lines[i].text.size();
        text.reserve(raw);
        for (size_t i = 0; i < n; ++i) text += g.lines[i].text;
        auto packed = compress(text, options_.compression, options_.level);
        if (!packed) {
          failed = true;  // zlib out of memory: leave the rows pending, try next round
          break;
        }
        payload = std::move(*packed);
        if (!payload.empty()) ratio_ = std::max(1.0, static_cast<double>(raw) / static_cast<double>(payload.size()));
        if (payload.size() <= limit_) {
          ok = true;
          break;
        }
        if (n == 1) break;
        const double scaled = static_cast<double>(n) * static_cast<double>(limit_) /
                              static_cast<double>(payload.size()) * kShrinkMargin;
        n = std::clamp<size_t>(static_cast<size_t>(scaled), 1, n - 1);
      }
      if (failed) break;
      if (!ok) {
        // Too big even alone: never sendable under this limit.
        rejected.push_back(RejectedRow{
            g.lines.front().seq, g.topic,
            resource_exhausted("message compresses to " + std::to_string(payload.size()) +
                               " bytes, over the batch limit of " + std::to_string(limit_))});
        g.raw_bytes -= g.lines.front().text.size();
        g.lines.erase(g.lines.begin());
        continue;
      }
      const bool took_all = n == g.lines.size();
      const bool really_full = !took_all || n >= max_count() ||
                               static_cast<double>(payload.size()) >= kFullShare * static_cast<double>(limit_);
      if (!due && !really_full) break;  // the estimate was pessimistic: keep filling

      Batch b;
      b.topic = g.topic;
      b.route = g.route;
      b.payload = std::move(payload);
      b.raw_bytes = raw;
      b.seqs.reserve(n);
      for (size_t i = 0; i < n; ++i) b.seqs.push_back(g.lines[i].seq);
      g.raw_bytes -= raw;
      g.lines.erase(g.lines.begin(), g.lines.begin() + static_cast<std::ptrdiff_t>(n));
      out.push_back(std::move(b));
    }
    if (g.lines.empty()) {
      git = groups_.erase(git);
    } else {
      ++git;
    }
  }
  return out;
}

std::optional<Batcher::TimePoint> Batcher::next_deadline() const {
  std::optional<TimePoint> best;
  for (const auto& g : groups_) {
    if (!best || g.deadline < *best) best = g.deadline;
  }
  return best;
}

size_t Batcher::pending_rows() const {
  size_t n = 0;
  for (const auto& g : groups_) n += g.lines.size();
  return n;
}

std::vector<int64_t> Batcher::take_all_seqs() {
  std::vector<int64_t> seqs;
  for (const auto& g : groups_) {
    for (const auto& l : g.lines) seqs.push_back(l.seq);
  }
  groups_.clear();
  return seqs;
}

}  // namespace gw::uplink
