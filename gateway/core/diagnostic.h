// SourcePos and Diagnostic: where in a config file something was written, and
// a problem found there. Printed as "FILE:LINE:COL: message" (1-based).
#pragma once

#include <string>
#include <vector>

namespace gw {

struct SourcePos {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown

  std::string to_string() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
  }
};

struct Diagnostic {
  enum class Severity { kError, kWarning };
  SourcePos pos;
  std::string message;
  Severity severity = Severity::kError;

  // "gateway.yaml:12:7: error: unknown key 'tpoic'"
  std::string to_string() const {
    return pos.to_string() + (severity == Severity::kError ? ": error: " : ": warning: ") + message;
  }
};

inline bool has_errors(const std::vector<Diagnostic>& diags) {
  for (const auto& d : diags) {
    if (d.severity == Diagnostic::Severity::kError) return true;
  }
  return false;
}

}  // namespace gw
