#include "gateway/config/internal/secrets.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

namespace gw::config::internal {
namespace {

bool var_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool var_char(char c) { return var_start(c) || (c >= '0' && c <= '9'); }

class Resolver {
 public:
  Resolver(const std::string& file, const std::filesystem::path& base, std::vector<Diagnostic>& diags)
      : file_(file), base_(base), diags_(diags) {}

  void walk(YAML::Node node) {
    if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) walk(it->second);
    } else if (node.IsSequence()) {
      for (auto it = node.begin(); it != node.end(); ++it) walk(*it);
    } else if (node.IsScalar()) {
      scalar(node);
    }
  }

 private:
  SourcePos pos(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }

  void scalar(YAML::Node& node) {
    const bool is_file = node.Tag() == "!file";
    const std::string& text = node.Scalar();
    if (!is_file && text.find('$') == std::string::npos) return;
    auto expanded = expand(node, text);
    if (!expanded) return;
    if (!is_file) {
      if (*expanded != text) node = *expanded;
      return;
    }
    if (auto secret = read_secret(node, *expanded)) node = *secret;
  }

  std::optional<std::string> expand(const YAML::Node& node, const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (c != '$' || i + 1 >= text.size()) {
        out += c;
      } else if (text[i + 1] == '$') {
        out += '$';
        ++i;
      } else if (text[i + 1] == '{') {
        const size_t close = text.find('}', i + 2);
        const std::string name = close == std::string::npos ? "" : text.substr(i + 2, close - i - 2);
        bool valid = !name.empty() && var_start(name[0]);
        for (char n : name) valid = valid && var_char(n);
        if (!valid) {
          diags_.push_back({pos(node), "bad environment reference in '" + text +
                                           "': expected ${NAME} (letters, digits, '_'), or $$ for a literal '$'"});
          return std::nullopt;
        }
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) {
          diags_.push_back({pos(node), "environment variable '" + name + "' is not set"});
          return std::nullopt;
        }
        out += value;
        i = close;
      } else {
        out += c;
      }
    }
    return out;
  }

  std::optional<std::string> read_secret(const YAML::Node& node, const std::string& path_text) {
    if (path_text.empty()) {
      diags_.push_back({pos(node), "!file needs a path, e.g. !file /etc/edge-gateway/azure.key"});
      return std::nullopt;
    }
    std::filesystem::path p(path_text);
    if (p.is_relative()) p = base_ / p;
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      diags_.push_back({pos(node), "cannot read secret file '" + p.string() + "': " + std::strerror(errno)});
      return std::nullopt;
    }
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      diags_.push_back({pos(node),
                        "secret file '" + p.string() + "' is readable by every user (mode " + mode +
                            "); restrict it: chmod o-rwx " + p.string(),
                        Diagnostic::Severity::kWarning});
    }
    std::stringstream buf;
    buf << in.rdbuf();
    std::string s = buf.str();
    // Editors end files with a newline; it is never part of a key or password.
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (!s.empty() && s.back() == '\r') s.pop_back();
    return s;
  }

  const std::string& file_;
  const std::filesystem::path& base_;
  std::vector<Diagnostic>& diags_;
};

}  // namespace

void resolve_references(YAML::Node& root, const std::string& file, const std::filesystem::path& base_dir,
                        std::vector<Diagnostic>& diags) {
  Resolver(file, base_dir, diags).walk(root);
}

}  // namespace gw::config::internal
