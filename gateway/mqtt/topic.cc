#include "gateway/mqtt/topic.h"

namespace gw::mqtt {

std::string_view check_topic_name(std::string_view topic) {
  if (topic.empty()) return "topic name is empty";
  if (topic.size() > 65535) return "topic name is longer than 65535 bytes";
  for (char c : topic) {
    if (c == '+' || c == '#') return "topic name contains a wildcard";
    if (c == '\0') return "topic name contains NUL";
  }
  return {};
}

std::string_view check_topic_filter(std::string_view filter) {
  if (filter.empty()) return "topic filter is empty";
  if (filter.size() > 65535) return "topic filter is longer than 65535 bytes";
  for (size_t i = 0; i < filter.size(); ++i) {
    const char c = filter[i];
    if (c == '\0') return "topic filter contains NUL";
    const bool level_start = i == 0 || filter[i - 1] == '/';
    const bool level_end = i + 1 == filter.size() || filter[i + 1] == '/';
    if (c == '+' && !(level_start && level_end)) return "'+' must occupy a whole topic level";
    if (c == '#') {
      if (!level_start || i + 1 != filter.size()) return "'#' must be the last level of the filter";
    }
  }
  return {};
}

std::vector<std::string_view> split_topic_levels(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
      (filter.front() == '+' || filter.front() == '#')) {
    return false;
  }
  size_t f = 0;
  size_t t = 0;
  while (true) {
    const size_t f_end = filter.find('/', f);
    const std::string_view f_level =
        filter.substr(f, f_end == std::string_view::npos ? std::string_view::npos : f_end - f);
    if (f_level == "#") return true;  // matches the parent level and everything below
    const size_t t_end = topic.find('/', t);
    const std::string_view t_level =
        topic.substr(t, t_end == std::string_view::npos ? std::string_view::npos : t_end - t);
    if (f_level != "+" && f_level != t_level) return false;
    const bool f_last = f_end == std::string_view::npos;
    const bool t_last = t_end == std::string_view::npos;
    if (f_last || t_last) {
      if (f_last && t_last) return true;
      // "a/#" matches "a": filter has one more level and it is '#'.
      if (t_last && !f_last) return filter.substr(f_end + 1) == "#";
      return false;
    }
    f = f_end + 1;
    t = t_end + 1;
  }
}

}  // namespace gw::mqtt
